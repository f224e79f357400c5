// The environment variables the server reads: their zod types, bounds, defaults and messages,
// and the per-tier defaults that EVALGRAPH_RATE_LIMIT_TIERS and EVALGRAPH_TIER_QUOTAS override.
// Apart from config.ts, which turns the parsed variables into the nested Config the code uses.
import { z } from 'zod';
import { parseCidr } from './lib/client-address';

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

/** `host:port,host:port` as a list (REDIS_CLUSTER_NODES, REDIS_SENTINELS). */
const hostPorts = z
  .string()
  .optional()
  .transform((v) =>
    v
      ?.split(',')
      .map((n) => n.trim())
      .filter(Boolean),
  )
  .refine(
    (nodes) =>
      nodes === undefined || (nodes.length > 0 && nodes.every((n) => /^[^\s:/]+:\d{1,5}$/.test(n))),
    { message: 'expected host:port[,host:port…]' },
  )
  .transform((nodes) =>
    nodes?.map((n) => ({
      host: n.slice(0, n.lastIndexOf(':')),
      port: Number(n.slice(n.lastIndexOf(':') + 1)),
    })),
  );

const bucket = z
  .object({
    capacity: z.number().int().min(1).max(100_000_000),
    restoreRate: z.number().positive().max(10_000_000),
  })
  .strict();
const tierOverrides = z
  .object({
    FREE: bucket.partial(),
    BASIC: bucket.partial(),
    PREMIUM: bucket.partial(),
    ENTERPRISE: bucket.partial(),
  })
  .partial()
  .strict();

/** Cost-point buckets per tier (capacity, points restored per second); EVALGRAPH_RATE_LIMIT_TIERS overrides them. */
export const DEFAULT_TIER_BUCKETS = {
  FREE: { capacity: 5_000, restoreRate: 100 },
  BASIC: { capacity: 10_000, restoreRate: 250 },
  PREMIUM: { capacity: 25_000, restoreRate: 500 },
  ENTERPRISE: { capacity: 100_000, restoreRate: 2_000 },
};

const quota = z
  .object({
    requests: z.number().int().min(0).nullable(),
    evaluations: z.number().int().min(0).nullable(),
    judgeTokens: z.number().int().min(0).nullable(),
    judgeCost: z
      .string()
      .regex(/^\d{1,12}(\.\d{1,10})?$/)
      .nullable(),
  })
  .partial()
  .strict();
const quotaOverrides = z
  .object({ FREE: quota, BASIC: quota, PREMIUM: quota, ENTERPRISE: quota })
  .partial()
  .strict();

/** Daily quotas per tier (null: unlimited; judge cost in USD); EVALGRAPH_TIER_QUOTAS overrides them. */
export const DEFAULT_TIER_QUOTAS = {
  FREE: { requests: 50_000, evaluations: 20, judgeTokens: 200_000, judgeCost: '1' },
  BASIC: { requests: 250_000, evaluations: 200, judgeTokens: 2_000_000, judgeCost: '10' },
  PREMIUM: { requests: 1_000_000, evaluations: 2_000, judgeTokens: 20_000_000, judgeCost: '100' },
  ENTERPRISE: { requests: null, evaluations: null, judgeTokens: null, judgeCost: null },
} as const;

/** Limits for the whole instance, every user together (EVALGRAPH_GLOBAL_LIMITS); each key optional. */
const globalLimits = z
  .object({
    concurrent: z.number().int().min(1).max(1_000_000),
    requestsPerHour: z.number().int().min(1).max(1_000_000_000),
    judgeCostPerDayUsd: z.number().min(0).max(1_000_000_000),
    /** How long a request's concurrency slot lives without its process renewing it (a crash). */
    leaseSeconds: z.number().int().min(1).max(3_600),
  })
  .partial()
  .strict();

const window = z
  .object({
    perMinute: z.number().int().min(0).nullable(),
    burst: z.number().int().min(0).nullable(),
  })
  .partial()
  .strict();
const costWindow = z
  .object({
    perMinute: z
      .string()
      .regex(/^\d{1,12}(\.\d{1,10})?$/)
      .nullable(),
    burst: z
      .string()
      .regex(/^\d{1,12}(\.\d{1,10})?$/)
      .nullable(),
  })
  .partial()
  .strict();
const minuteQuota = z
  .object({ evaluations: window, judgeTokens: window, judgeCost: costWindow })
  .partial()
  .strict();
const minuteOverrides = z
  .object({ FREE: minuteQuota, BASIC: minuteQuota, PREMIUM: minuteQuota, ENTERPRISE: minuteQuota })
  .partial()
  .strict();

const OFF = { perMinute: null, burst: null };
/**
 * Per-minute quotas per tier (UTC minute windows): `perMinute` is the rate a tier is sized for,
 * `burst` the most one minute may reach before it is refused (null: unlimited; judge cost in USD);
 * EVALGRAPH_TIER_MINUTE_QUOTAS overrides them, per tier and per field.
 */
export const DEFAULT_TIER_MINUTE_QUOTAS = {
  FREE: {
    evaluations: { perMinute: 5, burst: 10 },
    judgeTokens: { perMinute: 20_000, burst: 40_000 },
    judgeCost: { perMinute: '0.10', burst: '0.20' },
  },
  BASIC: {
    evaluations: { perMinute: 20, burst: 40 },
    judgeTokens: { perMinute: 200_000, burst: 400_000 },
    judgeCost: { perMinute: '1', burst: '2' },
  },
  PREMIUM: {
    evaluations: { perMinute: 100, burst: 200 },
    judgeTokens: { perMinute: 2_000_000, burst: 4_000_000 },
    judgeCost: { perMinute: '10', burst: '20' },
  },
  ENTERPRISE: { evaluations: OFF, judgeTokens: OFF, judgeCost: OFF },
};

const roleCeiling = z
  .object({
    perMinute: z.number().int().min(1).max(100_000_000),
    burst: z.number().int().min(1).max(100_000_000),
  })
  .partial()
  .strict();
const roleOverrides = z
  .object({
    ADMIN: roleCeiling,
    DEVELOPER: roleCeiling,
    VIEWER: roleCeiling,
    BILLING: roleCeiling,
    FEEDBACK: roleCeiling,
  })
  .partial()
  .strict();

/**
 * Requests per minute and burst per key role, on top of the user's tier bucket (a key without a
 * role counts as ADMIN); EVALGRAPH_RATE_LIMIT_ROLES overrides them. FEEDBACK keys ship in web
 * apps and share their project's allowance: VIEWER's.
 */
export const DEFAULT_ROLE_LIMITS = {
  ADMIN: { perMinute: 100_000, burst: 120_000 },
  DEVELOPER: { perMinute: 10_000, burst: 12_000 },
  VIEWER: { perMinute: 1_000, burst: 1_200 },
  BILLING: { perMinute: 1_000, burst: 1_200 },
  FEEDBACK: { perMinute: 1_000, burst: 1_200 },
};

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

// USD per 1M tokens as a JSON number: plain decimals only (no exponent), at most 12 decimals.
const pricePer1M = z
  .number()
  .min(0)
  .max(999_999)
  .refine((n) => /^\d+(\.\d{1,12})?$/.test(String(n)), { message: 'at most 12 decimals' });
const defaultModelPrice = z
  .object({
    inputPer1M: pricePer1M,
    outputPer1M: pricePer1M,
    cachedInputPer1M: pricePer1M.optional(),
  })
  .strict();

export const envSchema = z.object({
  PORT: z.coerce
    .number({ message: 'expected a port number' })
    .int()
    .min(0)
    .max(65535)
    .default(4000),
  HOST: z.string().default('127.0.0.1'),
  /** `serve --role worker` answers its probes and /metrics on this port (unset: no HTTP at all). */
  EVALGRAPH_WORKER_PORT: z.coerce
    .number({ message: 'expected a port number' })
    .int()
    .min(0)
    .max(65535)
    .optional(),
  DATABASE_URL: url(['postgres', 'postgresql']),
  REDIS_URL: url(['redis', 'rediss']),
  /** A Redis Cluster instead of REDIS_URL: some of its nodes, `host:port,host:port` (the rest are discovered). */
  REDIS_CLUSTER_NODES: hostPorts,
  /** Redis found through Sentinel instead of REDIS_URL: the sentinels, `host:port,host:port`… */
  REDIS_SENTINELS: hostPorts,
  /** …and the name they know the master by. */
  REDIS_SENTINEL_MASTER: z.string().default('mymaster'),
  REDIS_KEY_PREFIX: z.string().default('evalgraph:'),
  EVALGRAPH_CACHE_REDIS_URL: url(['redis', 'rediss']),
  EVALGRAPH_DATA_DIR: z.string().default('./.evalgraph'),
  LOG_LEVEL: z
    .enum(LOG_LEVELS, { message: `expected one of ${LOG_LEVELS.join(', ')}` })
    .default('info'),
  EVALGRAPH_PUBLIC_URL: url(['http', 'https']),
  EVALGRAPH_GRAPHIQL: boolean(true),
  EVALGRAPH_CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .refine((list) => list.every((o) => o === '*' || /^https?:\/\/[^/\s]+$/.test(o)), {
      message:
        'expected origins like https://app.example.com (scheme, host, port; no path), comma-separated, or *',
    }),
  EVALGRAPH_TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((v, ctx) =>
      v
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean)
        .map((c) => {
          const cidr = parseCidr(c);
          if (!cidr)
            ctx.addIssue({
              code: 'custom',
              message: `expected IPv4/IPv6 CIDRs or addresses, comma-separated; "${c}" is neither`,
            });
          return cidr ?? c;
        }),
    ),
  EVALGRAPH_MIGRATE_ON_START: boolean(true),
  EVALGRAPH_DB_PROBE_AFTER_MS: z.coerce.number().int().min(100).max(3_600_000).default(3_000),
  EVALGRAPH_INIT_ADMIN_EMAIL: z.email({ message: 'expected an email address' }).optional(),
  EVALGRAPH_INIT_PROJECT: z.string().trim().min(1).max(100).optional(),
  EVALGRAPH_INIT_API_KEY: z
    .string()
    .min(32, { message: 'expected at least 32 characters' })
    .max(200)
    .regex(/^[\x21-\x7e]+$/, { message: 'expected printable ASCII without spaces' })
    .optional(),
  EVALGRAPH_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  EVALGRAPH_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .default(10 * 1024 * 1024),
  EVALGRAPH_EXPORT_BYTES_PER_SECOND: z.coerce
    .number({ message: 'expected bytes per second (0: unpaced)' })
    .int({ message: 'expected a whole number of bytes per second' })
    .min(0, { message: 'expected bytes per second (0: unpaced)' })
    .max(10 * 1024 * 1024 * 1024, { message: 'expected at most 10737418240 bytes per second' })
    .default(10 * 1024 * 1024),
  EVALGRAPH_MAX_SPAN_TEXT_CHARS: z.coerce.number().int().min(0).max(10_000_000).default(100_000),
  EVALGRAPH_MAX_SPAN_METADATA_BYTES: z.coerce
    .number()
    .int()
    .min(256)
    .max(1024 * 1024)
    .default(32 * 1024),
  /** JSON, read by config-judges.ts (its problems name each field). */
  EVALGRAPH_JUDGE_PROVIDERS: z.string().optional(),
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
  EVALGRAPH_ONLINE_EVAL_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(8),
  EVALGRAPH_ONLINE_EVAL_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(500),
  EVALGRAPH_PROGRESS_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  EVALGRAPH_WS_MAX_SUBSCRIPTIONS: z.coerce.number().int().min(1).max(10_000).default(100),
  EVALGRAPH_SUBSCRIPTIONS_PER_KEY: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  EVALGRAPH_WS_INIT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3_000),
  EVALGRAPH_WS_MAX_PAYLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .default(1024 * 1024),
  EVALGRAPH_RATE_LIMIT: boolean(true),
  EVALGRAPH_RATE_LIMIT_TIERS: jsonOf(tierOverrides, '{"FREE":{"capacity":5000,"restoreRate":100}}'),
  EVALGRAPH_TIER_QUOTAS: jsonOf(quotaOverrides, '{"FREE":{"requests":10000,"judgeCost":"0.50"}}'),
  EVALGRAPH_GLOBAL_LIMITS: jsonOf(
    globalLimits,
    '{"concurrent":100,"requestsPerHour":1000,"judgeCostPerDayUsd":100}',
  ),
  EVALGRAPH_DEFAULT_MODEL_PRICE: jsonOf(
    defaultModelPrice,
    '{"inputPer1M":1.0,"outputPer1M":2.0} (USD per 1M tokens; cachedInputPer1M optional)',
  ),
  EVALGRAPH_TIER_MINUTE_QUOTAS: jsonOf(
    minuteOverrides,
    '{"FREE":{"evaluations":{"perMinute":5,"burst":10},"judgeCost":{"perMinute":"0.10","burst":"0.20"}}}',
  ),
  EVALGRAPH_RATE_LIMIT_ROLES: jsonOf(roleOverrides, '{"VIEWER":{"perMinute":1000,"burst":1200}}'),
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
  EVALGRAPH_SLO_ERROR_RATE: z.coerce.number().gt(0).lt(1).default(0.001),
  EVALGRAPH_SLO_QUERY_P95_MS: z.coerce.number().int().min(1).max(600_000).default(2_000),
  EVALGRAPH_SLO_QUERY_P99_MS: z.coerce.number().int().min(1).max(600_000).default(5_000),
  EVALGRAPH_SLO_WEBHOOK_SUCCESS: z.coerce.number().gt(0).lt(1).default(0.99),
  EVALGRAPH_ALERTS_POLL_MS: z.coerce.number().int().min(50).max(3_600_000).default(1_000),
  EVALGRAPH_ROLLUPS: boolean(true),
  EVALGRAPH_ROLLUP_COMPACT_MS: z.coerce.number().int().min(50).max(3_600_000).default(5_000),
  EVALGRAPH_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(365),
  EVALGRAPH_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).optional(),
  EVALGRAPH_RETENTION_MS: z.coerce.number().int().min(50).max(86_400_000).default(60_000),
  EVALGRAPH_DATA_JOB_POLL_MS: z.coerce.number().int().min(50).max(3_600_000).default(5_000),
  EVALGRAPH_DELETE_INLINE_MS: z.coerce.number().int().min(0).max(60_000).default(3_000),
  EVALGRAPH_TEXT_INDEX_MS: z.coerce.number().int().min(50).max(3_600_000).default(1_000),
  EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: z.string().optional(),
  EVALGRAPH_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  EVALGRAPH_WEBHOOK_RETRY_SCHEDULE_MS: z
    .string()
    .regex(/^\d+(,\d+){0,19}$/, {
      message: 'expected up to 20 comma-separated delays in ms, the first attempt first',
    })
    .default('0,5000,300000,1800000,7200000,18000000,36000000,36000000'),
  EVALGRAPH_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(16),
  EVALGRAPH_WEBHOOK_ENDPOINT_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(4),
  EVALGRAPH_WEBHOOK_DISABLE_AFTER_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .max(90 * 86_400_000)
    .default(5 * 86_400_000),
  EVALGRAPH_SMTP_URL: url(['smtp', 'smtps']),
  EVALGRAPH_SMTP_FROM: z.string().trim().min(3).max(300).optional(),
});

export type Env = z.input<typeof envSchema>;
