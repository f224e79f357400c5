// Both response stores: tags drop their responses, a response that raced an invalidation of one
// of its tags is not kept, and entries expire. Redis runs on this machine (REDIS_URL or the default).
import Redis from 'ioredis';
import {
  createMemoryResponseStore,
  createRedisResponseStore,
  type ResponseStore,
} from './response-cache';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0', {
  lazyConnect: true,
  maxRetriesPerRequest: 1,
});
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
  [
    'redis',
    () =>
      createRedisResponseStore(redis, prefix, (error) => {
        throw error;
      }),
  ],
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
    // Long enough to be read back on a loaded machine (a store is several round trips).
    await store.set('short', result(5), ['Span'], 600, 1);
    expect(await store.get('short')).toEqual(result(5));
    await sleep(900);
    expect(await store.get('short')).toBeUndefined();
  });
});

it('Redis: an evicted generation turns a hit into a miss, never back into an old answer', async () => {
  const store = createRedisResponseStore(redis, prefix, () => {});
  await store.set('kept', result(6), ['Trace:gen'], 5_000, 1);
  expect(await store.get('kept')).toEqual(result(6));
  // The cache Redis evicts the tag's generation (allkeys-lru).
  await redis.del(`${prefix}rc:t:{Trace:gen}:g`);
  expect(await store.get('kept')).toBeUndefined();
  // Stored again, then invalidated: the invalidation holds even though the generation was new.
  await sleep(20);
  await store.set('again', result(7), ['Trace:gen'], 5_000, 1);
  expect(await store.get('again')).toEqual(result(7));
  await store.invalidate(['Trace:gen']);
  expect(await store.get('again')).toBeUndefined();
  // Nothing per response is kept under a tag: one generation key, one invalidation mark.
  expect((await redis.keys(`${prefix}rc:t:{Trace:gen}*`)).sort()).toEqual([
    `${prefix}rc:t:{Trace:gen}:g`,
    `${prefix}rc:t:{Trace:gen}:inv`,
  ]);
});
