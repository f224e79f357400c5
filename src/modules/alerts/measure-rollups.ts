// Span rules measured from the rollups: the same answers as measure-sql.ts's statements (its
// measureSql and groupedSql, whose rules for empty windows and history this mirrors line for line),
// through analytics' one aggregation (aggregateSpans: day rows, hour rows, spans for the ragged
// edges under an hour each). Counts and sums are exact; P50/P95/P99 of latency come from the
// sketch, within its relative error (analytics/sketch.ts). What the rollups do not hold (MIN, MAX,
// token or cost percentiles, latency sums, a tags filter) is measured from the spans.
import type { AlertAggregation, AlertGroupBy } from '../../generated/prisma/enums';
import { aggregateSpans, type SpanAggregateRow } from '../analytics/query';
import { quantile } from '../analytics/sketch';
import type { Sql } from '../../storage/db';
import { type GroupRow, MAX_GROUPS, type MeasuredSpec, zeroWhenEmpty } from './measure-sql';
import { METRICS } from './metrics';

/**
 * Windows shorter than this read the spans. A window under 2 h holds at most one whole hour, so
 * the rollups would still read up to two ragged edges of spans (almost all of the window) plus the
 * hour rows, and percentiles would lose their exactness for nothing.
 */
export const ROLLUP_MIN_WINDOW_SECONDS = 2 * 3600;

/**
 * Groups (of one period) beyond which a grouped rule reads the spans after all: the statement
 * there picks its top MAX_GROUPS in SQL, whereas here every group comes back to be judged.
 */
export const ROLLUP_MAX_GROUPS = 100_000;

const QUANTILE: Partial<Record<AlertAggregation, number>> = { P50: 0.5, P95: 0.95, P99: 0.99 };

type Spec = MeasuredSpec & { windowSeconds: number };

/** Whether the rollups answer a rule: a span metric and aggregation they hold, no tags filter, a long enough window. */
export function rollupsAnswer(rule: Spec): boolean {
  const r = METRICS[rule.metric].rollup;
  if (!r || rule.windowSeconds < ROLLUP_MIN_WINDOW_SECONDS || rule.filter.tags?.length)
    return false;
  if (rule.aggregation === 'COUNT') return true;
  if (rule.aggregation === 'SUM' || rule.aggregation === 'AVG') return r.sum !== undefined;
  return QUANTILE[rule.aggregation] !== undefined && r.sketch === true;
}

interface Cell {
  samples: number;
  value: number | null;
}

const EMPTY: SpanAggregateRow = {
  time: null,
  keys: {},
  spans: 0,
  errors: 0,
  inputTokens: 0n,
  outputTokens: 0n,
  cachedInputTokens: 0n,
  totalTokens: 0n,
  cost: null,
  priced: 0,
  unpriced: 0,
  defaultPriced: 0,
  latency: { keys: [], counts: [] },
};

/**
 * A period's samples and value from its row (none: no span in it), as the statement's aggregate
 * over `v`: count(*) or count(v) samples, count(v), sum(v) and avg(v) null without values.
 */
function cellOf(rule: MeasuredSpec, row: SpanAggregateRow = EMPTY): Cell {
  const m = METRICS[rule.metric];
  const r = m.rollup!;
  const values = r.values(row);
  const samples = m.counting ? row.spans : values;
  const q = QUANTILE[rule.aggregation];
  if (rule.aggregation === 'COUNT') return { samples, value: values };
  if (q !== undefined) return { samples, value: quantile(row.latency, q) };
  const sum = values > 0 ? r.sum!(row) : null;
  return { samples, value: sum === null || rule.aggregation === 'SUM' ? sum : sum / values };
}

/** One aggregateSpans call over [from, to): its rows by group ('' ungrouped; rows without the dimension left out). */
async function periodRows(
  sql: Sql,
  rule: MeasuredSpec,
  groupBy: AlertGroupBy | null,
  from: Date,
  to: Date,
): Promise<Map<string, SpanAggregateRow>> {
  const f = rule.filter;
  // Called only while the rollups are maintained (measure.ts measureRule).
  const rows = await aggregateSpans(sql, {
    rollups: true,
    projectIds: [rule.projectId],
    from,
    to,
    groupBy: groupBy ? [groupBy] : [],
    filter: {
      models: f.model !== undefined ? [f.model] : null,
      spanKinds: f.spanKind !== undefined ? [f.spanKind] : null,
      userIds: f.userId !== undefined ? [f.userId] : null,
    },
    callsOnly: false,
    sketch: METRICS[rule.metric].rollup?.sketch === true,
    maxRows: ROLLUP_MAX_GROUPS,
  });
  const out = new Map<string, SpanAggregateRow>();
  for (const row of rows) {
    const g = groupBy ? row.keys[groupBy] : '';
    if (g !== null && g !== undefined) out.set(g, row);
  }
  return out;
}

/** measureSql's one row for [from, to). */
export async function rollupMeasure(
  sql: Sql,
  rule: MeasuredSpec,
  from: Date,
  to: Date,
): Promise<Cell> {
  const rows = await periodRows(sql, rule, null, from, to);
  return cellOf(rule, rows.get(''));
}

/** Postgres' percentile_cont(0.5) of values, interpolated the same way; null for none. */
function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = 0.5 * (sorted.length - 1);
  const lo = Math.floor(rank);
  if (rank === lo) return sorted[lo];
  return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * (rank - lo);
}

/**
 * groupedSql's rows. Period p is [to − (p+1)·window, to − p·window): rolling windows end at `now`,
 * not on an hour, so one hourly series over the history would not split at their bounds. Each
 * period is one aggregateSpans call instead: its whole days and hours from the rollups, its two
 * ragged edges (under an hour together when the window is whole hours) from the spans. A single
 * hourly series would have to read the same edges from the spans to split the hours the bounds
 * fall in, so this reads no more spans; it costs one round trip per period, and works for any window.
 */
export async function rollupGrouped(
  sql: Sql,
  rule: Spec & { groupBy: AlertGroupBy | null; periods: number },
  to: Date,
): Promise<GroupRow[]> {
  const w = rule.windowSeconds * 1000;
  const t = to.getTime();
  // cells.get(g)[p]: the group's period p, absent when it had no span then.
  const cells = new Map<string, (Cell | undefined)[]>();
  for (let p = 0; p <= rule.periods; p++) {
    const rows = await periodRows(
      sql,
      rule,
      rule.groupBy,
      new Date(t - (p + 1) * w),
      new Date(t - p * w),
    );
    for (const [g, row] of rows) {
      if (!cells.has(g)) cells.set(g, []);
      cells.get(g)![p] = cellOf(rule, row);
    }
  }
  // An ungrouped rule has its one row even when nothing was measured.
  if (!rule.groupBy && !cells.has('')) cells.set('', []);
  const zero = zeroWhenEmpty(rule.aggregation) ? 0 : null;
  const out = [...cells].map(([g, list]): GroupRow => {
    let oldest = -1;
    for (let p = 0; p < list.length; p++) if (list[p] && list[p]!.samples > 0) oldest = p;
    const current = list[0];
    const row = {
      g,
      samples: current?.samples ?? 0,
      value: current ? current.value : zero,
      median: null as number | null,
      mad: null as number | null,
      n: null as number | null,
      total: cells.size,
    };
    if (!rule.periods) return row;
    // A history period without a value is 0 for counts and sums once the group had samples then
    // or before; otherwise it is missing (measure-sql.ts says why).
    const history: number[] = [];
    for (let p = 1; p <= rule.periods; p++) {
      const v = list[p]?.value ?? (p <= oldest ? zero : null);
      if (v !== null) history.push(v);
    }
    row.median = median(history);
    row.n = history.length;
    row.mad = row.median === null ? null : median(history.map((v) => Math.abs(v - row.median!)));
    return row;
  });
  // The statement's ORDER BY value DESC NULLS LAST, g (groups compared by code point here; the
  // database's collation may order equal values' groups otherwise).
  out.sort((a, b) => {
    if (a.value !== b.value) {
      if (a.value === null) return 1;
      if (b.value === null) return -1;
      return b.value - a.value;
    }
    return a.g < b.g ? -1 : a.g > b.g ? 1 : 0;
  });
  return out.slice(0, MAX_GROUPS + 1);
}
