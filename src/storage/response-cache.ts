// Where cached GraphQL responses live: Redis (shared by every API process) or an LRU in this
// process. A response is stored with its TTL under the tags of what it contains ("Trace",
// "Evaluation:<id>", "ProjectData:<id>"); invalidating a tag drops its responses.
// - A response computed while one of its tags was invalidated is not stored: it may hold what the
//   invalidation was about (a query that read just before a write would otherwise cache the old
//   state for its whole TTL). The store is told how long the response took to compute and
//   compares on its own clock, so API and Redis clocks need not agree.
// - Tag sets expire with the longest-lived response in them: nothing stays without a TTL.
// - Redis failures are misses, and a failed invalidation is reported: the cache never fails a
//   request. (@envelop/response-cache-redis keeps tag sets forever and scans with KEYS.)
import type { ExecutionResult } from 'graphql';
import type Redis from 'ioredis';
import { LRUCache } from 'lru-cache';

export interface ResponseStore {
  get(id: string): Promise<ExecutionResult | undefined>;
  /** Keeps `result` for `ttlMs` under `tags`, unless a tag was invalidated in the last `computedInMs` (+ a margin). */
  set(id: string, result: ExecutionResult, tags: string[], ttlMs: number, computedInMs: number): Promise<void>;
  invalidate(tags: string[]): Promise<void>;
}

/** Covers the trip between an API process and Redis (a response computed this soon after an invalidation is not kept). */
const RACE_MARGIN_MS = 10;
/** How long an invalidation is remembered (longer than any query runs). */
const REMEMBER_MS = 60_000;
/** Longest a response may be kept, whatever its types say. */
const MAX_TTL_MS = 3_600_000;
const clampTtl = (ttl: number) => Math.max(1, Math.min(Number.isFinite(ttl) ? ttl : MAX_TTL_MS, MAX_TTL_MS));

// KEYS[1] response key; ARGV: json, ttl ms, window ms, remember ms, then tag keys.
const SET = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local since = now - tonumber(ARGV[3])
for i = 5, #ARGV do
  local at = redis.call('GET', ARGV[i] .. ':inv')
  if at and tonumber(at) >= since then return 0 end
end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
for i = 5, #ARGV do
  redis.call('SADD', ARGV[i], KEYS[1])
  if redis.call('PTTL', ARGV[i]) < ttl then redis.call('PEXPIRE', ARGV[i], ttl) end
end
return 1`;

// ARGV: remember ms, then tag keys. Drops every response listed under them, and notes when.
const INVALIDATE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dropped = 0
for i = 2, #ARGV do
  local members = redis.call('SMEMBERS', ARGV[i])
  for _, key in ipairs(members) do dropped = dropped + redis.call('DEL', key) end
  redis.call('DEL', ARGV[i])
  redis.call('SET', ARGV[i] .. ':inv', now, 'PX', ARGV[1])
end
return dropped`;

export function createRedisResponseStore(redis: Redis, prefix: string, onError: (error: unknown) => void): ResponseStore {
  const responseKey = (id: string) => `${prefix}rc:r:${id}`;
  const tagKey = (tag: string) => `${prefix}rc:t:${tag}`;
  return {
    async get(id) {
      const json = await redis.get(responseKey(id)).catch(() => null);
      return json === null ? undefined : JSON.parse(json);
    },
    async set(id, result, tags, ttlMs, computedInMs) {
      const window = String(Math.ceil(computedInMs) + RACE_MARGIN_MS);
      await redis.eval(SET, 1, responseKey(id), JSON.stringify(result), String(clampTtl(ttlMs)), window, String(REMEMBER_MS), ...tags.map(tagKey)).catch(() => undefined);
    },
    async invalidate(tags) {
      if (tags.length) await redis.eval(INVALIDATE, 0, String(REMEMBER_MS), ...tags.map(tagKey)).catch(onError);
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
