// Subscription slots shared by processes through Redis (this machine's, or REDIS_URL's): two
// slot stores stand for two API processes.
import Redis from 'ioredis';
import { createRedisSlots } from './slots';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0', {
  maxRetriesPerRequest: 1,
});
const prefix = `evalgraph_test_slots_${process.pid}_${Date.now()}:`;

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

it('counts one key’s streams across processes, and frees a slot when it is released', async () => {
  const a = createRedisSlots(redis, prefix, 60_000);
  const b = createRedisSlots(redis, prefix, 60_000);
  expect(await a.take('key1', 's1', 3)).toBe(true);
  expect(await a.take('key1', 's2', 3)).toBe(true);
  expect(await b.take('key1', 's3', 3)).toBe(true);
  expect(await b.take('key1', 's4', 3)).toBe(false);
  expect(await a.take('key1', 's4', 3)).toBe(false);
  // Another key has its own.
  expect(await b.take('key2', 's1', 3)).toBe(true);
  await a.release('key1', 's1');
  expect(await b.take('key1', 's4', 3)).toBe(true);
});

it('loses the slots of a process that stopped renewing them when their lease runs out', async () => {
  // A lease long beside the renewals' period, so that a loaded machine's late timers do not let a1
  // lapse too; d1 is never renewed, so after more than a lease it is gone.
  const dead = createRedisSlots(redis, prefix, 1_500);
  const alive = createRedisSlots(redis, prefix, 1_500);
  expect(await dead.take('key3', 'd1', 2)).toBe(true);
  expect(await alive.take('key3', 'a1', 2)).toBe(true);
  expect(await alive.take('key3', 'a2', 2)).toBe(false);
  const started = Date.now();
  while (Date.now() - started < 1_800) {
    await new Promise((r) => setTimeout(r, 250));
    await alive.renew([{ keyId: 'key3', streamId: 'a1' }]);
  }
  // d1 lapsed; a1 was renewed and still counts.
  expect(await alive.take('key3', 'a2', 2)).toBe(true);
  expect(await alive.take('key3', 'a3', 2)).toBe(false);
});
