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
import type { RedisClient } from './redis';
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
// every invalidation); a response is stored with the generations of its tags and is a hit only
// while they are all unchanged. There are no per-tag lists to keep (nothing grows with the number
// of responses), and an evicted generation can only turn hits into misses, never revive a stale
// answer (the cache Redis may evict).
// A tag's two keys (generation, last invalidation) share a hash tag and each script touches one
// tag's keys or one response's, so the cache spreads over a Redis Cluster's slots. Not atomic over
// all of a response's tags, and need not be: a tag invalidated after its generation was read gets
// a new one, so the response stored with the old one is a miss.

// KEYS: a tag's generation and invalidation keys; ARGV: window ms, generation ttl ms. The tag's
// generation (made if missing), or nil when the tag was invalidated within the window.
const GENERATION = `${NOW}
local at = redis.call('GET', KEYS[2])
if at and tonumber(at) >= now - tonumber(ARGV[1]) then return false end
local g = redis.call('GET', KEYS[1])
if not g then
  g = string.format('%d%03d', now, math.random(0, 999))
  redis.call('SET', KEYS[1], g, 'PX', ARGV[2])
end
return g`;

// KEYS[1] response key; ARGV: json, ttl ms, the tags' generations (JSON).
const STORE = `
redis.call('HSET', KEYS[1], 'r', ARGV[1], 'g', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

// KEYS: a tag's generation and invalidation keys; ARGV: remember ms, generation ttl ms. A new
// generation, and when.
const INVALIDATE = `${NOW}
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
redis.call('SET', KEYS[2], now, 'PX', ARGV[1])
return 1`;

export function createRedisResponseStore(
  redis: RedisClient,
  prefix: string,
  onError: (error: unknown) => void,
): ResponseStore {
  const responseKey = (id: string) => `${prefix}rc:r:${id}`;
  const tagKeys = (tag: string) => [`${prefix}rc:t:{${tag}}:g`, `${prefix}rc:t:{${tag}}:inv`];
  // A generation outlives every response stored under it.
  const generationTtl = String(2 * MAX_TTL_MS);
  return {
    async get(id) {
      const [json, stored] = await redis.hmget(responseKey(id), 'r', 'g').catch(() => [null, null]);
      if (!json || !stored) return undefined;
      const generations = JSON.parse(stored) as [string, string][];
      const now = await Promise.all(generations.map(([tag]) => redis.get(tagKeys(tag)[0]))).catch(
        () => null,
      );
      if (!now || generations.some(([, g], i) => now[i] !== g)) {
        if (now) await redis.del(responseKey(id)).catch(() => undefined);
        return undefined;
      }
      return JSON.parse(json);
    },
    async set(id, result, tags, ttlMs, computedInMs) {
      const window = String(Math.ceil(computedInMs) + RACE_MARGIN_MS);
      await Promise.all(
        tags.map((tag) => redis.eval(GENERATION, 2, ...tagKeys(tag), window, generationTtl)),
      )
        .then((generations) =>
          generations.includes(null)
            ? undefined
            : redis.eval(
                STORE,
                1,
                responseKey(id),
                JSON.stringify(result),
                String(clampTtl(ttlMs)),
                JSON.stringify(tags.map((tag, i) => [tag, generations[i]])),
              ),
        )
        .catch(() => undefined);
    },
    async invalidate(tags) {
      await Promise.all(
        tags.map((tag) =>
          redis.eval(INVALIDATE, 2, ...tagKeys(tag), String(REMEMBER_MS), generationTtl),
        ),
      ).catch(onError);
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
