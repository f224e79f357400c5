import path from 'node:path';
import { z } from 'zod';

/** The package's root: relative paths of shipped files resolve from here, not from the working directory. */
const PROJECT_ROOT = path.resolve(__dirname, '..');
const DEFAULT_MANIFEST = 'schema/operations/generated/persisted-documents.json';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const boolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
    .optional()
    .transform((v) => (v === undefined ? fallback : ['true', '1', 'yes'].includes(v)));

const url = (protocols: string[]) =>
  z
    .string()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || protocols.some((p) => v.startsWith(`${p}://`)), {
      message: `expected a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}`,
    });

const bucket = z.object({ capacity: z.number().int().min(1).max(100_000_000), restoreRate: z.number().positive().max(10_000_000) }).strict();
const tierOverrides = z.object({ FREE: bucket.partial(), BASIC: bucket.partial(), PREMIUM: bucket.partial(), ENTERPRISE: bucket.partial() }).partial().strict();

/** Cost-point buckets per tier (capacity, points restored per second); EVALGRAPH_RATE_LIMIT_TIERS overrides them. */
export const DEFAULT_TIER_BUCKETS = {
  FREE: { capacity: 5_000, restoreRate: 100 },
  BASIC: { capacity: 10_000, restoreRate: 250 },
  PREMIUM: { capacity: 25_000, restoreRate: 500 },
  ENTERPRISE: { capacity: 100_000, restoreRate: 2_000 },
};

const quota = z
  .object({ requests: z.number().int().min(0).nullable(), evaluations: z.number().int().min(0).nullable(), judgeTokens: z.number().int().min(0).nullable(), judgeCost: z.string().regex(/^\d{1,12}(\.\d{1,10})?$/).nullable() })
  .partial()
  .strict();
const quotaOverrides = z.object({ FREE: quota, BASIC: quota, PREMIUM: quota, ENTERPRISE: quota }).partial().strict();

/** Daily quotas per tier (null: unlimited; judge cost in USD); EVALGRAPH_TIER_QUOTAS overrides them. */
export const DEFAULT_TIER_QUOTAS = {
  FREE: { requests: 50_000, evaluations: 20, judgeTokens: 200_000, judgeCost: '1' },
  BASIC: { requests: 250_000, evaluations: 200, judgeTokens: 2_000_000, judgeCost: '10' },
  PREMIUM: { requests: 1_000_000, evaluations: 2_000, judgeTokens: 20_000_000, judgeCost: '100' },
  ENTERPRISE: { requests: null, evaluations: null, judgeTokens: null, judgeCost: null },
} as const;

type TierName = 'FREE' | 'BASIC' | 'PREMIUM' | 'ENTERPRISE';
type DailyQuotaConfig = { requests: number | null; evaluations: number | null; judgeTokens: number | null; judgeCost: string | null };

/** Each tier's defaults with the configured overrides on top. */
function perTier<T extends object>(defaults: Record<TierName, T>, overrides: Partial<Record<TierName, Partial<T>>>): Record<TierName, T> {
  const tiers = ['FREE', 'BASIC', 'PREMIUM', 'ENTERPRISE'] as const;
  return Object.fromEntries(tiers.map((t) => [t, { ...defaults[t], ...overrides[t] }])) as Record<TierName, T>;
}

const jsonOf = <T extends z.ZodType>(schema: T, example: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx): z.infer<T> | Record<string, never> => {
      if (!v) return {};
      try {
        return schema.parse(JSON.parse(v));
      } catch {
        ctx.addIssue({ code: 'custom', message: `expected JSON such as ${example}` });
        return z.NEVER;
      }
    });

const envSchema = z.object({
  PORT: z.coerce.number({ message: 'expected a port number' }).int().min(0).max(65535).default(4000),
  HOST: z.string().default('127.0.0.1'),
  DATABASE_URL: url(['postgres', 'postgresql']),
  REDIS_URL: url(['redis', 'rediss']),
  REDIS_KEY_PREFIX: z.string().default('evalgraph:'),
  EVALGRAPH_CACHE_REDIS_URL: url(['redis', 'rediss']),
  EVALGRAPH_DATA_DIR: z.string().default('./.evalgraph'),
  LOG_LEVEL: z.enum(LOG_LEVELS, { message: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  EVALGRAPH_PUBLIC_URL: url(['http', 'https']),
  EVALGRAPH_GRAPHIQL: boolean(true),
  EVALGRAPH_MIGRATE_ON_START: boolean(true),
  EVALGRAPH_INIT_ADMIN_EMAIL: z.email({ message: 'expected an email address' }).optional(),
  EVALGRAPH_INIT_PROJECT: z.string().trim().min(1).max(100).optional(),
  EVALGRAPH_INIT_API_KEY: z
    .string()
    .min(32, { message: 'expected at least 32 characters' })
    .max(200)
    .regex(/^[\x21-\x7e]+$/, { message: 'expected printable ASCII without spaces' })
    .optional(),
  EVALGRAPH_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  EVALGRAPH_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(10 * 1024 * 1024),
  EVALGRAPH_MAX_SPAN_TEXT_CHARS: z.coerce.number().int().min(0).max(10_000_000).default(100_000),
  EVALGRAPH_MAX_SPAN_METADATA_BYTES: z.coerce.number().int().min(256).max(1024 * 1024).default(32 * 1024),
  EVALGRAPH_JUDGE_BASE_URL: url(['http', 'https']),
  EVALGRAPH_JUDGE_API_KEY: z.string().min(1).optional(),
  EVALGRAPH_JUDGE_MODEL: z.string().min(1).max(200).default('gpt-4o-mini'),
  EVALGRAPH_EMBEDDING_MODEL: z.string().min(1).max(200).default('text-embedding-3-small'),
  EVALGRAPH_JUDGE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(60_000),
  EVALGRAPH_JUDGE_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
  EVALGRAPH_JUDGE_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(16),
  EVALGRAPH_JUDGE_BREAKER_FAILURES: z.coerce.number().int().min(1).max(1_000).default(5),
  EVALGRAPH_JUDGE_BREAKER_RESET_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  EVALGRAPH_EVAL_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(16),
  EVALGRAPH_EVAL_LEASE_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  EVALGRAPH_EVAL_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  EVALGRAPH_PROGRESS_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  EVALGRAPH_WS_MAX_SUBSCRIPTIONS: z.coerce.number().int().min(1).max(10_000).default(100),
  EVALGRAPH_SUBSCRIPTIONS_PER_KEY: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  EVALGRAPH_WS_INIT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3_000),
  EVALGRAPH_WS_MAX_PAYLOAD_BYTES: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(1024 * 1024),
  EVALGRAPH_RATE_LIMIT: boolean(true),
  EVALGRAPH_RATE_LIMIT_TIERS: jsonOf(tierOverrides, '{"FREE":{"capacity":5000,"restoreRate":100}}'),
  EVALGRAPH_TIER_QUOTAS: jsonOf(quotaOverrides, '{"FREE":{"requests":10000,"judgeCost":"0.50"}}'),
  EVALGRAPH_QUOTA_BURST_PERCENT: z.coerce.number().int().min(0).max(1_000).default(10),
  EVALGRAPH_MAX_DEPTH: z.coerce.number().int().min(2).max(100).default(15),
  EVALGRAPH_MAX_ALIASES: z.coerce.number().int().min(1).max(1_000).default(30),
  EVALGRAPH_MAX_TOKENS: z.coerce.number().int().min(100).max(1_000_000).default(5_000),
  EVALGRAPH_MAX_DIRECTIVES: z.coerce.number().int().min(1).max(1_000).default(50),
  EVALGRAPH_MAX_QUERY_BYTES: z.coerce
    .number({ message: 'expected a number of bytes' })
    .int({ message: 'expected a whole number of bytes' })
    .min(1024, { message: 'expected at least 1024 bytes' })
    .max(100 * 1024 * 1024, { message: 'expected at most 104857600 bytes' })
    .default(64 * 1024),
  EVALGRAPH_ANONYMOUS_RATE_LIMIT: z.coerce
    .number({ message: 'expected requests per second (0: off)' })
    .min(0, { message: 'expected requests per second (0: off)' })
    .max(1_000_000, { message: 'expected at most 1000000 requests per second' })
    .default(20),
  EVALGRAPH_INTROSPECTION: boolean(true),
  PERSISTED_QUERY_ONLY: boolean(false),
  EVALGRAPH_PERSISTED_QUERY_ONLY: boolean(false),
  EVALGRAPH_PERSISTED_OPERATIONS_FILE: z.string().optional(),
  EVALGRAPH_RESPONSE_CACHE: boolean(true),
  EVALGRAPH_RESPONSE_CACHE_TTL_MS: z.coerce.number().int().min(0).max(86_400_000).default(10_000),
  EVALGRAPH_MAX_QUERY_COST: z.coerce.number().int().min(1).max(10_000_000).default(50_000),
  EVALGRAPH_SLO_AVAILABILITY: z.coerce.number().gt(0).lt(1).default(0.999),
  EVALGRAPH_SLO_QUERY_LATENCY_MS: z.coerce.number().int().min(1).max(600_000).default(500),
  EVALGRAPH_SLO_QUERY_LATENCY_TARGET: z.coerce.number().gt(0).lt(1).default(0.95),
  EVALGRAPH_SLO_WEBHOOK_SUCCESS: z.coerce.number().gt(0).lt(1).default(0.99),
  EVALGRAPH_ALERTS_POLL_MS: z.coerce.number().int().min(50).max(3_600_000).default(1_000),
  EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: z.string().optional(),
  EVALGRAPH_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  EVALGRAPH_WEBHOOK_RETRY_SCHEDULE_MS: z
    .string()
    .regex(/^\d+(,\d+){0,19}$/, { message: 'expected up to 20 comma-separated delays in ms, the first attempt first' })
    .default('0,5000,300000,1800000,7200000,18000000,36000000,36000000'),
  EVALGRAPH_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(16),
  EVALGRAPH_WEBHOOK_DISABLE_AFTER_MS: z.coerce.number().int().min(1_000).max(90 * 86_400_000).default(5 * 86_400_000),
});

export type Env = z.input<typeof envSchema>;

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
  const init = { adminEmail: e.EVALGRAPH_INIT_ADMIN_EMAIL, project: e.EVALGRAPH_INIT_PROJECT, apiKey: e.EVALGRAPH_INIT_API_KEY };
  const initCount = Object.values(init).filter(Boolean).length;
  if (initCount > 0 && !init.adminEmail) {
    throw new ConfigError(['EVALGRAPH_INIT_ADMIN_EMAIL: required when EVALGRAPH_INIT_PROJECT or EVALGRAPH_INIT_API_KEY is set']);
  }
  const dataDir = path.resolve(e.EVALGRAPH_DATA_DIR);
  return {
    http: {
      port: e.PORT,
      host: e.HOST,
      publicUrl: e.EVALGRAPH_PUBLIC_URL ?? null,
      graphiql: e.EVALGRAPH_GRAPHIQL,
      maxBodyBytes: e.EVALGRAPH_MAX_BODY_BYTES,
      shutdownTimeoutMs: e.EVALGRAPH_SHUTDOWN_TIMEOUT_MS,
    },
    database: e.DATABASE_URL
      ? { kind: 'postgres' as const, url: e.DATABASE_URL, migrateOnStart: e.EVALGRAPH_MIGRATE_ON_START }
      : { kind: 'pglite' as const, dataDir: path.join(dataDir, 'pgdata'), migrateOnStart: e.EVALGRAPH_MIGRATE_ON_START },
    redis: e.REDIS_URL ? { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX } : null,
    traces: {
      /** Longest span input/output text kept, in characters; longer text is cut and flagged. */
      maxTextChars: e.EVALGRAPH_MAX_SPAN_TEXT_CHARS,
      maxMetadataBytes: e.EVALGRAPH_MAX_SPAN_METADATA_BYTES,
      /** Spans in one ingestSpans call or OTLP request. */
      maxSpansPerBatch: 1000,
    },
    judge: {
      /** An OpenAI-compatible API (OpenAI, Azure, vLLM, Ollama, LiteLLM…); LLM graders need a key. */
      baseUrl: e.EVALGRAPH_JUDGE_BASE_URL ?? 'https://api.openai.com/v1',
      apiKey: e.EVALGRAPH_JUDGE_API_KEY ?? null,
      model: e.EVALGRAPH_JUDGE_MODEL,
      embeddingModel: e.EVALGRAPH_EMBEDDING_MODEL,
      timeoutMs: e.EVALGRAPH_JUDGE_TIMEOUT_MS,
      /** Retries of 408/409/429/5xx and connection errors, with backoff honouring Retry-After (up to 60 s). */
      maxRetries: e.EVALGRAPH_JUDGE_MAX_RETRIES,
      /** Calls in flight to the provider from one process. */
      concurrency: e.EVALGRAPH_JUDGE_CONCURRENCY,
      /** Consecutive failed calls (after retries) that open the circuit, and how long it stays open. */
      breakerFailures: e.EVALGRAPH_JUDGE_BREAKER_FAILURES,
      breakerResetMs: e.EVALGRAPH_JUDGE_BREAKER_RESET_MS,
    },
    evaluations: {
      /** Items graded at once by one worker process. */
      concurrency: e.EVALGRAPH_EVAL_CONCURRENCY,
      /** How long a claimed item is a worker's before another may take it (a killed worker). */
      leaseMs: e.EVALGRAPH_EVAL_LEASE_MS,
      /** Claims of one item before it counts as errored. */
      maxAttempts: e.EVALGRAPH_EVAL_MAX_ATTEMPTS,
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
      /** No single operation may cost more, whatever the bucket. */
      maxQueryCost: e.EVALGRAPH_MAX_QUERY_COST,
      /**
       * Requests without a valid key (none, or a bad one), per client address (the TCP peer): a
       * bucket of a second's worth, refilled at this rate a second. null: off.
       */
      anonymous: e.EVALGRAPH_ANONYMOUS_RATE_LIMIT > 0 ? { capacity: Math.max(1, Math.ceil(e.EVALGRAPH_ANONYMOUS_RATE_LIMIT)), restoreRate: e.EVALGRAPH_ANONYMOUS_RATE_LIMIT } : null,
    },
    slo: {
      /** Share of requests answered without a 5xx or an unexpected error. */
      availability: e.EVALGRAPH_SLO_AVAILABILITY,
      /** Queries faster than this count as good for the latency SLO... */
      queryLatencyMs: e.EVALGRAPH_SLO_QUERY_LATENCY_MS,
      /** ...and this share of them must be (0.95: p95 under queryLatencyMs). */
      queryLatencyTarget: e.EVALGRAPH_SLO_QUERY_LATENCY_TARGET,
      /** Share of webhook delivery attempts answered 2xx. */
      webhookSuccess: e.EVALGRAPH_SLO_WEBHOOK_SUCCESS,
    },
    alerts: {
      /** How often a worker looks for due alert rules (each rule has its own interval). */
      pollMs: e.EVALGRAPH_ALERTS_POLL_MS,
    },
    persisted: {
      /** Non-admin keys may run only trusted documents (the manifest and registered operations). */
      only: e.PERSISTED_QUERY_ONLY || e.EVALGRAPH_PERSISTED_QUERY_ONLY,
      /** Codegen's manifest of trusted documents; '' for none. */
      manifestPath: e.EVALGRAPH_PERSISTED_OPERATIONS_FILE === '' ? null : path.resolve(PROJECT_ROOT, e.EVALGRAPH_PERSISTED_OPERATIONS_FILE ?? DEFAULT_MANIFEST),
    },
    responseCache: {
      enabled: e.EVALGRAPH_RESPONSE_CACHE,
      /** For results whose types set no TTL of their own (costs 30 s, traces 10 s, evaluations 60 s and invalidated on change). */
      defaultTtlMs: e.EVALGRAPH_RESPONSE_CACHE_TTL_MS,
      /** A Redis of its own for cached responses (one that may evict); default: REDIS_URL's. */
      redisUrl: e.EVALGRAPH_CACHE_REDIS_URL ?? e.REDIS_URL ?? null,
    },
    quotas: {
      tiers: perTier<DailyQuotaConfig>(DEFAULT_TIER_QUOTAS, e.EVALGRAPH_TIER_QUOTAS),
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
      /** An endpoint failing every delivery for this long is disabled. */
      disableAfterMs: e.EVALGRAPH_WEBHOOK_DISABLE_AFTER_MS,
    },
    dataDir,
    logLevel: e.LOG_LEVEL,
    init: init.adminEmail ? { adminEmail: init.adminEmail, project: init.project ?? null, apiKey: init.apiKey ?? null } : null,
  };
}

export type Config = ReturnType<typeof parseConfig>;
export type DatabaseConfig = Config['database'];
