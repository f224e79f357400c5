// Open subscriptions per API key across every API process (with Redis): a sorted set per key of
// stream ids scored by lease expiry. A stream takes a slot when it opens (refused at the limit),
// gives it back when it ends, and renews its lease while it runs; a process that dies without
// giving its slots back loses them when their leases run out. Times are Redis's own (TIME).
import type { RedisClient } from '../../storage/redis';

export interface SubscriptionSlots {
  /** false: the key holds `limit` live slots already. */
  take(keyId: string, streamId: string, limit: number): Promise<boolean>;
  release(keyId: string, streamId: string): Promise<void>;
  /** Extends the leases of these live streams. */
  renew(streams: { keyId: string; streamId: string }[]): Promise<void>;
}

const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// KEYS[1] the key's set; ARGV: lease ms, limit, stream id.
const TAKE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

// KEYS[1] the key's set; ARGV: lease ms, then stream ids (only those still present are renewed).
const RENEW = `${NOW}
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

export function createRedisSlots(
  redis: RedisClient,
  prefix: string,
  leaseMs: number,
): SubscriptionSlots {
  const setOf = (keyId: string) => `${prefix}subs:${keyId}`;
  return {
    async take(keyId, streamId, limit) {
      return (
        (await redis.eval(TAKE, 1, setOf(keyId), String(leaseMs), String(limit), streamId)) === 1
      );
    },
    async release(keyId, streamId) {
      await redis.zrem(setOf(keyId), streamId);
    },
    async renew(streams) {
      const byKey = new Map<string, string[]>();
      for (const { keyId, streamId } of streams)
        byKey.set(keyId, [...(byKey.get(keyId) ?? []), streamId]);
      await Promise.all(
        [...byKey].map(([keyId, ids]) =>
          redis.eval(RENEW, 1, setOf(keyId), String(leaseMs), ...ids),
        ),
      );
    },
  };
}
