// For the rollup tests: seeded random spans as clients send them (new traces, spans added to
// traces, re-sends that update earlier spans), and the exact answers computed in plain SQL over
// `spans` (sums, counts, percentile_cont, per-key latency counts) to hold the rollups against.
import { fromUnits, toUnits } from '../../src/lib/money';
import { normaliseModelName } from '../../src/lib/model-name';
import { compactRollups, MEASURES } from '../../src/modules/analytics/rollup-sql';
import type { Dimension, Interval, SpanAggregateFilter } from '../../src/modules/analytics/query';
import { sketchKeySql, SKETCH_ALPHA, type Sketch } from '../../src/modules/analytics/sketch';
import { isUnpricedSql, needsPriceSql } from '../../src/modules/costs/unpriced';
import type { Sql } from '../../src/storage/db';
import type { SpanJson } from './spans';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** A small seeded PRNG (mulberry32): the same seed gives the same spans. */
export function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return {
    next,
    int,
    chance: (p: number) => next() < p,
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
  };
}
export type Random = ReturnType<typeof random>;

/** The seed of this run: ROLLUP_SEED to repeat one. */
export const runSeed = () =>
  Number(process.env.ROLLUP_SEED ?? Math.floor(Math.random() * 4_294_967_296));

/** Runs `fn`, naming the seed in its failure so that ROLLUP_SEED can repeat the run. */
export function withSeed(seed: number, fn: () => Promise<void>) {
  return async () => {
    try {
      await fn();
    } catch (error) {
      if (error instanceof Error) {
        const note = `[ROLLUP_SEED=${seed} repeats this run] `;
        error.message = note + error.message;
        if (error.stack) error.stack = note + error.stack;
      }
      throw error;
    }
  };
}

/**
 * A kept-alive connection that the server closed while this process was busy (the embedded
 * database runs on its event loop) resets under the next request, which the server never read:
 * such a request is sent again.
 */
export async function resent<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if ((error as { cause?: { code?: string } })?.cause?.code !== 'ECONNRESET') throw error;
    return send();
  }
}

// Spellings that normalise together (lib/model-name.ts), priced by the table, by the default
// price, or by nobody.
export const MODELS = [
  'gpt-4o-mini',
  'GPT-4o-Mini',
  'openai/gpt-4o-mini',
  'gpt-4o-mini-2024-07-18',
  'claude-3-5-sonnet-20241022',
  'Anthropic/Claude-3.5-Sonnet',
  'acme-llm-7',
  'ACME-LLM-7',
];
const PROVIDERS = ['openai', 'anthropic', 'acme'];
const KINDS = ['LLM', 'EMBEDDING', 'CHAIN', 'TOOL', 'RETRIEVER', 'GENERIC', 'AGENT'];
const STATUSES = ['OK', 'OK', 'ERROR', undefined];
export const USERS = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
export const SESSIONS = ['s1', 's2', 's3'];
export const TAGS = ['alpha', 'beta', 'gamma'];

const iso = (t: number) => new Date(t).toISOString();

/** Whole milliseconds from 0 to 2 minutes, log-uniform; 0 now and then. */
function latency(r: Random) {
  if (r.chance(0.05)) return 0;
  return Math.round(Math.exp(r.next() * Math.log(120_000)));
}

function usage(r: Random): Record<string, number> {
  const x = r.next();
  if (x < 0.6) {
    const inputTokens = r.int(0, 5_000);
    return {
      inputTokens,
      outputTokens: r.int(0, 2_000),
      ...(r.chance(0.3) ? { cachedInputTokens: r.int(0, Math.min(500, inputTokens)) } : {}),
    };
  }
  // Only a total: cannot be priced (costs/unpriced.ts).
  if (x < 0.7) return { totalTokens: r.int(1, 3_000) };
  return {};
}

/** A cost as a client sends it: up to 10 decimals, as spans store it. */
const cost = (r: Random) => `0.${String(r.int(0, 9_999_999_999)).padStart(10, '0')}`;

interface Sent {
  traceId: string;
  spanId: string;
  start: number;
}

/**
 * Batches of spans over [from, from + hours): new traces, spans added to traces of earlier batches,
 * and re-sends of spans of earlier batches that change their end time, tokens, status, model, end
 * user or cost, a quarter of them moving the start to another time (another hour or day).
 */
export function spanBatches(
  r: Random,
  options: { prefix: string; from: number; hours: number; spans: number; batchMax: number },
): SpanJson[][] {
  const startAt = () => options.from + Math.floor(r.next() * options.hours * HOUR);
  const earlier: Sent[] = [];
  const traces: string[] = [];
  const batches: SpanJson[][] = [];
  let made = 0;
  let seq = 0;
  const fresh = (traceId: string): SpanJson => {
    seq += 1;
    const start = startAt();
    const model = r.chance(0.7) ? r.pick(MODELS) : undefined;
    const kind = r.chance(0.85)
      ? model
        ? r.pick(['LLM', 'LLM', 'EMBEDDING', 'CHAIN'])
        : r.pick(KINDS)
      : undefined;
    const status = r.pick(STATUSES);
    return {
      traceId,
      spanId: `sp${seq}`,
      name: `step ${seq}`,
      startTime: iso(start),
      ...(r.chance(0.85) ? { endTime: iso(start + latency(r)) } : {}),
      ...(model ? { model } : {}),
      ...(kind ? { kind } : {}),
      ...(status ? { status } : {}),
      ...(status === 'ERROR' && r.chance(0.5) ? { error: 'boom' } : {}),
      ...(r.chance(0.7) ? { provider: r.pick(PROVIDERS) } : {}),
      ...(r.chance(0.8) ? { userId: r.pick(USERS) } : {}),
      ...(r.chance(0.5) ? { sessionId: r.pick(SESSIONS) } : {}),
      ...(r.chance(0.6) ? { tags: TAGS.filter(() => r.chance(0.5)) } : {}),
      ...usage(r),
      ...(r.chance(0.2) ? { totalCost: cost(r) } : {}),
    };
  };
  const resend = (old: Sent): SpanJson => {
    const moved = r.chance(0.25);
    const start = moved ? startAt() : old.start;
    old.start = start;
    const span: SpanJson = {
      traceId: old.traceId,
      spanId: old.spanId,
      name: 'sent again',
      startTime: iso(start),
    };
    // A moved start takes an end time with it (an end before the start is refused).
    if (moved || r.chance(0.6)) span.endTime = iso(start + latency(r));
    if (r.chance(0.4)) Object.assign(span, usage(r));
    if (r.chance(0.3)) span.status = r.pick(['OK', 'ERROR', 'UNSET']);
    if (r.chance(0.25)) span.model = r.pick(MODELS);
    if (r.chance(0.15)) span.userId = r.pick(USERS);
    if (r.chance(0.15)) span.totalCost = cost(r);
    return span;
  };
  while (made < options.spans) {
    const size = r.int(1, options.batchMax);
    const batch: SpanJson[] = [];
    const sent: Sent[] = [];
    for (let i = 0; i < size; i++) {
      const x = r.next();
      if (x < 0.2 && earlier.length > 0) {
        batch.push(resend(r.pick(earlier)));
        continue;
      }
      const traceId =
        x < 0.45 && traces.length > 0
          ? r.pick(traces)
          : `${options.prefix}-t${traces.push(`${options.prefix}-t${traces.length}`) - 1}`;
      const span = fresh(traceId);
      batch.push(span);
      sent.push({ traceId, spanId: span.spanId, start: Date.parse(span.startTime) });
      made += 1;
    }
    earlier.push(...sent);
    batches.push(batch);
  }
  return batches;
}

export interface RawQuery {
  projectIds: string[];
  from: Date;
  to: Date;
  interval: Interval | null;
  groupBy: readonly Dimension[];
  callsOnly: boolean;
  filter?: SpanAggregateFilter | null;
}

/** The measures of a group, as exact strings where they are sums. */
export interface Measures {
  spans: number;
  errors: number;
  inputTokens: string;
  outputTokens: string;
  cachedInputTokens: string;
  totalTokens: string;
  /** Normalised (no trailing zeros); null when nothing was priced. */
  cost: string | null;
  unpriced: number;
  defaultPriced: number;
}

export interface Group extends Measures {
  /** JSON of [time bucket ISO or null, ...dimension values]. */
  key: string;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  sketch?: Sketch;
}

export const money = (x: unknown) => (x === null ? null : fromUnits(toUnits(String(x))));

const DIM_SQL: Record<Dimension, string> = {
  MODEL: 's.normalized_model',
  PROVIDER: 's.provider',
  SPAN_KIND: 's.kind::text',
  STATUS: 's.status::text',
  USER: 's.user_id',
  PROJECT: 's.project_id::text',
};
const UNIT: Record<Interval, string> = { MINUTE: 'minute', HOUR: 'hour', DAY: 'day', WEEK: 'week' };
const isoSql = (ts: string) => `to_char(${ts} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** `key` of a group: its time bucket (ISO) and dimension values, in order. */
export const groupKey = (time: string | null, dims: (string | null)[]) =>
  JSON.stringify([time, ...dims]);

/**
 * The exact answer over `spans`: per group, plain sums and counts, percentile_cont of the
 * latency, and the count of latencies per sketch key (what the rollups' sketch must hold).
 */
export async function rawAggregate(sql: Sql, q: RawQuery): Promise<Group[]> {
  const params: unknown[] = [q.projectIds, q.from, q.to];
  const p = (v: unknown) => `$${params.push(v)}`;
  const f = q.filter ?? {};
  const where = [
    's.project_id = ANY($1::uuid[])',
    's.start_time >= $2::timestamptz',
    's.start_time < $3::timestamptz',
  ];
  if (q.callsOnly) where.push(`(s.total_cost IS NOT NULL OR ${needsPriceSql('s')})`);
  if (f.models?.length)
    where.push(`s.normalized_model = ANY(${p(f.models.map(normaliseModelName))}::text[])`);
  if (f.providers?.length) where.push(`s.provider = ANY(${p(f.providers)}::text[])`);
  if (f.userIds?.length) where.push(`s.user_id = ANY(${p(f.userIds)}::text[])`);
  if (f.spanKinds?.length) where.push(`s.kind::text = ANY(${p(f.spanKinds)}::text[])`);
  if (f.statuses?.length) where.push(`s.status::text = ANY(${p(f.statuses)}::text[])`);
  if (f.sessionIds?.length) where.push(`s.session_id = ANY(${p(f.sessionIds)}::text[])`);
  if (f.tags?.length) where.push(`s.tags @> ${p(f.tags)}::text[]`);
  const time = q.interval
    ? isoSql(`date_trunc('${UNIT[q.interval]}', s.start_time, 'UTC')`)
    : 'NULL::text';
  const dims = q.groupBy.map((d, i) => `${DIM_SQL[d]} AS d${i}`);
  const cols = [`${time} AS t`, ...dims].join(', ');
  const groups = ['t', ...q.groupBy.map((_, i) => `d${i}`)].join(', ');
  const filtered = `SELECT ${cols}, s.* FROM spans s WHERE ${where.join(' AND ')}`;
  const rows = await sql<Record<string, unknown>>(
    `SELECT ${groups}, count(*)::int AS spans,
       count(*) FILTER (WHERE s.status = 'ERROR')::int AS errors,
       sum(s.input_tokens)::text AS input_tokens, sum(s.output_tokens)::text AS output_tokens,
       sum(s.cached_input_tokens)::text AS cached_input_tokens, sum(s.total_tokens)::text AS total_tokens,
       sum(s.total_cost)::text AS cost,
       count(*) FILTER (WHERE ${isUnpricedSql('s')})::int AS unpriced,
       count(*) FILTER (WHERE s.price_source = 'DEFAULT')::int AS default_priced,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY s.latency_ms) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY s.latency_ms) AS p95,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY s.latency_ms) AS p99
     FROM (${filtered}) s GROUP BY ${groups}`,
    params,
  );
  const keys = await sql<Record<string, unknown>>(
    `SELECT ${groups}, ${sketchKeySql('s.latency_ms')} AS k, count(*)::int AS n
     FROM (${filtered}) s WHERE s.latency_ms IS NOT NULL GROUP BY ${groups}, k ORDER BY k`,
    params,
  );
  const keyOf = (row: Record<string, unknown>) =>
    groupKey(
      (row.t as string | null) ?? null,
      q.groupBy.map((_, i) => (row[`d${i}`] as string | null) ?? null),
    );
  const sketches = new Map<string, Sketch>();
  for (const row of keys) {
    const key = keyOf(row);
    const s = sketches.get(key) ?? { keys: [], counts: [] };
    s.keys.push(Number(row.k));
    s.counts.push(Number(row.n));
    sketches.set(key, s);
  }
  const num = (x: unknown) => (x === null ? null : Number(x));
  return rows
    .map((row) => ({
      key: keyOf(row),
      spans: row.spans as number,
      errors: row.errors as number,
      inputTokens: String(row.input_tokens),
      outputTokens: String(row.output_tokens),
      cachedInputTokens: String(row.cached_input_tokens),
      totalTokens: String(row.total_tokens),
      cost: money(row.cost),
      unpriced: row.unpriced as number,
      defaultPriced: row.default_priced as number,
      p50: num(row.p50),
      p95: num(row.p95),
      p99: num(row.p99),
      sketch: sketches.get(keyOf(row)) ?? { keys: [], counts: [] },
    }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

const measures = ({ p50, p95, p99, sketch, ...rest }: Group) => rest;

/**
 * Sums and counts equal, group for group; each quantile within SKETCH_ALPHA of percentile_cont;
 * with `sketch`, the sketches equal the exact count of latencies per key.
 */
export function expectSameGroups(got: Group[], want: Group[], label: string, sketch = false) {
  const sorted = [...got].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  expect({ label, groups: sorted.map(measures) }).toEqual({ label, groups: want.map(measures) });
  if (sketch)
    expect({ label, sketches: sorted.map((g) => [g.key, g.sketch]) }).toEqual({
      label,
      sketches: want.map((g) => [g.key, g.sketch]),
    });
  const off: string[] = [];
  for (let i = 0; i < want.length; i++)
    for (const q of ['p50', 'p95', 'p99'] as const) {
      const exact = want[i][q];
      const approx = sorted[i][q];
      const within =
        exact === null
          ? approx === null
          : approx !== null && Math.abs(approx - exact) <= SKETCH_ALPHA * Math.abs(exact) + 1e-9;
      if (!within) off.push(`${want[i].key} ${q}: ${approx} vs exact ${exact}`);
    }
  expect({ label, off }).toEqual({ label, off: [] });
}

/** Merges partial rollup rows until no bucket has any; returns the rows removed and written. */
export async function compactToQuiet(sql: Sql) {
  let removed = 0;
  let written = 0;
  for (;;) {
    const pass = await compactRollups(sql, 500);
    removed += pass.removed;
    written += pass.written;
    if (pass.removed === 0) {
      const [left] = await sql<{ n: number }>(
        'SELECT count(*)::int AS n FROM span_rollups WHERE NOT compacted',
      );
      if (left.n === 0) return { removed, written };
    }
  }
}

// The dimensions of a stored rollup row, computed from spans aliased s.
const ROW_FROM_SPANS = (unit: string, byUser: boolean) => [
  `s.project_id::text`,
  isoSql(`date_trunc('${unit}', s.start_time, 'UTC')`),
  `(s.total_cost IS NOT NULL OR ${needsPriceSql('s')})`,
  ...(byUser
    ? ['NULL::text', 'NULL::text', 'NULL::text', 'NULL::text', 's.user_id']
    : ['s.normalized_model', 's.provider', 's.kind::text', 's.status::text', 'NULL::text']),
];
const ROW_FROM_ROLLUPS = [
  'r.project_id::text',
  isoSql('r.bucket'),
  'r.is_call',
  'r.model',
  'r.provider',
  'r.kind::text',
  'r.status::text',
  'r.user_id',
];

/**
 * Every grain (hour, day), without the end user and by the end user alone: the rows of span_rollups summed per
 * stored dimension equal the spans grouped the same way, measure for measure, and the sketch
 * counts per latency key equal the spans' latencies counted per key. Groups whose rows sum to
 * nothing at all (a span that moved away) must be all zeros.
 */
export async function expectRollupsExact(sql: Sql) {
  for (const [grain, unit] of [
    ['HOUR', 'hour'],
    ['DAY', 'day'],
  ])
    for (const byUser of [false, true]) {
      const spanDims = ROW_FROM_SPANS(unit, byUser);
      const g = spanDims.map((_, i) => i + 1).join(', ');
      const raw = await sql<{ j: string }>(
        asJson(
          [
            ...spanDims,
            'count(*)',
            `count(*) FILTER (WHERE s.status = 'ERROR')`,
            'sum(s.input_tokens)::text',
            'sum(s.output_tokens)::text',
            'sum(s.cached_input_tokens)::text',
            'sum(s.total_tokens)::text',
            'COALESCE(sum(s.total_cost), 0)::text',
            'count(s.total_cost)',
            `count(*) FILTER (WHERE ${isUnpricedSql('s')})`,
            `count(*) FILTER (WHERE s.price_source = 'DEFAULT')`,
          ],
          `FROM spans s GROUP BY ${g}`,
        ),
      );
      const sums = MEASURES.map((m) => `sum(r.${m})`);
      const rolled = await sql<{ j: string }>(
        asJson(
          [...ROW_FROM_ROLLUPS, ...sums.map((m) => `${m}::text`)],
          `FROM span_rollups r WHERE r.grain = '${grain}' AND r.by_user = ${byUser}
           GROUP BY ${g} HAVING ${sums.map((m) => `${m} <> 0`).join(' OR ')}`,
        ),
      );
      // Numbers may print differently between drivers: compared as strings, the cost normalised.
      const norm = (rows: { j: string }[]) =>
        rows
          .map(({ j }) => {
            const a = JSON.parse(j) as unknown[];
            return JSON.stringify(
              a.map((v, i) => (i === 14 ? money(v) : typeof v === 'number' ? String(v) : v)),
            );
          })
          .sort();
      expect({ grain, byUser, rows: diff(norm(rolled), norm(raw)) }).toEqual({
        grain,
        byUser,
        rows: { missing: [], extra: [] },
      });
      const rawKeys = await sql<{ j: string }>(
        asJson(
          [...spanDims, sketchKeySql('s.latency_ms'), 'count(*)'],
          `FROM spans s WHERE s.latency_ms IS NOT NULL GROUP BY ${g}, ${spanDims.length + 1}`,
        ),
      );
      const rolledKeys = await sql<{ j: string }>(
        asJson(
          [...ROW_FROM_ROLLUPS, 'u.k', 'sum(u.n)'],
          `FROM span_rollups r CROSS JOIN LATERAL unnest(r.latency_keys, r.latency_counts) AS u(k, n)
           WHERE r.grain = '${grain}' AND r.by_user = ${byUser}
           GROUP BY ${g}, ${spanDims.length + 1} HAVING sum(u.n) <> 0`,
        ),
      );
      const normKeys = (rows: { j: string }[]) =>
        rows.map(({ j }) => JSON.stringify((JSON.parse(j) as unknown[]).map(String))).sort();
      expect({ grain, byUser, sketch: diff(normKeys(rolledKeys), normKeys(rawKeys)) }).toEqual({
        grain,
        byUser,
        sketch: { missing: [], extra: [] },
      });
    }
}

/** SELECT of `columns` (their values as one JSON array per row, in column `j`) `rest`. */
const asJson = (columns: string[], rest: string) =>
  `SELECT json_build_array(${columns.map((_, i) => `c${i}`).join(', ')})::text AS j
   FROM (SELECT ${columns.map((c, i) => `${c} AS c${i}`).join(', ')} ${rest}) x`;

/** What `got` lacks of `want` and has beyond it (the first 10 of each). */
function diff(got: string[], want: string[]) {
  const g = new Set(got);
  const w = new Set(want);
  return {
    missing: want.filter((x) => !g.has(x)).slice(0, 10),
    extra: got.filter((x) => !w.has(x)).slice(0, 10),
  };
}

export const SUMMARY = `query($p: ID, $from: DateTime!, $to: DateTime!, $g: [CostGroupBy!], $f: CostFilter) {
  costSummary(projectId: $p, from: $from, to: $to, groupBy: $g, filter: $f) {
    keys { model userId projectId day hour spanKind }
    inputTokens outputTokens cachedInputTokens totalTokens cost calls unpricedCalls defaultPricedCalls
    errorRate p50LatencyMs p95LatencyMs p99LatencyMs
  }
}`;

const projectOf = (gid: string | null) =>
  gid === null ? null : Buffer.from(gid, 'base64').toString().split(':').slice(1).join(':');

/** costSummary rows (SUMMARY) as groups keyed like rawAggregate's. */
// Rows of a GraphQL answer: any, as app.gql answers.
export function costGroups(rows: any[], groupBy: readonly string[]): Group[] {
  return rows.map((row) => ({
    key: groupKey(
      row.keys.hour
        ? new Date(row.keys.hour).toISOString()
        : row.keys.day
          ? `${row.keys.day}T00:00:00.000Z`
          : null,
      groupBy.flatMap((g) =>
        g === 'MODEL'
          ? [row.keys.model]
          : g === 'USER'
            ? [row.keys.userId]
            : g === 'PROJECT'
              ? [projectOf(row.keys.projectId)]
              : g === 'SPAN_KIND'
                ? [row.keys.spanKind]
                : [],
      ),
    ),
    spans: row.calls,
    errors: Math.round(row.errorRate * row.calls),
    inputTokens: String(row.inputTokens),
    outputTokens: String(row.outputTokens),
    cachedInputTokens: String(row.cachedInputTokens),
    totalTokens: String(row.totalTokens),
    cost: money(row.cost),
    unpriced: row.unpricedCalls,
    defaultPriced: row.defaultPricedCalls,
    p50: row.p50LatencyMs,
    p95: row.p95LatencyMs,
    p99: row.p99LatencyMs,
  }));
}
