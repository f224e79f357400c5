import { bucketBeside, createMemoryBuckets, secondsUntil, step } from './bucket';

const limits = { capacity: 100, restoreRate: 10 };

describe('token bucket', () => {
  it('starts full, takes what it holds, refuses more, refills by time, never above capacity', () => {
    let s = step(undefined, limits, 0, 'take', 60);
    expect([s.allowed, s.tokens]).toEqual([true, 40]);
    s = step(s, limits, 0, 'take', 50);
    expect([s.allowed, s.tokens]).toEqual([false, 40]);
    s = step(s, limits, 1_500, 'take', 50);
    expect([s.allowed, s.tokens]).toEqual([true, 5]);
    s = step(s, limits, 60_000, 'peek', 0);
    expect(s.tokens).toBe(100);
    s = step({ tokens: 90, at: 0 }, limits, 0, 'refund', 30);
    expect(s.tokens).toBe(100);
  });

  it('says how long until enough points are back', () => {
    expect(secondsUntil(40, 50, limits)).toBe(1);
    expect(secondsUntil(0, 100, limits)).toBe(10);
    expect(secondsUntil(60, 50, limits)).toBe(0);
  });

  it('in process: concurrent takes never overspend', async () => {
    let now = 0;
    const store = createMemoryBuckets(() => now);
    const results = await Promise.all(
      Array.from({ length: 200 }, () => store.take('u', limits, 7)),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(14);
    now = 700;
    expect((await store.peek('u', limits)).available).toBeCloseTo(2 + 7, 5);
  });

  it('in process: a take from several buckets is allowed only when each holds its cost', async () => {
    const store = createMemoryBuckets(() => 0);
    const small = { capacity: 2, restoreRate: 1 };
    const both = [
      { key: 'tier', limits, cost: 10 },
      { key: bucketBeside('tier', 'role'), limits: small, cost: 1 },
    ];
    expect(await store.takeAll(both)).toEqual({ allowed: true, available: [90, 1] });
    expect(await store.takeAll(both)).toEqual({ allowed: true, available: [80, 0] });
    // The role's bucket is empty: nothing is taken from the tier's either.
    expect(await store.takeAll(both)).toEqual({ allowed: false, available: [80, 0] });
    expect(await store.peekAll(both)).toEqual({ allowed: true, available: [80, 0] });
  });

  it('refuses a step over buckets that a Redis Cluster would keep in different slots', async () => {
    const store = createMemoryBuckets(() => 0);
    await expect(
      store.takeAll([
        { key: 'a', limits, cost: 1 },
        { key: 'role:b', limits, cost: 1 },
      ]),
    ).rejects.toThrow('share a hash tag');
  });
});
