// Token buckets of cost points: `capacity` points, refilled at `restoreRate` points a second.
// A request takes its requested cost up front (refused when the bucket holds less) and gets back
// what it did not use. With Redis every step is one Lua script (atomic; Redis' clock, so API
// instances agree), else the same arithmetic in process.
import type Redis from 'ioredis';

export interface BucketLimits {
  capacity: number;
  /** Points restored per second. */
  restoreRate: number;
}

export interface BucketResult {
  allowed: boolean;
  /** Points in the bucket after this step. */
  available: number;
}

export interface BucketStore {
  /** Takes `cost` points if the bucket holds them. */
  take(key: string, limits: BucketLimits, cost: number): Promise<BucketResult>;
  /** Takes `cost` points whatever the bucket holds (it may go below zero): work already done. */
  charge(key: string, limits: BucketLimits, cost: number): Promise<BucketResult>;
  /** Gives back `points` (never above capacity). */
  refund(key: string, limits: BucketLimits, points: number): Promise<BucketResult>;
  peek(key: string, limits: BucketLimits): Promise<BucketResult>;
}

type Mode = 'take' | 'charge' | 'refund' | 'peek';

interface State {
  tokens: number;
  at: number;
}

/** The bucket at `now` after a step of `mode` for `cost` points. Pure. */
export function step(
  state: State | undefined,
  limits: BucketLimits,
  now: number,
  mode: Mode,
  cost: number,
): State & { allowed: boolean } {
  const start = state ?? { tokens: limits.capacity, at: now };
  let tokens = Math.min(
    limits.capacity,
    start.tokens + (Math.max(0, now - start.at) * limits.restoreRate) / 1000,
  );
  let allowed = true;
  if (mode === 'take') {
    if (tokens >= cost) tokens -= cost;
    else allowed = false;
  } else if (mode === 'charge') tokens -= cost;
  else if (mode === 'refund') tokens = Math.min(limits.capacity, tokens + cost);
  return { tokens, at: now, allowed };
}

/** Seconds until the bucket holds `points` (0 when it does). */
export const secondsUntil = (available: number, points: number, limits: BucketLimits) =>
  available >= points ? 0 : Math.ceil((points - available) / limits.restoreRate);

export function createMemoryBuckets(clock: () => number = Date.now): BucketStore {
  const buckets = new Map<string, State>();
  const run = async (key: string, limits: BucketLimits, mode: Mode, cost: number) => {
    const next = step(buckets.get(key), limits, clock(), mode, cost);
    if (mode !== 'peek') buckets.set(key, { tokens: next.tokens, at: next.at });
    // Full buckets are forgotten (they would start full anyway).
    if (next.tokens >= limits.capacity) buckets.delete(key);
    return { allowed: next.allowed, available: next.tokens };
  };
  return {
    take: (key, limits, cost) => run(key, limits, 'take', cost),
    charge: (key, limits, cost) => run(key, limits, 'charge', cost),
    refund: (key, limits, points) => run(key, limits, 'refund', points),
    peek: (key, limits) => run(key, limits, 'peek', 0),
  };
}

// The same step as `step`, in Redis: one round trip, no read-modify-write race between instances.
const SCRIPT = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local mode = ARGV[3]
local cost = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil then tokens = capacity; at = now end
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate / 1000)
local allowed = 1
if mode == 'take' then
  if tokens >= cost then tokens = tokens - cost else allowed = 0 end
elseif mode == 'charge' then
  tokens = tokens - cost
elseif mode == 'refund' then
  tokens = math.min(capacity, tokens + cost)
end
if mode ~= 'peek' then
  if tokens >= capacity then
    redis.call('DEL', KEYS[1])
  else
    redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
    redis.call('PEXPIRE', KEYS[1], math.min(math.ceil((capacity - tokens) / rate * 1000) + 1000, 2592000000))
  end
end
return {allowed, tostring(tokens)}
`;

/**
 * Runs bucket steps on `store`, or on this process's buckets when it fails: after a failure the
 * store is not asked again for a few seconds (a hung Redis would otherwise cost every request its
 * command timeout). `beforeFallback` may refuse instead (throw); the answer says which store took.
 */
export function withFallback(store: BucketStore, onError?: (error: unknown) => void) {
  const fallback = createMemoryBuckets();
  const BACKOFF_MS = 5_000;
  let failedAt = 0;
  return async <T>(
    run: (s: BucketStore) => Promise<T>,
    beforeFallback?: () => void,
  ): Promise<{ value: T; used: BucketStore }> => {
    if (Date.now() - failedAt > BACKOFF_MS) {
      try {
        return { value: await run(store), used: store };
      } catch (error) {
        failedAt = Date.now();
        onError?.(error);
      }
    }
    beforeFallback?.();
    return { value: await run(fallback), used: fallback };
  };
}

export function createRedisBuckets(redis: Redis, prefix: string): BucketStore {
  redis.defineCommand('evalgraphBucket', { numberOfKeys: 1, lua: SCRIPT });
  const run = async (
    key: string,
    limits: BucketLimits,
    mode: Mode,
    cost: number,
  ): Promise<BucketResult> => {
    // biome-ignore lint/suspicious/noExplicitAny: ioredis adds defined commands to the client at run time, untyped.
    const [allowed, tokens] = (await (redis as any).evalgraphBucket(
      `${prefix}bucket:${key}`,
      limits.capacity,
      limits.restoreRate,
      mode,
      cost,
    )) as [number, string];
    return { allowed: allowed === 1, available: Number(tokens) };
  };
  return {
    take: (key, limits, cost) => run(key, limits, 'take', cost),
    charge: (key, limits, cost) => run(key, limits, 'charge', cost),
    refund: (key, limits, points) => run(key, limits, 'refund', points),
    peek: (key, limits) => run(key, limits, 'peek', 0),
  };
}
