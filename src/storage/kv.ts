// A small key-value store for caches that processes may share: Redis when there is one (with
// expiry), else in process; an LRU in front either way, and a Redis failure is a miss, never an error.
import type { RedisClient } from './redis';
import { LRUCache } from 'lru-cache';

export interface Kv {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
}

export function createKv(
  redis: RedisClient | null,
  prefix: string,
  options: { maxEntries?: number; maxBytes?: number } = {},
): Kv {
  // Bounded by count and by size (keys and values as UTF-16 code units, near enough).
  const local = new LRUCache<string, string>({
    max: options.maxEntries ?? 10_000,
    maxSize: options.maxBytes ?? 64 * 1024 * 1024,
    sizeCalculation: (value, key) => value.length + key.length,
  });
  return {
    async get(key) {
      const hit = local.get(key);
      if (hit !== undefined || !redis) return hit ?? null;
      const value = await redis.get(prefix + key).catch(() => null);
      if (value !== null) local.set(key, value);
      return value;
    },
    async set(key, value, ttlSeconds) {
      local.set(key, value, { ttl: ttlSeconds * 1000 });
      if (redis) await redis.set(prefix + key, value, 'EX', ttlSeconds).catch(() => undefined);
    },
  };
}
