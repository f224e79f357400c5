import { checkTarget, guardedLookup, parseAllowList, refusal } from './ssrf';

const none = parseAllowList('');

describe('webhook target guard', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.0.0.7', 'private'],
    ['172.16.3.4', 'private'],
    ['192.168.0.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['::1', 'loopback'],
    ['fe80::1', 'linkLocal'],
    ['fd00:ec2::254', 'uniqueLocal'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::7f00:1', 'loopback'],
    ['::a9fe:a9fe', 'linkLocal'],
  ])('refuses %s (%s)', (address, range) => {
    expect(refusal(address, none)).toBe(`${address} is a ${range} address`);
  });

  it('allows public unicast addresses, and what the allow-list names', () => {
    expect(refusal('93.184.216.34', none)).toBeNull();
    expect(refusal('2606:2800:220:1:248:1893:25c8:1946', none)).toBeNull();
    const allow = parseAllowList('127.0.0.1, 10.0.0.0/8, hooks.internal');
    expect(refusal('127.0.0.1', allow)).toBeNull();
    expect(refusal('10.9.8.7', allow)).toBeNull();
    expect(refusal('127.0.0.2', allow)).toBe('127.0.0.2 is a loopback address');
    expect(allow.hosts.has('hooks.internal')).toBe(true);
  });

  it('checks URLs: scheme, credentials, literal addresses and names that resolve to forbidden ones', async () => {
    await expect(checkTarget('ftp://example.com/x', none)).rejects.toThrow('only http and https');
    await expect(checkTarget('https://user:pw@example.com/', none)).rejects.toThrow('credentials');
    await expect(checkTarget('http://169.254.169.254/latest/meta-data', none)).rejects.toThrow(
      'linkLocal',
    );
    await expect(checkTarget('http://[::1]:8080/', none)).rejects.toThrow('loopback');
    await expect(checkTarget('http://localhost:8080/', none)).rejects.toThrow('loopback');
    await expect(checkTarget('not a url', none)).rejects.toThrow('not a valid URL');
    await expect(
      checkTarget('http://127.0.0.1:9/hook', parseAllowList('127.0.0.1')),
    ).resolves.toBeInstanceOf(URL);
  });

  it('refuses at connection time the addresses a name resolves to (the lookup given to http.request)', async () => {
    const lookup = (allow: ReturnType<typeof parseAllowList>, host: string) =>
      new Promise<string>((resolve, reject) =>
        guardedLookup(allow, host)(host, {}, (error, address) =>
          error ? reject(error) : resolve(String(address)),
        ),
      );
    await expect(lookup(none, 'localhost')).rejects.toThrow(
      'localhost: 127.0.0.1 is a loopback address',
    );
    await expect(lookup(parseAllowList('127.0.0.1'), 'localhost')).resolves.toBe('127.0.0.1');
    await expect(lookup(parseAllowList('localhost'), 'localhost')).resolves.toBe('127.0.0.1');
  });
});
