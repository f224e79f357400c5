// Builds every side effect once: database, Redis, logger, metrics. The only place that picks
// Postgres or PGlite, and Redis or in-process stores.
import pino, { type Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Config } from './config';
import { createDb, dbOptionsOf, migrate, type Db, type DbOptions } from './storage/db';
import {
  createMemoryBuckets,
  createRedisBuckets,
  type BucketStore,
} from './modules/ratelimit/bucket';
import {
  createMemoryInstanceStore,
  createRedisInstanceStore,
  type InstanceStore,
} from './modules/ratelimit/instance-store';
import { createKv, type Kv } from './storage/kv';
import {
  createMemoryResponseStore,
  createRedisResponseStore,
  type ResponseStore,
} from './storage/response-cache';
import { createMemoryPubSub, createRedisPubSub, type PubSub } from './storage/pubsub';
import { createRedis, createRedisSubscriber, type RedisClient } from './storage/redis';
import { createMeters, type Meters } from './modules/observability/meters';

export interface Deps {
  config: Config;
  log: Logger;
  db: Db;
  /** null in embedded mode: in-process stores are used instead. A Redis Cluster with REDIS_CLUSTER_NODES. */
  redis: RedisClient | null;
  metrics: Registry;
  /** Our own metrics on that registry. */
  meters: Meters;
  /** Events between processes (Redis channels), or within this one. */
  pubsub: PubSub;
  /** Rate-limit buckets: in Redis (shared by every instance), or in process. */
  buckets: BucketStore;
  /** Counts of the instance's limits (requests in flight, per hour): in Redis, or in process. */
  instanceStore: InstanceStore;
  /** Shared caches (persisted queries): Redis with an LRU in front, or the LRU alone. */
  kv: Kv;
  /** Cached GraphQL responses: Redis (EVALGRAPH_CACHE_REDIS_URL or REDIS_URL), or in process. */
  responseCache: ResponseStore;
  clock: { now(): Date };
  close(): Promise<void>;
}

export interface DepsOptions {
  /** Overrides the database chosen by config (tests start from a migrated template). */
  db?: DbOptions;
  log?: Logger;
}

export async function createDeps(config: Config, options: DepsOptions = {}): Promise<Deps> {
  const log = options.log ?? pino({ level: config.logLevel, base: { service: 'evalgraph' } });
  const db = await createDb(
    options.db ?? dbOptionsOf(config.database),
    // Once per outage; requests meanwhile get 503 SERVICE_UNAVAILABLE and are not logged one by one.
    {
      onDown: (error) =>
        log.error({ err: error }, 'database unreachable: answering 503 until it is back'),
      onUp: (downMs) => log.warn({ downMs }, 'database reachable again'),
    },
  );
  if (config.database.migrateOnStart) {
    const applied = await migrate(db);
    if (applied.length) log.info({ applied }, 'applied migrations');
  }
  const redis = config.redis ? createRedis(config.redis, { name: 'evalgraph' }) : null;
  const pubsub =
    config.redis && redis
      ? createRedisPubSub(redis, createRedisSubscriber(config.redis), config.redis.keyPrefix, log)
      : createMemoryPubSub(log);
  const cacheUrl = config.responseCache.redisUrl;
  const cacheRedis =
    cacheUrl && cacheUrl !== config.redis?.url
      ? createRedis(
          { url: cacheUrl, clusterNodes: null, sentinels: null },
          { name: 'evalgraph-cache' },
        )
      : redis;
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });

  return {
    config,
    log,
    db,
    redis,
    metrics,
    meters: createMeters(metrics),
    pubsub,
    buckets:
      config.redis && redis
        ? createRedisBuckets(redis, config.redis.keyPrefix)
        : createMemoryBuckets(),
    instanceStore:
      config.redis && redis
        ? createRedisInstanceStore(redis, config.redis.keyPrefix)
        : createMemoryInstanceStore(),
    kv: createKv(redis, config.redis?.keyPrefix ?? ''),
    responseCache: cacheRedis
      ? createRedisResponseStore(cacheRedis, config.redis?.keyPrefix ?? 'evalgraph:', (error) =>
          log.warn(
            { err: error },
            'response cache invalidation failed; entries live until their TTL',
          ),
        )
      : createMemoryResponseStore(),
    clock: { now: () => new Date() },
    async close() {
      await pubsub.close();
      redis?.disconnect();
      if (cacheRedis !== redis) cacheRedis?.disconnect();
      await db.close();
    },
  };
}
