import { createAddressMatcher, createClientAddress, parseCidr } from './client-address';

test('CIDRs and single addresses, canonical; anything else refused', () => {
  expect(parseCidr('10.0.0.0/8')).toBe('10.0.0.0/8');
  expect(parseCidr(' 127.0.0.1 ')).toBe('127.0.0.1/32');
  expect(parseCidr('2001:DB8::/32')).toBe('2001:db8::/32');
  expect(parseCidr('::1')).toBe('::1/128');
  for (const bad of ['10.0.0.0/33', '::/129', '10', '0x0a.0.0.1', 'example.com', '1.2.3.4/8/1', ''])
    expect(parseCidr(bad)).toBeNull();
});

test('matches IPv4 (mapped IPv6 too) and IPv6 against their own ranges', () => {
  const allowed = createAddressMatcher(['10.0.0.0/8', '2001:db8::/32']);
  expect(allowed('10.1.2.3')).toBe(true);
  expect(allowed('::ffff:10.1.2.3')).toBe(true);
  expect(allowed('2001:db8::5')).toBe(true);
  expect(allowed('127.0.0.1')).toBe(false);
  expect(allowed('2001:db9::5')).toBe(false);
  expect(allowed(undefined)).toBe(false);
});

test('X-Forwarded-For only from trusted proxies, its rightmost untrusted entry', () => {
  const none = createClientAddress([]);
  expect(none('::ffff:127.0.0.1', '203.0.113.7')).toBe('127.0.0.1');
  const behind = createClientAddress(['127.0.0.1/32', '10.0.0.0/8']);
  expect(behind('127.0.0.1', '203.0.113.7')).toBe('203.0.113.7');
  // The client wrote the left part: the first address a trusted proxy did not add is the client.
  expect(behind('127.0.0.1', '1.1.1.1, 203.0.113.7, 10.0.0.2')).toBe('203.0.113.7');
  expect(behind('127.0.0.1', '10.0.0.3, 10.0.0.2')).toBe('10.0.0.3');
  expect(behind('127.0.0.1', 'garbage, 10.0.0.2')).toBe('10.0.0.2');
  expect(behind('127.0.0.1', null)).toBe('127.0.0.1');
  // Not from a proxy: the header is the client's own word.
  expect(behind('198.51.100.9', '203.0.113.7')).toBe('198.51.100.9');
});
