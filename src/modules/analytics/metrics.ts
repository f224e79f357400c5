// The `metrics` query's reading: a time series per group, from the one aggregation (query.ts). With
// a limit, in two passes: the first groups the whole window (no buckets), the series' totals and
// what top-N ranks by, so a "top 10 users" over millions of users never builds their points; the
// second buckets only the series kept (narrowed by filter to their keys) into points. Without one,
// every series is kept: one bucketed pass, each series' totals the sum of its points (sumRows).
import type { Sql } from '../../storage/db';
import {
  aggregateSpans,
  type Dimension,
  type Interval,
  type SpanAggregateFilter,
  type SpanAggregateQuery,
  type SpanAggregateRow,
  sumRows,
  TooManyRowsError,
} from './query';
import {
  bucketStarts,
  EMPTY_VALUES,
  fillPoints,
  type MetricsValues,
  rowsBySeries,
  seriesKey,
  valuesOf,
} from './series';
import { compareKeys, type Order, topN } from './top';

export type MetricsDimension = Exclude<Dimension, 'PROJECT'>;

export interface MetricsQuery {
  projectId: string;
  from: Date;
  to: Date;
  interval: Interval;
  groupBy: readonly MetricsDimension[];
  filter: SpanAggregateFilter;
  callsOnly: boolean;
  order: Order | null;
  limit: number | null;
  /** Whether latency quantiles are wanted (selected, or ranked by). */
  latency: boolean;
  /** config.rollups.enabled: whether span_rollups are maintained (analytics/query.ts). */
  rollups: boolean;
}

export interface MetricsSeries {
  keys: Partial<Record<MetricsDimension, string | null>>;
  totals: MetricsValues;
  points: (MetricsValues & { time: Date })[];
}

/** Groups ranked for top-N at most. */
export const MAX_GROUPS = 10_000;
/** Series returned at most (also the largest `limit`). */
export const MAX_SERIES = 1_000;
/** Points over all series at most. */
export const MAX_TOTAL_POINTS = 100_000;

/** A query the limits refuse; the message says which. */
export class MetricsLimitError extends Error {}

/** Refuses more than MAX_TOTAL_POINTS points over all series. */
export function checkTotalPoints(series: number, points: number): void {
  if (series * points > MAX_TOTAL_POINTS)
    throw new MetricsLimitError(
      `${series} series of ${points} points is more than ${MAX_TOTAL_POINTS} points: ask for fewer series (filter, or limit) or fewer points (a shorter window or a longer interval).`,
    );
}

/** Which filter list narrows each dimension to the kept series' keys. */
const FILTER_OF: Record<MetricsDimension, keyof SpanAggregateFilter> = {
  MODEL: 'models',
  PROVIDER: 'providers',
  USER: 'userIds',
  SPAN_KIND: 'spanKinds',
  STATUS: 'statuses',
};

export async function readMetrics(sql: Sql, q: MetricsQuery): Promise<MetricsSeries[]> {
  const groupBy = [...new Set(q.groupBy)];
  const buckets = bucketStarts(q.from, q.to, q.interval);
  const base = {
    projectIds: [q.projectId],
    from: q.from,
    to: q.to,
    groupBy,
    callsOnly: q.callsOnly,
    sketch: q.latency,
    rollups: q.rollups,
  };
  const ranked = q.limit !== null;
  if (!ranked)
    return readEvery(sql, { ...base, interval: q.interval, filter: q.filter }, buckets, q.order);
  let totals: SpanAggregateRow[];
  try {
    totals = await aggregateSpans(sql, {
      ...base,
      filter: q.filter,
      maxRows: MAX_GROUPS,
    });
  } catch (error) {
    if (!(error instanceof TooManyRowsError)) throw error;
    throw new MetricsLimitError(
      `More than ${MAX_GROUPS} groups to rank: filter them or group by fewer keys.`,
    );
  }
  let series = totals
    .map((row) => ({ keys: row.keys as MetricsSeries['keys'], totals: valuesOf(row) }))
    .sort((a, b) => compareKeys(groupBy)(a.keys, b.keys));
  // Ungrouped, the one series is there even when nothing happened: a dashboard draws zeros.
  if (!groupBy.length && !series.length) series = [{ keys: {}, totals: EMPTY_VALUES }];
  const kept = topN(
    series.map((s) => ({ ...s, ...s.totals })),
    q.order,
    q.limit,
  ).map(({ keys, totals }) => ({ keys, totals }));
  checkTotalPoints(kept.length, buckets.length);
  if (!totals.length)
    return kept.map((s) => ({ ...s, points: fillPoints(buckets, [], valuesOf, EMPTY_VALUES) }));

  // Narrowed to the kept series' keys when top-N dropped some (a null key cannot be a filter
  // value: that dimension stays wide, and rows of series not kept are dropped below).
  const filter = { ...q.filter };
  if (kept.length < series.length)
    for (const d of groupBy) {
      const values = kept.map((s) => s.keys[d] ?? null);
      if (!values.includes(null)) Object.assign(filter, { [FILTER_OF[d]]: [...new Set(values)] });
    }
  let rows: SpanAggregateRow[];
  try {
    rows = await aggregateSpans(sql, {
      ...base,
      interval: q.interval,
      filter,
      maxRows: 2 * MAX_TOTAL_POINTS,
    });
  } catch (error) {
    if (!(error instanceof TooManyRowsError)) throw error;
    throw new MetricsLimitError('Too many points: ask for fewer series or fewer points.');
  }
  const rowsOf = rowsBySeries(rows, groupBy);
  return kept.map((s) => ({
    ...s,
    points: fillPoints(
      buckets,
      rowsOf.get(seriesKey(s.keys, groupBy)) ?? [],
      valuesOf,
      EMPTY_VALUES,
    ),
  }));
}

/** Every series of the window, bucketed in one pass; totals summed from the points' rows. */
async function readEvery(
  sql: Sql,
  q: Omit<SpanAggregateQuery, 'maxRows'>,
  buckets: number[],
  order: Order | null,
): Promise<MetricsSeries[]> {
  let rows: SpanAggregateRow[];
  try {
    // Past this many rows (points with something in them), the series cannot all be drawn.
    rows = await aggregateSpans(sql, { ...q, maxRows: MAX_TOTAL_POINTS });
  } catch (error) {
    if (!(error instanceof TooManyRowsError)) throw error;
    throw new MetricsLimitError(
      `More than ${MAX_TOTAL_POINTS} points: ask for fewer series (filter, or limit) or fewer points (a shorter window or a longer interval).`,
    );
  }
  const series = [...rowsBySeries(rows, q.groupBy).values()]
    .map((of) => ({ keys: of[0].keys as MetricsSeries['keys'], of }))
    .sort((a, b) => compareKeys(q.groupBy)(a.keys, b.keys));
  if (series.length > MAX_SERIES)
    throw new MetricsLimitError(
      `More than ${MAX_SERIES} series: ask for the top ones with limit, or filter them.`,
    );
  // Ungrouped, the one series is there even when nothing happened: a dashboard draws zeros.
  if (!q.groupBy.length && !series.length) series.push({ keys: {}, of: [] });
  checkTotalPoints(series.length, buckets.length);
  const ordered = topN(
    series.map(({ keys, of }) => {
      const totals = of.length ? valuesOf(sumRows(of)) : EMPTY_VALUES;
      return { keys, totals, of, ...totals };
    }),
    order,
    null,
  );
  return ordered.map(({ keys, totals, of }) => ({
    keys,
    totals,
    points: fillPoints(buckets, of, valuesOf, EMPTY_VALUES),
  }));
}
