// Token buckets of cost points: `capacity` points, refilled at `restoreRate` points a second.
// A request takes its requested cost up front (refused when the bucket holds less) and gets back
// what it did not use. With Redis every step is one Lua script (atomic; Redis' clock, so API
// instances agree), else the same arithmetic in process.
import { hashTagOf, type RedisClient } from '../../storage/redis';

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
  /** Takes each step's cost from its bucket if every one holds it (one atomic step). */
  takeAll(steps: BucketStep[]): Promise<BucketsResult>;
  peekAll(steps: BucketStep[]): Promise<BucketsResult>;
}

export interface BucketStep {
  key: string;
  limits: BucketLimits;
  cost: number;
}

export interface BucketsResult {
  allowed: boolean;
  /** Each bucket's points after the step, in the order of the steps. */
  available: number[];
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
  // Every bucket of a step moves together: a take from several is allowed only when each holds its cost.
  const run = async (steps: BucketStep[], mode: Mode): Promise<BucketsResult> => {
    const now = clock();
    const peeked = steps.map((s) => step(buckets.get(s.key), s.limits, now, mode, s.cost));
    const allowed = peeked.every((p) => p.allowed);
    const next =
      mode === 'take' && !allowed
        ? steps.map((s) => step(buckets.get(s.key), s.limits, now, 'peek', 0))
        : peeked;
    steps.forEach((s, i) => {
      if (mode !== 'peek') buckets.set(s.key, { tokens: next[i].tokens, at: next[i].at });
      // Full buckets are forgotten (they would start full anyway).
      if (next[i].tokens >= s.limits.capacity) buckets.delete(s.key);
    });
    return { allowed, available: next.map((n) => n.tokens) };
  };
  return storeOf(run);
}

/**
 * A Redis Cluster runs one script only over keys of one slot: the buckets of one step share a hash
 * tag (`bucketBeside`). Checked by every store (the fallback too, which a Redis failure would
 * reach), so that a step a cluster would refuse with CROSSSLOT fails in every mode.
 */
function oneSlot(steps: BucketStep[]): BucketStep[] {
  if (new Set(steps.map((s) => hashTagOf(s.key))).size > 1)
    throw new Error(`buckets of one step must share a hash tag: ${steps.map((s) => s.key)}`);
  return steps;
}

/** The store's single-bucket steps, over its many-bucket one. */
function storeOf(run: (steps: BucketStep[], mode: Mode) => Promise<BucketsResult>): BucketStore {
  const one = async (key: string, limits: BucketLimits, mode: Mode, cost: number) => {
    const r = await run([{ key, limits, cost }], mode);
    return { allowed: r.allowed, available: r.available[0] };
  };
  return {
    take: (key, limits, cost) => one(key, limits, 'take', cost),
    charge: (key, limits, cost) => one(key, limits, 'charge', cost),
    refund: (key, limits, points) => one(key, limits, 'refund', points),
    peek: (key, limits) => one(key, limits, 'peek', 0),
    takeAll: async (steps) => run(oneSlot(steps), 'take'),
    peekAll: async (steps) => run(oneSlot(steps), 'peek'),
  };
}

// The same step as `step`, in Redis, over one or more buckets (ARGV: mode, then capacity, rate
// and cost per key): one round trip, no read-modify-write race between instances. A take is
// allowed only when every bucket holds its cost, and then taken from each.
const SCRIPT = `
local mode = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #KEYS
local caps, rates, costs, tokens = {}, {}, {}, {}
local allowed = 1
for i = 1, n do
  caps[i] = tonumber(ARGV[i * 3 - 1])
  rates[i] = tonumber(ARGV[i * 3])
  costs[i] = tonumber(ARGV[i * 3 + 1])
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'at')
  local tk = tonumber(state[1])
  local at = tonumber(state[2])
  if tk == nil then tk = caps[i]; at = now end
  tokens[i] = math.min(caps[i], tk + math.max(0, now - at) * rates[i] / 1000)
  if mode == 'take' and tokens[i] < costs[i] then allowed = 0 end
end
local out = {allowed}
for i = 1, n do
  if mode == 'take' then
    if allowed == 1 then tokens[i] = tokens[i] - costs[i] end
  elseif mode == 'charge' then
    tokens[i] = tokens[i] - costs[i]
  elseif mode == 'refund' then
    tokens[i] = math.min(caps[i], tokens[i] + costs[i])
  end
  if mode ~= 'peek' then
    if tokens[i] >= caps[i] then
      redis.call('DEL', KEYS[i])
    else
      redis.call('HSET', KEYS[i], 'tokens', tostring(tokens[i]), 'at', tostring(now))
      redis.call('PEXPIRE', KEYS[i], math.min(math.ceil((caps[i] - tokens[i]) / rates[i] * 1000) + 1000, 2592000000))
    end
  end
  out[i + 1] = tostring(tokens[i])
end
return out
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

/**
 * A bucket's key that hashes to the same Redis Cluster slot as `subject`'s own bucket (key
 * `subject`), so one step may take from both.
 */
export const bucketBeside = (subject: string, name: string) => `${name}:{${subject}}`;

export function createRedisBuckets(redis: RedisClient, prefix: string): BucketStore {
  // Without numberOfKeys: the count of buckets is the first argument of each call.
  redis.defineCommand('evalgraphBuckets', { lua: SCRIPT });
  // A key without a hash tag is its own: buckets spread over a cluster's slots.
  const keyOf = (key: string) => `${prefix}bucket:${key.includes('{') ? key : `{${key}}`}`;
  return storeOf(async (steps, mode) => {
    const keys = steps.map((s) => keyOf(s.key));
    // biome-ignore lint/suspicious/noExplicitAny: ioredis adds defined commands to the client at run time, untyped.
    const [allowed, ...tokens] = (await (redis as any).evalgraphBuckets(
      steps.length,
      ...keys,
      mode,
      ...steps.flatMap((s) => [s.limits.capacity, s.limits.restoreRate, s.cost]),
    )) as [number, ...string[]];
    return { allowed: allowed === 1, available: tokens.map(Number) };
  });
}
