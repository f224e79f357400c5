// Both response stores: tags drop their responses, a response that raced an invalidation of one
// of its tags is not kept, and entries expire. Redis runs on this machine (REDIS_URL or the default).
import Redis from 'ioredis';
import { createMemoryResponseStore, createRedisResponseStore, type ResponseStore } from './response-cache';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0', { lazyConnect: true, maxRetriesPerRequest: 1 });
const prefix = `evalgraph_test_rc_${process.pid}_${Date.now()}:`;

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const result = (n: number) => ({ data: { n } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each([
  ['memory', () => createMemoryResponseStore()],
  ['redis', () => createRedisResponseStore(redis, prefix, (error) => { throw error; })],
] as [string, () => ResponseStore][])('%s store', (_name, make) => {
  it('drops the responses of an invalidated tag, and only those', async () => {
    const store = make();
    await store.set('a', result(1), ['Trace:1', 'ProjectData:p1'], 10_000, 5);
    await store.set('b', result(2), ['Trace:2', 'ProjectData:p2'], 10_000, 5);
    expect(await store.get('a')).toEqual(result(1));
    await store.invalidate(['ProjectData:p1']);
    expect(await store.get('a')).toBeUndefined();
    expect(await store.get('b')).toEqual(result(2));
  });

  it('does not keep a response computed while one of its tags was invalidated', async () => {
    const store = make();
    await store.invalidate(['Evaluation:e1']);
    // Took 500 ms: it may have read before the invalidation.
    await store.set('raced', result(3), ['Evaluation:e1'], 10_000, 500);
    expect(await store.get('raced')).toBeUndefined();
    await sleep(40);
    // Began after it: kept.
    await store.set('after', result(4), ['Evaluation:e1'], 10_000, 5);
    expect(await store.get('after')).toEqual(result(4));
  });

  it('lets entries expire with their TTL', async () => {
    const store = make();
    await store.set('short', result(5), ['Span'], 50, 1);
    expect(await store.get('short')).toEqual(result(5));
    await sleep(120);
    expect(await store.get('short')).toBeUndefined();
  });
});

it('gives every Redis tag set a TTL', async () => {
  const store = createRedisResponseStore(redis, prefix, () => {});
  await store.set('ttl', result(6), ['Trace:ttl'], 5_000, 1);
  const ttl = await redis.pttl(`${prefix}rc:t:Trace:ttl`);
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(5_000);
});
