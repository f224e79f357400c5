import Redis, { Cluster, type RedisOptions } from 'ioredis';

const retry = (times: number) => Math.min(times * 200, 2_000);

/** One Redis or a Redis Cluster: the commands we use are the same on both. */
export type RedisClient = Redis | Cluster;

type HostPort = { host: string; port: number };

/** Where Redis is: a URL (REDIS_URL), some nodes of a cluster (REDIS_CLUSTER_NODES), or the
 * sentinels that know its master (REDIS_SENTINELS, REDIS_SENTINEL_MASTER). */
export interface RedisTarget {
  url: string | null;
  clusterNodes: HostPort[] | null;
  sentinels: { nodes: HostPort[]; master: string } | null;
}

/** One Redis: at its URL, or the master the sentinels name (asked again after a failover). */
const single = (target: RedisTarget, options: RedisOptions) =>
  target.sentinels
    ? new Redis({
        ...options,
        sentinels: target.sentinels.nodes,
        name: target.sentinels.master,
        sentinelRetryStrategy: retry,
        // Told of a failover by the sentinels at once, rather than when the old master fails a command.
        failoverDetector: true,
      })
    : new Redis(target.url!, options);

/**
 * How long a command may wait for Redis' answer: long enough that a busy event loop does not time
 * out a command Redis answered in time; short enough that a hung Redis costs one request seconds,
 * then the fallback.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 2_000;

/** A Redis client that fails fast when Redis is down instead of queueing commands for ~73 s
 * (ioredis' defaults), so a request path that uses it answers at once with its fallback. */
export function createRedis(
  target: RedisTarget,
  options: { name?: string; commandTimeoutMs?: number } = {},
): RedisClient {
  const perConnection = {
    connectionName: options.name ?? 'evalgraph',
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs ?? REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: 2_000,
  };
  const client = target.clusterNodes
    ? // The cluster client queues commands while it (re)learns the slots unless told not to, as
      // the node connections would: both fail fast.
      new Cluster(target.clusterNodes, {
        enableOfflineQueue: false,
        clusterRetryStrategy: retry,
        slotsRefreshTimeout: 2_000,
        redisOptions: perConnection,
      })
    : single(target, {
        ...perConnection,
        enableOfflineQueue: false,
        lazyConnect: false,
        retryStrategy: retry,
      });
  // Connection errors are reported through readiness and the callers' fallbacks, not as crashes.
  client.on('error', () => {});
  return client;
}

/** A connection for subscriber mode: its commands wait for a reconnect instead of failing (they
 * run off the request path), and ioredis re-subscribes its channels after one (in a cluster, on
 * another node if its node goes). */
export function createRedisSubscriber(target: RedisTarget, name = 'evalgraph-sub'): RedisClient {
  const client = target.clusterNodes
    ? new Cluster(target.clusterNodes, {
        clusterRetryStrategy: retry,
        redisOptions: { connectionName: name, maxRetriesPerRequest: null, connectTimeout: 2_000 },
      })
    : single(target, {
        connectionName: name,
        maxRetriesPerRequest: null,
        connectTimeout: 2_000,
        retryStrategy: retry,
      });
  client.on('error', () => {});
  return client;
}

/**
 * What Redis Cluster hashes `key` to a slot by: the text inside its first `{…}` (its hash tag),
 * else the whole key. Keys one script or command touches together must share it.
 */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}
