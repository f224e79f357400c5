// The Config object: parseConfig maps the parsed environment (config-schema.ts) onto nested,
// typed settings, with the derived ones (paths, per-tier tables, what is off).
import path from 'node:path';
import { judgeProviders } from './config-judges';
import {
  DEFAULT_ROLE_LIMITS,
  DEFAULT_TIER_BUCKETS,
  DEFAULT_TIER_MINUTE_QUOTAS,
  DEFAULT_TIER_QUOTAS,
  envSchema,
} from './config-schema';

/** The package's root: relative paths of shipped files resolve from here, not from the working directory. */
const PROJECT_ROOT = path.resolve(__dirname, '..');
const DEFAULT_MANIFEST = 'schema/operations/generated/persisted-documents.json';

type TierName = 'FREE' | 'BASIC' | 'PREMIUM' | 'ENTERPRISE';
type DailyQuotaConfig = {
  requests: number | null;
  evaluations: number | null;
  judgeTokens: number | null;
  judgeCost: string | null;
};

type MinuteWindowConfig<T> = { perMinute: T | null; burst: T | null };
export type MinuteQuotaConfig = {
  evaluations: MinuteWindowConfig<number>;
  judgeTokens: MinuteWindowConfig<number>;
  judgeCost: MinuteWindowConfig<string>;
};
type RoleName = keyof typeof DEFAULT_ROLE_LIMITS;
export type RoleLimitConfig = { perMinute: number; burst: number };

/** Each tier's per-minute quotas with the configured overrides on top, field by field. */
function minuteTiers(
  overrides: Partial<Record<TierName, Partial<Record<keyof MinuteQuotaConfig, object>>>>,
): Record<TierName, MinuteQuotaConfig> {
  const tiers = ['FREE', 'BASIC', 'PREMIUM', 'ENTERPRISE'] as const;
  const fields = ['evaluations', 'judgeTokens', 'judgeCost'] as const;
  return Object.fromEntries(
    tiers.map((t) => [
      t,
      Object.fromEntries(
        fields.map((f) => [f, { ...DEFAULT_TIER_MINUTE_QUOTAS[t][f], ...overrides[t]?.[f] }]),
      ),
    ]),
  ) as Record<TierName, MinuteQuotaConfig>;
}

/** Each tier's defaults with the configured overrides on top. */
function perTier<T extends object>(
  defaults: Record<TierName, T>,
  overrides: Partial<Record<TierName, Partial<T>>>,
): Record<TierName, T> {
  const tiers = ['FREE', 'BASIC', 'PREMIUM', 'ENTERPRISE'] as const;
  return Object.fromEntries(tiers.map((t) => [t, { ...defaults[t], ...overrides[t] }])) as Record<
    TierName,
    T
  >;
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Reads the environment into a nested, typed config. Pure: no I/O. Disabled features are null. */
export function parseConfig(rawEnv: Record<string, string | undefined>) {
  // An empty variable means unset (compose files and shells pass `VAR=` for "not given").
  const env = Object.fromEntries(Object.entries(rawEnv).filter(([, v]) => v !== ''));
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0]);
        const got = env[name];
        // Never echo what may be a secret.
        const secret = /KEY|URL|PASSWORD|SECRET/.test(name);
        return `${name}: ${issue.message}${got === undefined || secret ? '' : ` (got "${got.length > 60 ? `${got.slice(0, 60)}…` : got}")`}`;
      }),
    );
  }
  const e = parsed.data;
  const init = {
    adminEmail: e.EVALGRAPH_INIT_ADMIN_EMAIL,
    project: e.EVALGRAPH_INIT_PROJECT,
    apiKey: e.EVALGRAPH_INIT_API_KEY,
  };
  const initCount = Object.values(init).filter(Boolean).length;
  if (initCount > 0 && !init.adminEmail) {
    throw new ConfigError([
      'EVALGRAPH_INIT_ADMIN_EMAIL: required when EVALGRAPH_INIT_PROJECT or EVALGRAPH_INIT_API_KEY is set',
    ]);
  }
  const roles = Object.fromEntries(
    Object.entries(DEFAULT_ROLE_LIMITS).map(([role, limits]) => [
      role,
      { ...limits, ...e.EVALGRAPH_RATE_LIMIT_ROLES[role as RoleName] },
    ]),
  ) as Record<RoleName, RoleLimitConfig>;
  const tooSmall = Object.entries(roles)
    .filter(([, l]) => l.burst < l.perMinute)
    .map(([role]) => role);
  if (tooSmall.length)
    throw new ConfigError([
      `EVALGRAPH_RATE_LIMIT_ROLES: burst must be at least perMinute (${tooSmall.join(', ')})`,
    ]);
  const minute = minuteTiers(e.EVALGRAPH_TIER_MINUTE_QUOTAS);
  const below = Object.entries(minute).flatMap(([tier, q]) =>
    Object.entries(q)
      .filter(
        ([, w]) =>
          w.perMinute !== null && w.burst !== null && Number(w.burst) < Number(w.perMinute),
      )
      .map(([field]) => `${tier}.${field}`),
  );
  if (below.length)
    throw new ConfigError([
      `EVALGRAPH_TIER_MINUTE_QUOTAS: burst must be at least perMinute (${below.join(', ')})`,
    ]);
  if ([e.REDIS_URL, e.REDIS_CLUSTER_NODES, e.REDIS_SENTINELS].filter(Boolean).length > 1)
    throw new ConfigError([
      'REDIS_CLUSTER_NODES, REDIS_SENTINELS: set one of them or REDIS_URL, not several',
    ]);
  // A brace in the prefix would be the hash tag of every key: the whole data set in one slot.
  if (e.REDIS_CLUSTER_NODES && /[{}]/.test(e.REDIS_KEY_PREFIX))
    throw new ConfigError([
      'REDIS_KEY_PREFIX: no { or } with REDIS_CLUSTER_NODES (it would put every key in one slot)',
    ]);
  const judges = judgeProviders(e);
  if (judges.providers === null) throw new ConfigError(judges.problems);
  const dataDir = path.resolve(e.EVALGRAPH_DATA_DIR);
  return {
    http: {
      port: e.PORT,
      host: e.HOST,
      /** The worker role's port for /health/live, /health/ready and /metrics (null: none). */
      workerPort: e.EVALGRAPH_WORKER_PORT ?? null,
      publicUrl: e.EVALGRAPH_PUBLIC_URL ?? null,
      graphiql: e.EVALGRAPH_GRAPHIQL,
      corsOrigins: e.EVALGRAPH_CORS_ORIGINS,
      /** Peers whose X-Forwarded-For is believed (lib/client-address.ts); empty: none. */
      trustedProxies: e.EVALGRAPH_TRUSTED_PROXIES,
      maxBodyBytes: e.EVALGRAPH_MAX_BODY_BYTES,
      /** Bytes a second the exports (/v1/export/…) send each user, all of theirs together; 0: unpaced. */
      exportBytesPerSecond: e.EVALGRAPH_EXPORT_BYTES_PER_SECOND,
      shutdownTimeoutMs: e.EVALGRAPH_SHUTDOWN_TIMEOUT_MS,
    },
    database: e.DATABASE_URL
      ? {
          kind: 'postgres' as const,
          url: e.DATABASE_URL,
          migrateOnStart: e.EVALGRAPH_MIGRATE_ON_START,
          /**
           * A statement unanswered this long makes the process check whether Postgres answers at
           * all (a new connection, `SELECT 1`); if it does not, statements in flight fail (503)
           * rather than wait for ever. A slow statement on a Postgres that answers is left to run.
           */
          probeAfterMs: e.EVALGRAPH_DB_PROBE_AFTER_MS,
        }
      : {
          kind: 'pglite' as const,
          dataDir: path.join(dataDir, 'pgdata'),
          migrateOnStart: e.EVALGRAPH_MIGRATE_ON_START,
        },
    /** One Redis (REDIS_URL, or its master through REDIS_SENTINELS) or a Redis Cluster (REDIS_CLUSTER_NODES); null: in-process stores. */
    redis:
      e.REDIS_URL || e.REDIS_CLUSTER_NODES || e.REDIS_SENTINELS
        ? {
            url: e.REDIS_URL ?? null,
            clusterNodes: e.REDIS_CLUSTER_NODES ?? null,
            sentinels: e.REDIS_SENTINELS
              ? { nodes: e.REDIS_SENTINELS, master: e.REDIS_SENTINEL_MASTER }
              : null,
            keyPrefix: e.REDIS_KEY_PREFIX,
          }
        : null,
    traces: {
      /** Longest span input/output text kept, in characters; longer text is cut and flagged. */
      maxTextChars: e.EVALGRAPH_MAX_SPAN_TEXT_CHARS,
      maxMetadataBytes: e.EVALGRAPH_MAX_SPAN_METADATA_BYTES,
      /** Spans in one ingestSpans call or OTLP request. */
      maxSpansPerBatch: 1000,
    },
    judge: {
      /** The model of graders that name none, and the embedding model (every provider's). */
      model: e.EVALGRAPH_JUDGE_MODEL,
      embeddingModel: e.EVALGRAPH_EMBEDDING_MODEL,
      /**
       * OpenAI-compatible APIs (OpenAI, Azure, vLLM, Ollama, LiteLLM…), each with its timeout,
       * retries (408/409/429/5xx and connection errors, backoff honouring Retry-After up to 60 s),
       * calls in flight per process, and circuit (failed calls in a row that open it, and how long
       * it stays open). One named `default` when EVALGRAPH_JUDGE_PROVIDERS is unset.
       */
      providers: judges.providers,
    },
    evaluations: {
      /** Items graded at once by one worker process. */
      concurrency: e.EVALGRAPH_EVAL_CONCURRENCY,
      /** How long claimed work (an item, an online task, a data job) is a worker's before another may take it (a killed worker). */
      leaseMs: e.EVALGRAPH_EVAL_LEASE_MS,
      /** Claims of one item before it counts as errored. */
      maxAttempts: e.EVALGRAPH_EVAL_MAX_ATTEMPTS,
    },
    onlineEvaluations: {
      /** Sampled traces and spans judged at once by one worker process (leases and attempts: evaluations'). */
      concurrency: e.EVALGRAPH_ONLINE_EVAL_CONCURRENCY,
      /** How often an idle worker looks for tasks that came due (their rules' delays end). */
      pollMs: e.EVALGRAPH_ONLINE_EVAL_POLL_MS,
    },
    subscriptions: {
      /** Least time between two progress events of one evaluation. */
      progressIntervalMs: e.EVALGRAPH_PROGRESS_INTERVAL_MS,
      /** Subscriptions open at once on one WebSocket (graphql-ws has no cap of its own). */
      maxPerConnection: e.EVALGRAPH_WS_MAX_SUBSCRIPTIONS,
      /** Subscriptions open at once per API key over every transport (every process together with Redis). */
      maxPerKey: e.EVALGRAPH_SUBSCRIPTIONS_PER_KEY,
      /** How long a WebSocket may stay open without connection_init. */
      initTimeoutMs: e.EVALGRAPH_WS_INIT_TIMEOUT_MS,
      /** Largest WebSocket message accepted. */
      maxPayloadBytes: e.EVALGRAPH_WS_MAX_PAYLOAD_BYTES,
    },
    limits: {
      maxDepth: e.EVALGRAPH_MAX_DEPTH,
      maxAliases: e.EVALGRAPH_MAX_ALIASES,
      maxTokens: e.EVALGRAPH_MAX_TOKENS,
      maxDirectives: e.EVALGRAPH_MAX_DIRECTIVES,
      /** Longest query text (UTF-8 bytes) run or registered, whoever sends it: refused with 413 before parsing. */
      maxQueryBytes: e.EVALGRAPH_MAX_QUERY_BYTES,
      /** Off: __schema and __type are refused (GraphiQL then needs a local schema). */
      introspection: e.EVALGRAPH_INTROSPECTION,
    },
    rateLimit: {
      /** Off: no cost analysis, buckets or cost extension (benchmarks compare both). */
      enabled: e.EVALGRAPH_RATE_LIMIT,
      tiers: perTier(DEFAULT_TIER_BUCKETS, e.EVALGRAPH_RATE_LIMIT_TIERS),
      /**
       * Each key role's ceiling in requests (operations that cost points): a bucket of `burst`
       * requests refilled at `perMinute`, per user and role (a FEEDBACK key's: per project), on
       * top of the tier's bucket. A key without a role counts as ADMIN.
       */
      roles,
      /** No single operation may cost more, whatever the bucket. */
      maxQueryCost: e.EVALGRAPH_MAX_QUERY_COST,
      /**
       * Requests without a valid key (none, or a bad one), per client address (the TCP peer): a
       * bucket of a second's worth, refilled at this rate a second. null: off.
       */
      anonymous:
        e.EVALGRAPH_ANONYMOUS_RATE_LIMIT > 0
          ? {
              capacity: Math.max(1, Math.ceil(e.EVALGRAPH_ANONYMOUS_RATE_LIMIT)),
              restoreRate: e.EVALGRAPH_ANONYMOUS_RATE_LIMIT,
            }
          : null,
    },
    slo: {
      /** Share of requests answered without a 5xx. */
      availability: e.EVALGRAPH_SLO_AVAILABILITY,
      /** Largest share of requests answered with a 5xx or an unexpected error. */
      errorRate: e.EVALGRAPH_SLO_ERROR_RATE,
      /** 95 % of queries must be answered within this... */
      queryP95Ms: e.EVALGRAPH_SLO_QUERY_P95_MS,
      /** ...and 99 % within this. */
      queryP99Ms: e.EVALGRAPH_SLO_QUERY_P99_MS,
      /** Share of webhook delivery attempts answered 2xx. */
      webhookSuccess: e.EVALGRAPH_SLO_WEBHOOK_SUCCESS,
    },
    alerts: {
      /** How often a worker looks for due alert rules (each rule has its own interval). */
      pollMs: e.EVALGRAPH_ALERTS_POLL_MS,
    },
    rollups: {
      /**
       * Whether ingest maintains span_rollups and analytics read them; false: ingest writes none and
       * analytics aggregate raw spans. Turning it back on needs `evalgraph rollups rebuild` first.
       */
      enabled: e.EVALGRAPH_ROLLUPS,
      /** How often a worker merges the partial rollup rows ingest wrote (queries are exact without it). */
      compactMs: e.EVALGRAPH_ROLLUP_COMPACT_MS,
    },
    audit: {
      /** Audit entries older than this many days are deleted by a worker (modules/audit/job.ts). */
      retentionDays: e.EVALGRAPH_AUDIT_RETENTION_DAYS,
    },
    lifecycle: {
      /** Traces, spans and scores older than this many days are removed where a project sets no retention; null: kept. */
      retentionDays: e.EVALGRAPH_RETENTION_DAYS ?? null,
      /** How often a worker looks for data past its retention (modules/lifecycle/retention.ts). */
      retentionMs: e.EVALGRAPH_RETENTION_MS,
      /** How often a worker looks for data jobs no one holds (wake-ups come first). */
      dataJobPollMs: e.EVALGRAPH_DATA_JOB_POLL_MS,
      /** How long a deleting call works itself before it hands the rest of its job to the workers. */
      deleteInlineMs: e.EVALGRAPH_DELETE_INLINE_MS,
    },
    textIndex: {
      /** How often a worker looks for spans whose text the phrase search's index lacks (text-index.ts). */
      everyMs: e.EVALGRAPH_TEXT_INDEX_MS,
    },
    persisted: {
      /** Non-admin keys may run only trusted documents (the manifest and registered operations). */
      only: e.PERSISTED_QUERY_ONLY || e.EVALGRAPH_PERSISTED_QUERY_ONLY,
      /** Codegen's manifest of trusted documents; '' for none. */
      manifestPath:
        e.EVALGRAPH_PERSISTED_OPERATIONS_FILE === ''
          ? null
          : path.resolve(PROJECT_ROOT, e.EVALGRAPH_PERSISTED_OPERATIONS_FILE ?? DEFAULT_MANIFEST),
    },
    responseCache: {
      enabled: e.EVALGRAPH_RESPONSE_CACHE,
      /** For results whose types set no TTL of their own (costs 30 s, traces 10 s, evaluations 60 s and invalidated on change). */
      defaultTtlMs: e.EVALGRAPH_RESPONSE_CACHE_TTL_MS,
      /** A Redis of its own for cached responses (one that may evict); default: REDIS_URL's (or the cluster's). */
      redisUrl: e.EVALGRAPH_CACHE_REDIS_URL ?? e.REDIS_URL ?? null,
    },
    /** Limits for the whole instance (EVALGRAPH_GLOBAL_LIMITS; null: none). */
    instanceLimits: {
      /** Requests in flight at once (HTTP /graphql and /v1/traces; a subscription once it streams is not). */
      concurrent: e.EVALGRAPH_GLOBAL_LIMITS.concurrent ?? null,
      /** Requests per clock hour (UTC), graphql-ws operations included. */
      requestsPerHour: e.EVALGRAPH_GLOBAL_LIMITS.requestsPerHour ?? null,
      /** Judge spending (USD) of every project per UTC day, as a decimal string. */
      judgeCostPerDayUsd:
        e.EVALGRAPH_GLOBAL_LIMITS.judgeCostPerDayUsd === undefined
          ? null
          : e.EVALGRAPH_GLOBAL_LIMITS.judgeCostPerDayUsd.toFixed(10).replace(/\.?0+$/, ''),
      /** A slot not renewed this long (its process died) is free again. */
      leaseSeconds: e.EVALGRAPH_GLOBAL_LIMITS.leaseSeconds ?? 30,
    },
    costs: {
      /**
       * USD per 1M tokens for models the price table does not know (decimal strings); null: such
       * calls stay unpriced. Calls priced by it are marked (priceSource DEFAULT).
       */
      defaultModelPrice:
        'inputPer1M' in e.EVALGRAPH_DEFAULT_MODEL_PRICE
          ? {
              inputPrice: String(e.EVALGRAPH_DEFAULT_MODEL_PRICE.inputPer1M),
              outputPrice: String(e.EVALGRAPH_DEFAULT_MODEL_PRICE.outputPer1M),
              cachedInputPrice:
                e.EVALGRAPH_DEFAULT_MODEL_PRICE.cachedInputPer1M === undefined
                  ? null
                  : String(e.EVALGRAPH_DEFAULT_MODEL_PRICE.cachedInputPer1M),
            }
          : null,
    },
    quotas: {
      tiers: perTier<DailyQuotaConfig>(DEFAULT_TIER_QUOTAS, e.EVALGRAPH_TIER_QUOTAS),
      /** Per UTC minute, besides the day: refused once a minute's use reaches `burst`. */
      minuteTiers: minute,
      /** A quota is enforced this much above its value (a burst allowance). */
      burstPercent: e.EVALGRAPH_QUOTA_BURST_PERCENT,
    },
    webhooks: {
      /** Hosts, addresses and CIDR ranges that webhooks may reach although private or loopback. */
      allowedHosts: e.EVALGRAPH_WEBHOOK_ALLOWED_HOSTS ?? '',
      timeoutMs: e.EVALGRAPH_WEBHOOK_TIMEOUT_MS,
      /** Delay before each attempt, from the message's creation for the first (Standard Webhooks / Svix schedule). */
      retryScheduleMs: e.EVALGRAPH_WEBHOOK_RETRY_SCHEDULE_MS.split(',').map(Number),
      /** Deliveries in flight per worker process. */
      concurrency: e.EVALGRAPH_WEBHOOK_CONCURRENCY,
      /** Deliveries in flight per endpoint, all workers together: a slow receiver holds no more slots. */
      perEndpoint: e.EVALGRAPH_WEBHOOK_ENDPOINT_CONCURRENCY,
      /** An endpoint failing every delivery for this long is disabled. */
      disableAfterMs: e.EVALGRAPH_WEBHOOK_DISABLE_AFTER_MS,
    },
    /** Mail of EMAIL alert channels (nodemailer); null: EMAIL channels cannot be created or sent. */
    smtp: e.EVALGRAPH_SMTP_URL
      ? {
          url: e.EVALGRAPH_SMTP_URL,
          from: e.EVALGRAPH_SMTP_FROM ?? 'Evalgraph <evalgraph@localhost>',
        }
      : null,
    dataDir,
    logLevel: e.LOG_LEVEL,
    init: init.adminEmail
      ? { adminEmail: init.adminEmail, project: init.project ?? null, apiKey: init.apiKey ?? null }
      : null,
  };
}

export type Config = ReturnType<typeof parseConfig>;
export type DatabaseConfig = Config['database'];
