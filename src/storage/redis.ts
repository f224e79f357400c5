import Redis from 'ioredis';

/** A Redis client that fails fast when Redis is down instead of queueing commands for ~73 s
 * (ioredis' defaults), so a request path that uses it answers at once with its fallback. */
export function createRedis(
  url: string,
  options: { name?: string; commandTimeoutMs?: number } = {},
): Redis {
  const client = new Redis(url, {
    connectionName: options.name ?? 'evalgraph',
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    // Long enough that a busy event loop does not time out a command Redis
    // answered in time; short enough that a hung Redis costs one request seconds, then the fallback.
    commandTimeout: options.commandTimeoutMs ?? 2_000,
    connectTimeout: 2_000,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  // Connection errors are reported through readiness and the callers' fallbacks, not as crashes.
  client.on('error', () => {});
  return client;
}

/** A connection for subscriber mode: its commands wait for a reconnect instead of failing (they
 * run off the request path), and ioredis re-subscribes its channels after one. */
export function createRedisSubscriber(url: string, name = 'evalgraph-sub'): Redis {
  const client = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  client.on('error', () => {});
  return client;
}
