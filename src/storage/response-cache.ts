// Where cached GraphQL responses live: Redis (shared by every API process) or an LRU in this
// process. A response is stored with its TTL under the tags of what it contains ("Trace",
// "Evaluation:<id>", "ProjectData:<id>"); invalidating a tag drops its responses.
// - A response computed while one of its tags was invalidated is not stored: it may hold what the
//   invalidation was about (a query that read just before a write would otherwise cache the old
//   state for its whole TTL). The store is told how long the response took to compute and
//   compares on its own clock, so API and Redis clocks need not agree.
// - Redis failures are misses, and a failed invalidation is reported: the cache never fails a
//   request. (@envelop/response-cache-redis keeps tag sets forever and scans with KEYS.)
import type { ExecutionResult } from 'graphql';
import type Redis from 'ioredis';
import { LRUCache } from 'lru-cache';

export interface ResponseStore {
  get(id: string): Promise<ExecutionResult | undefined>;
  /** Keeps `result` for `ttlMs` under `tags`, unless a tag was invalidated in the last `computedInMs` (+ a margin). */
  set(
    id: string,
    result: ExecutionResult,
    tags: string[],
    ttlMs: number,
    computedInMs: number,
  ): Promise<void>;
  invalidate(tags: string[]): Promise<void>;
}

/** Covers the trip between an API process and Redis (a response computed this soon after an invalidation is not kept). */
const RACE_MARGIN_MS = 10;
/** How long an invalidation is remembered (longer than any query runs). */
const REMEMBER_MS = 60_000;
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** Longest a response may be kept, whatever its types say. */
const MAX_TTL_MS = 3_600_000;
const clampTtl = (ttl: number) =>
  Math.max(1, Math.min(Number.isFinite(ttl) ? ttl : MAX_TTL_MS, MAX_TTL_MS));

// Redis: each tag has a generation (starting from the time and a random number, then INCR on
// every invalidation); a response
// is stored with the generations of its tags and is a hit only while they are all unchanged. There
// are no per-tag lists to keep (nothing grows with the number of responses), and an evicted
// generation can only turn hits into misses, never revive a stale answer (the cache Redis may evict).

// KEYS[1] response key; ARGV: json, ttl ms, window ms, generation ttl ms, then tag keys.
const SET = `${NOW}
local since = now - tonumber(ARGV[3])
local gens = {}
for i = 5, #ARGV do
  local at = redis.call('GET', ARGV[i] .. ':inv')
  if at and tonumber(at) >= since then return 0 end
  local g = redis.call('GET', ARGV[i] .. ':g')
  if not g then
    g = string.format('%d%03d', now, math.random(0, 999))
    redis.call('SET', ARGV[i] .. ':g', g, 'PX', ARGV[4])
  end
  gens[#gens + 1] = ARGV[i] .. '\t' .. g
end
redis.call('HSET', KEYS[1], 'r', ARGV[1], 'g', table.concat(gens, '\t'))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

// KEYS[1] response key. The response, if every tag is still at its stored generation.
const GET = `
local g = redis.call('HGET', KEYS[1], 'g')
if not g then return false end
local parts = {}
for part in string.gmatch(g, '[^\t]+') do parts[#parts + 1] = part end
for i = 1, #parts, 2 do
  if redis.call('GET', parts[i] .. ':g') ~= parts[i + 1] then
    redis.call('DEL', KEYS[1])
    return false
  end
end
return redis.call('HGET', KEYS[1], 'r')`;

// ARGV: remember ms, generation ttl ms, then tag keys: a new generation each, and when.
const INVALIDATE = `${NOW}
for i = 3, #ARGV do
  if redis.call('EXISTS', ARGV[i] .. ':g') == 1 then
    redis.call('INCR', ARGV[i] .. ':g')
    redis.call('PEXPIRE', ARGV[i] .. ':g', ARGV[2])
  end
  redis.call('SET', ARGV[i] .. ':inv', now, 'PX', ARGV[1])
end
return 1`;

export function createRedisResponseStore(
  redis: Redis,
  prefix: string,
  onError: (error: unknown) => void,
): ResponseStore {
  const responseKey = (id: string) => `${prefix}rc:r:${id}`;
  const tagKey = (tag: string) => `${prefix}rc:t:${tag}`;
  // A generation outlives every response stored under it.
  const generationTtl = String(2 * MAX_TTL_MS);
  return {
    async get(id) {
      const json = (await redis.eval(GET, 1, responseKey(id)).catch(() => null)) as string | null;
      return json ? JSON.parse(json) : undefined;
    },
    async set(id, result, tags, ttlMs, computedInMs) {
      const window = String(Math.ceil(computedInMs) + RACE_MARGIN_MS);
      await redis
        .eval(
          SET,
          1,
          responseKey(id),
          JSON.stringify(result),
          String(clampTtl(ttlMs)),
          window,
          generationTtl,
          ...tags.map(tagKey),
        )
        .catch(() => undefined);
    },
    async invalidate(tags) {
      if (tags.length)
        await redis
          .eval(INVALIDATE, 0, String(REMEMBER_MS), generationTtl, ...tags.map(tagKey))
          .catch(onError);
    },
  };
}

export function createMemoryResponseStore(maxEntries = 5_000): ResponseStore {
  const byTag = new Map<string, Set<string>>();
  const responses = new LRUCache<string, { result: ExecutionResult; tags: string[] }>({
    max: maxEntries,
    ttlAutopurge: false,
    // Evicted or expired: off its tags' lists.
    dispose: ({ tags }, id) => {
      for (const tag of tags) {
        const ids = byTag.get(tag);
        ids?.delete(id);
        if (ids?.size === 0) byTag.delete(tag);
      }
    },
  });
  const invalidatedAt = new LRUCache<string, number>({ max: 50_000, ttl: REMEMBER_MS });
  return {
    async get(id) {
      return responses.get(id)?.result;
    },
    async set(id, result, tags, ttlMs, computedInMs) {
      const since = Date.now() - computedInMs; // one clock: no margin
      if (tags.some((tag) => (invalidatedAt.get(tag) ?? -Infinity) >= since)) return;
      responses.set(id, { result, tags }, { ttl: clampTtl(ttlMs) });
      for (const tag of tags) {
        const ids = byTag.get(tag) ?? new Set();
        ids.add(id);
        byTag.set(tag, ids);
      }
    },
    async invalidate(tags) {
      const now = Date.now();
      for (const tag of tags) {
        invalidatedAt.set(tag, now);
        for (const id of byTag.get(tag) ?? []) responses.delete(id);
        byTag.delete(tag);
      }
    },
  };
}
