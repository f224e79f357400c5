import { GraphQLError } from 'graphql';
import { Registry } from 'prom-client';
import { clientKey, createAnonymousLimiter } from './anonymous';
import { createMemoryBuckets, type BucketStore } from './bucket';

const GOOD = 'Bearer evg_good_key_0000000000000000';
const unauthenticated = () =>
  new GraphQLError('bad key', { extensions: { code: 'UNAUTHENTICATED' } });

function setup(
  options: { store?: BucketStore; limits?: { capacity: number; restoreRate: number } | null } = {},
) {
  let now = 0;
  const lookups: string[] = [];
  const limiter = createAnonymousLimiter({
    limits: options.limits === undefined ? { capacity: 3, restoreRate: 1 } : options.limits,
    store: options.store ?? createMemoryBuckets(() => now),
    metrics: new Registry(),
    authenticate: async (header) => {
      lookups.push(header);
      if (header === GOOD) return { userId: 'u' };
      throw unauthenticated();
    },
  });
  return { limiter, lookups, tick: (ms: number) => (now += ms) };
}

describe('clientKey', () => {
  it('names IPv4 (mapped too) by the address and IPv6 by its /64', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2:bbbb::9')).toBe(clientKey('2001:db8:1:2:aaaa::1'));
    expect(clientKey('2001:db8:1:3::1')).not.toBe(clientKey('2001:db8:1:2::1'));
  });
});

describe('anonymous limiter', () => {
  it('gives callers without a key a bucket per address, refilled over time', async () => {
    const { limiter, tick } = setup();
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await limiter.admit('203.0.113.7', null));
    expect(results).toEqual([null, null, null, 1, 1]);
    expect(await limiter.admit('203.0.113.8', null)).toBeNull();
    tick(1_000);
    expect(await limiter.admit('203.0.113.7', null)).toBeNull();
    expect(await limiter.admit('203.0.113.7', null)).toBe(1);
  });

  it('never counts a valid key, even from an address whose bucket is empty', async () => {
    const { limiter } = setup();
    expect(await limiter.admit('203.0.113.7', GOOD)).toBeNull();
    for (let i = 0; i < 3; i++) await limiter.admit('203.0.113.7', null);
    expect(await limiter.admit('203.0.113.7', null)).not.toBeNull();
    for (let i = 0; i < 10; i++) expect(await limiter.admit('203.0.113.7', GOOD)).toBeNull();
  });

  it('counts bad keys against the address, checking every key (so that a valid one is never refused)', async () => {
    const { limiter, lookups } = setup();
    const results = [];
    for (let i = 0; i < 6; i++)
      results.push(await limiter.admit('203.0.113.7', `Bearer evg_made_up_${i}_000000000000000`));
    expect(results).toEqual([null, null, null, 1, 1, 1]);
    expect(lookups).toHaveLength(6);
    expect(await limiter.admit('203.0.113.7', GOOD)).toBeNull();
  });

  it('does nothing when off or without an address', async () => {
    const off = setup({ limits: null });
    for (let i = 0; i < 10; i++) expect(await off.limiter.admit('203.0.113.7', null)).toBeNull();
    const { limiter } = setup();
    for (let i = 0; i < 10; i++) expect(await limiter.admit(undefined, null)).toBeNull();
  });

  it('falls back to buckets in this process when the store fails', async () => {
    const failing: BucketStore = {
      take: () => Promise.reject(new Error('down')),
      charge: () => Promise.reject(new Error('down')),
      refund: () => Promise.reject(new Error('down')),
      peek: () => Promise.reject(new Error('down')),
      takeAll: () => Promise.reject(new Error('down')),
      peekAll: () => Promise.reject(new Error('down')),
    };
    const { limiter } = setup({ store: failing });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.admit('203.0.113.7', null));
    expect(results).toEqual([null, null, null, 1]);
  });
});
