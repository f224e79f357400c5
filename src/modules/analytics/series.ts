// Time series from aggregated rows: the buckets of a window and the values of each. Pure.
import { fromUnits, toUnits } from '../../lib/money';
import { quantile } from './sketch';
import type { Interval, SpanAggregateRow } from './query';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const STEP: Record<Interval, number> = { MINUTE, HOUR, DAY, WEEK: 7 * DAY };

/** The start of the UTC bucket holding `t`, as Postgres' date_trunc(unit, t, 'UTC'): weeks start on Monday. */
export function bucketOf(t: number, interval: Interval): number {
  if (interval !== 'WEEK') return Math.floor(t / STEP[interval]) * STEP[interval];
  const day = Math.floor(t / DAY) * DAY;
  // 1970-01-01 was a Thursday: getUTCDay() is 0 on Sunday, so Monday is (day + 6) % 7 = 0.
  return day - ((new Date(day).getUTCDay() + 6) % 7) * DAY;
}

/** How many buckets [from, to) touches (the first and last may be partly outside it). */
export function bucketCount(from: Date, to: Date, interval: Interval): number {
  const first = bucketOf(from.getTime(), interval);
  return Math.ceil((to.getTime() - first) / STEP[interval]);
}

/** The start of every bucket [from, to) touches, in order. */
export function bucketStarts(from: Date, to: Date, interval: Interval): number[] {
  const first = bucketOf(from.getTime(), interval);
  return Array.from(
    { length: bucketCount(from, to, interval) },
    (_, i) => first + i * STEP[interval],
  );
}

/** The values of a point or of a series' totals. */
export interface MetricsValues {
  calls: number;
  errors: number;
  inputTokens: bigint;
  outputTokens: bigint;
  totalTokens: bigint;
  /** USD of the priced spans; null when none was priced. */
  cost: string | null;
  unpricedCalls: number;
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
  p99LatencyMs: number | null;
}

/** A bucket without spans: counts are 0, what needs a span to be known is null. */
export const EMPTY_VALUES: MetricsValues = {
  calls: 0,
  errors: 0,
  inputTokens: 0n,
  outputTokens: 0n,
  totalTokens: 0n,
  cost: null,
  unpricedCalls: 0,
  p50LatencyMs: null,
  p95LatencyMs: null,
  p99LatencyMs: null,
};

export function valuesOf(row: SpanAggregateRow): MetricsValues {
  return {
    calls: row.spans,
    errors: row.errors,
    inputTokens: row.inputTokens,
    outputTokens: row.outputTokens,
    totalTokens: row.totalTokens,
    // Numeric sums come with the scale of their terms: "1.5500" → "1.55", as costSummary answers.
    cost: row.cost === null ? null : fromUnits(toUnits(row.cost)),
    unpricedCalls: row.unpriced,
    p50LatencyMs: quantile(row.latency, 0.5),
    p95LatencyMs: quantile(row.latency, 0.95),
    p99LatencyMs: quantile(row.latency, 0.99),
  };
}

/**
 * Every bucket's values from rows of one series (span or score aggregates), a bucket without a
 * row as `empty`.
 */
export function fillPoints<Row extends { time: Date | null }, Values>(
  buckets: readonly number[],
  rows: readonly Row[],
  valuesOf: (row: Row) => Values,
  empty: Values,
): (Values & { time: Date })[] {
  const byTime = new Map(rows.map((row) => [row.time!.getTime(), row]));
  return buckets.map((t) => {
    const row = byTime.get(t);
    return { time: new Date(t), ...(row ? valuesOf(row) : empty) };
  });
}

type Keys = Partial<Record<string, string | null>>;

/** The identity of a series: its keys in the order grouped by (a missing key as null). */
export const seriesKey = (keys: Keys, dims: readonly string[]) =>
  JSON.stringify(dims.map((d) => keys[d] ?? null));

/** Bucketed rows by the series they belong to (seriesKey). */
export function rowsBySeries<Row extends { keys: Keys }>(
  rows: readonly Row[],
  dims: readonly string[],
): Map<string, Row[]> {
  const bySeries = new Map<string, Row[]>();
  for (const row of rows) {
    const key = seriesKey(row.keys, dims);
    let list = bySeries.get(key);
    if (!list) bySeries.set(key, (list = []));
    list.push(row);
  }
  return bySeries;
}
