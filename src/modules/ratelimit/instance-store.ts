// Where the limits of the whole instance keep count (instance.ts decides with them): requests in
// flight as leases (a slot per request with an expiry its process keeps pushing forward, so the
// slots of a process that died free themselves), and the requests of the current clock hour.
// With Redis every step is one Lua script on Redis' clock (every API process counts in the same
// place and agrees on the hour); embedded, the same arithmetic in process.
import type { RedisClient } from '../../storage/redis';

export interface HourCount {
  allowed: boolean;
  /** Requests counted in this hour (after this one, if it was). */
  count: number;
  /** Seconds until the hour ends. */
  resetSeconds: number;
}

export interface InstanceStore {
  /** Takes slot `id` until `leaseMs` from now, if fewer than `limit` live slots are held. */
  acquire(id: string, limit: number, leaseMs: number): Promise<boolean>;
  release(id: string): Promise<void>;
  /** Pushes the expiry of these slots (those still held) to `leaseMs` from now. */
  renew(ids: string[], leaseMs: number): Promise<void>;
  /** Live slots. */
  inFlight(): Promise<number>;
  /** Counts a request in the current hour if fewer than `limit` were (null: always). */
  countHour(limit: number | null): Promise<HourCount>;
  /** The current hour's count, counting nothing. */
  peekHour(): Promise<HourCount>;
}

const HOUR_MS = 3_600_000;

export function createMemoryInstanceStore(clock: () => number = Date.now): InstanceStore {
  const slots = new Map<string, number>();
  let hour = { start: 0, count: 0 };
  const live = () => {
    const now = clock();
    for (const [id, expires] of slots) if (expires <= now) slots.delete(id);
    return slots.size;
  };
  const current = () => {
    const now = clock();
    const start = now - (now % HOUR_MS);
    if (hour.start !== start) hour = { start, count: 0 };
    return Math.ceil((start + HOUR_MS - now) / 1000);
  };
  return {
    async acquire(id, limit, leaseMs) {
      if (live() >= limit) return false;
      slots.set(id, clock() + leaseMs);
      return true;
    },
    async release(id) {
      slots.delete(id);
    },
    async renew(ids, leaseMs) {
      for (const id of ids) if (slots.has(id)) slots.set(id, clock() + leaseMs);
    },
    inFlight: async () => live(),
    async countHour(limit) {
      const resetSeconds = current();
      const allowed = limit === null || hour.count < limit;
      if (allowed) hour.count += 1;
      return { allowed, count: hour.count, resetSeconds };
    },
    async peekHour() {
      const resetSeconds = current();
      return { allowed: true, count: hour.count, resetSeconds };
    },
  };
}

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// KEYS[1]: the sorted set of slots (score: expiry in ms). ARGV: id, limit, lease ms.
const ACQUIRE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return 1`;

// ARGV: lease ms, then the ids.
const RENEW = `${NOW}
local lease = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + lease, ARGV[i]) end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], lease * 2) end
return 1`;

const IN_FLIGHT = `${NOW}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')`;

// KEYS[1]: a hash { hour, count }. ARGV: 'count' or 'peek', the limit (-1: none).
const HOUR = `${NOW}
local hour = math.floor(now / ${HOUR_MS})
local state = redis.call('HMGET', KEYS[1], 'hour', 'count')
local count = 0
if tonumber(state[1]) == hour then count = tonumber(state[2]) end
local allowed = 1
if ARGV[1] == 'count' then
  local limit = tonumber(ARGV[2])
  if limit < 0 or count < limit then
    count = count + 1
    redis.call('HSET', KEYS[1], 'hour', hour, 'count', count)
    redis.call('PEXPIRE', KEYS[1], ${2 * HOUR_MS})
  else
    allowed = 0
  end
end
return {allowed, count, (hour + 1) * ${HOUR_MS} - now}`;

export function createRedisInstanceStore(redis: RedisClient, prefix: string): InstanceStore {
  const slots = `${prefix}instance:in-flight`;
  const hourKey = `${prefix}instance:hour`;
  const hour = async (mode: 'count' | 'peek', limit: number | null): Promise<HourCount> => {
    const [allowed, count, resetMs] = (await redis.eval(HOUR, 1, hourKey, mode, limit ?? -1)) as [
      number,
      number,
      number,
    ];
    return { allowed: allowed === 1, count, resetSeconds: Math.ceil(resetMs / 1000) };
  };
  return {
    async acquire(id, limit, leaseMs) {
      return (await redis.eval(ACQUIRE, 1, slots, id, limit, leaseMs)) === 1;
    },
    async release(id) {
      await redis.zrem(slots, id);
    },
    async renew(ids, leaseMs) {
      if (ids.length) await redis.eval(RENEW, 1, slots, leaseMs, ...ids);
    },
    inFlight: async () => Number(await redis.eval(IN_FLIGHT, 1, slots)),
    countHour: (limit) => hour('count', limit),
    peekHour: () => hour('peek', null),
  };
}
