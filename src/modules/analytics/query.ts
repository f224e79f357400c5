// The one aggregation of spans that analytics answers with (costSummary, metrics, alert rules):
// sums and a latency sketch per time bucket and dimension over [from, to). Whole days come from the
// day rollups, whole hours around them from the hour rollups, and the ragged edges (less than an
// hour at each end) from the spans themselves; each part is a disjoint time range and each grain
// holds every span, so the sum is exact. Filters the rollups do not carry (sessions, tags; the
// end user beside another dimension) and minute buckets read the spans for the whole range; so does everything when rollups are off
// (EVALGRAPH_ROLLUPS=false: ingest does not maintain them).
import type { Sql } from '../../storage/db';
import { normaliseModelName } from '../../lib/model-name';
import {
  type Dim,
  groupedPart,
  isCallSql,
  type Part,
  readMerged,
  rollupPart,
  SPAN_ROLLUPS,
  spanPart,
} from './rollup-sql';
import { fromUnits, toUnits } from '../../lib/money';
import { mergeSketches, type Sketch } from './sketch';

export type Dimension = 'MODEL' | 'PROVIDER' | 'SPAN_KIND' | 'STATUS' | 'USER' | 'PROJECT';
export type Interval = 'MINUTE' | 'HOUR' | 'DAY' | 'WEEK';

export interface SpanAggregateFilter {
  /** Compared normalised (lib/model-name.ts). */
  models?: string[] | null;
  providers?: string[] | null;
  userIds?: string[] | null;
  spanKinds?: string[] | null;
  statuses?: string[] | null;
  /** Not in the rollups: a filter on them reads the spans. */
  sessionIds?: string[] | null;
  tags?: string[] | null;
}

export interface SpanAggregateQuery {
  projectIds: string[];
  from: Date;
  to: Date;
  /** Buckets of time (UTC) to group by; none for the whole range. */
  interval?: Interval | null;
  groupBy: readonly Dimension[];
  filter?: SpanAggregateFilter | null;
  /** Model calls only (costs/unpriced.ts), as costSummary counts; else every span. */
  callsOnly: boolean;
  /** Whether latency quantiles are wanted (the sketch costs a pass over its buckets). */
  sketch: boolean;
  /** Refuse to return more rows than this. */
  maxRows: number;
  /** config.rollups.enabled: false, span_rollups are not maintained and spans answer the whole range. */
  rollups: boolean;
}

export interface SpanAggregateRow {
  /** Start of the row's bucket of time; null without an interval. */
  time: Date | null;
  keys: Partial<Record<Dimension, string | null>>;
  spans: number;
  errors: number;
  inputTokens: bigint;
  outputTokens: bigint;
  cachedInputTokens: bigint;
  totalTokens: bigint;
  /** USD of the priced spans; null when none was priced. */
  cost: string | null;
  /** Spans with a cost (the samples of a cost average). */
  priced: number;
  unpriced: number;
  defaultPriced: number;
  latency: Sketch;
}

/**
 * Rows of one group summed, as aggregateSpans would have answered them together (exact: counts
 * and decimal cost add, sketches merge by adding counts); `time` of the first.
 */
export function sumRows(rows: readonly SpanAggregateRow[]): SpanAggregateRow {
  const count = (f: (r: SpanAggregateRow) => number) => rows.reduce((n, r) => n + f(r), 0);
  const big = (f: (r: SpanAggregateRow) => bigint) => rows.reduce((n, r) => n + f(r), 0n);
  const priced = count((r) => r.priced);
  return {
    time: rows[0]?.time ?? null,
    keys: rows[0]?.keys ?? {},
    spans: count((r) => r.spans),
    errors: count((r) => r.errors),
    inputTokens: big((r) => r.inputTokens),
    outputTokens: big((r) => r.outputTokens),
    cachedInputTokens: big((r) => r.cachedInputTokens),
    totalTokens: big((r) => r.totalTokens),
    cost: priced > 0 ? fromUnits(big((r) => (r.cost === null ? 0n : toUnits(r.cost)))) : null,
    priced,
    unpriced: count((r) => r.unpriced),
    defaultPriced: count((r) => r.defaultPriced),
    latency: mergeSketches(rows.map((r) => r.latency)),
  };
}

export class TooManyRowsError extends Error {
  constructor(public readonly limit: number) {
    super(`more than ${limit} rows`);
  }
}

const ROLLUP_KEY: Record<Dimension, string> = {
  MODEL: 'r.model',
  PROVIDER: 'r.provider',
  SPAN_KIND: 'r.kind::text',
  STATUS: 'r.status::text',
  USER: 'r.user_id',
  PROJECT: 'r.project_id::text',
};
const SPAN_KEY: Record<Dimension, string> = {
  MODEL: 's.normalized_model',
  PROVIDER: 's.provider',
  SPAN_KIND: 's.kind::text',
  STATUS: 's.status::text',
  USER: 's.user_id',
  PROJECT: 's.project_id::text',
};
const UNIT: Record<Interval, string> = { MINUTE: 'minute', HOUR: 'hour', DAY: 'day', WEEK: 'week' };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ceilTo = (t: number, step: number) => Math.ceil(t / step) * step;
const floorTo = (t: number, step: number) => Math.floor(t / step) * step;

/** The time ranges of a query by what answers them: spans, hour rows, day rows. */
export function segments(from: Date, to: Date, interval: Interval | null | undefined) {
  const f = from.getTime();
  const t = to.getTime();
  const h1 = ceilTo(f, HOUR);
  const h2 = floorTo(t, HOUR);
  if (interval === 'MINUTE' || h1 >= h2) return { raw: [[f, t]], hours: [], days: [] };
  const raw = [
    [f, h1],
    [h2, t],
  ].filter(([a, b]) => a < b);
  const d1 = ceilTo(h1, DAY);
  const d2 = floorTo(h2, DAY);
  if (interval === 'HOUR' || d1 >= d2) return { raw, hours: [[h1, h2]], days: [] };
  const hours = [
    [h1, d1],
    [d2, h2],
  ].filter(([a, b]) => a < b);
  return { raw, hours, days: [[d1, d2]] };
}

/**
 * The time conditions of a query's parts, with `param` adding their bounds: `raw(column)` over the
 * rows themselves, `rollup` over a rollup table aliased `r` (its hour and day rows in range).
 */
export function partRanges(parts: ReturnType<typeof segments>, param: (value: unknown) => string) {
  const range = (column: string, ranges: number[][]) =>
    `(${ranges
      .map(
        ([a, b]) =>
          `(${column} >= ${param(new Date(a))}::timestamptz AND ${column} < ${param(new Date(b))}::timestamptz)`,
      )
      .join(' OR ')})`;
  const grains = [
    ...(parts.hours.length ? [`(r.grain = 'HOUR' AND ${range('r.bucket', parts.hours)})`] : []),
    ...(parts.days.length ? [`(r.grain = 'DAY' AND ${range('r.bucket', parts.days)})`] : []),
  ];
  return {
    raw: (column: string) => range(column, parts.raw),
    rollup: grains.length ? `(${grains.join(' OR ')})` : null,
  };
}

export async function aggregateSpans(sql: Sql, q: SpanAggregateQuery): Promise<SpanAggregateRow[]> {
  const params: unknown[] = [q.projectIds];
  const param = (value: unknown) => `$${params.push(value)}`;
  const f = q.filter ?? {};
  const byUser = q.groupBy.includes('USER') || Boolean(f.userIds?.length);
  // The rows by end user carry no other dimension (rollup-sql.ts CROSSED).
  const besideUser =
    q.groupBy.some((g) => g !== 'USER' && g !== 'PROJECT') ||
    Boolean(f.models?.length || f.providers?.length || f.spanKinds?.length || f.statuses?.length);
  const rawOnly =
    !q.rollups || Boolean(f.sessionIds?.length || f.tags?.length) || (byUser && besideUser);
  const parts = rawOnly
    ? { raw: [[q.from.getTime(), q.to.getTime()]], hours: [], days: [] }
    : segments(q.from, q.to, q.interval);
  const ranges = partRanges(parts, param);
  const conditions = (alias: 's' | 'r') => {
    const col = (d: Dimension) => (alias === 's' ? SPAN_KEY : ROLLUP_KEY)[d];
    const where: string[] = [];
    if (q.callsOnly) where.push(alias === 's' ? isCallSql('s') : 'r.is_call');
    if (f.models?.length)
      where.push(`${col('MODEL')} = ANY(${param(f.models.map(normaliseModelName))}::text[])`);
    if (f.providers?.length) where.push(`${col('PROVIDER')} = ANY(${param(f.providers)}::text[])`);
    if (f.userIds?.length) where.push(`${col('USER')} = ANY(${param(f.userIds)}::text[])`);
    if (f.spanKinds?.length) where.push(`${col('SPAN_KIND')} = ANY(${param(f.spanKinds)}::text[])`);
    if (f.statuses?.length) where.push(`${col('STATUS')} = ANY(${param(f.statuses)}::text[])`);
    return where;
  };

  const groupBy = [...new Set(q.groupBy)];
  const names = groupBy.map((_, i) => `k${i}`);
  const dimsOf = (alias: 's' | 'r', time: string): Dim[] => [
    ...(q.interval ? [[`date_trunc('${UNIT[q.interval]}', ${time}, 'UTC')`, 't'] as const] : []),
    ...groupBy.map((g, i) => [(alias === 's' ? SPAN_KEY : ROLLUP_KEY)[g], names[i]] as const),
  ];
  const dimNames = [...(q.interval ? ['t'] : []), ...names];

  const sources: Part[] = [];
  const ctes: string[] = [];
  if (parts.raw.length) {
    const where = ['s.project_id = ANY($1::uuid[])', ranges.raw('s.start_time')];
    where.push(...conditions('s'));
    if (f.sessionIds?.length) where.push(`s.session_id = ANY(${param(f.sessionIds)}::text[])`);
    if (f.tags?.length) where.push(`s.tags @> ${param(f.tags)}::text[]`);
    ctes.push(
      `raw AS (${spanPart('spans s', dimsOf('s', 's.start_time'), where.join(' AND '), 1, q.sketch)})`,
    );
    sources.push(groupedPart(dimNames, 'raw'));
  }
  if (ranges.rollup) {
    const where = [
      'r.project_id = ANY($1::uuid[])',
      `r.by_user = ${byUser}`,
      ranges.rollup,
      ...conditions('r'),
    ];
    sources.push(rollupPart(dimsOf('r', 'r.bucket'), where.join(' AND '), q.sketch));
  }
  const rows = await readMerged(sql, params, {
    dims: dimNames,
    parts: sources,
    t: SPAN_ROLLUPS,
    ctes,
    extra: '',
    nonZero: 'spans',
    limit: q.maxRows + 1,
  });
  if (rows.length > q.maxRows) throw new TooManyRowsError(q.maxRows);
  return rows.map(({ row, sketch }) => ({
    time: q.interval ? new Date(row.t as string) : null,
    keys: Object.fromEntries(groupBy.map((g, i) => [g, (row[names[i]] as string | null) ?? null])),
    spans: Number(row.spans),
    errors: Number(row.errors),
    inputTokens: BigInt(row.input_tokens as string),
    outputTokens: BigInt(row.output_tokens as string),
    cachedInputTokens: BigInt(row.cached_input_tokens as string),
    totalTokens: BigInt(row.total_tokens as string),
    cost: Number(row.priced) > 0 ? String(row.cost) : null,
    priced: Number(row.priced),
    unpriced: Number(row.unpriced),
    defaultPriced: Number(row.default_priced),
    latency: sketch,
  }));
}
