// The `scoreMetrics` query's reading: a time series of scores per group, from the one score
// aggregation (score-query.ts) in two passes, as `metrics` reads spans: the whole window first
// (the series and their totals, refused past MAX_SERIES), then the buckets into zero-filled points.
import type { Sql } from '../../storage/db';
import { checkTotalPoints, MAX_SERIES, MAX_TOTAL_POINTS, MetricsLimitError } from './metrics';
import { type Interval, TooManyRowsError } from './query';
import {
  aggregateScores,
  type ScoreAggregateFilter,
  type ScoreAggregateRow,
  type ScoreDimension,
} from './score-query';
import { bucketStarts, fillPoints, rowsBySeries, seriesKey } from './series';
import { compareKeys } from './top';

export type ScoreMetricsDimension = Exclude<ScoreDimension, 'PROJECT'>;

export interface ScoreMetricsQuery {
  projectId: string;
  from: Date;
  to: Date;
  interval: Interval;
  groupBy: readonly ScoreMetricsDimension[];
  filter: ScoreAggregateFilter;
  /** Whether p50/p95 are wanted (selected): the sketch costs a pass over its buckets. */
  quantiles: boolean;
}

/** The values of a point or of a series' totals. */
export interface ScoreValues {
  count: number;
  valueCount: number;
  /** Null without values, as p50 and p95 (and they without `quantiles`). */
  mean: number | null;
  p50: number | null;
  p95: number | null;
}

export interface ScoreSeries {
  keys: Partial<Record<ScoreMetricsDimension, string | null>>;
  totals: ScoreValues;
  points: (ScoreValues & { time: Date })[];
}

/** A bucket without scores: counts are 0, what needs a value is null. */
const EMPTY: ScoreValues = { count: 0, valueCount: 0, mean: null, p50: null, p95: null };

const valuesOf = (row: ScoreAggregateRow): ScoreValues => ({
  count: row.count,
  valueCount: row.valueCount,
  mean: row.mean,
  p50: row.p50,
  p95: row.p95,
});

export async function readScoreMetrics(sql: Sql, q: ScoreMetricsQuery): Promise<ScoreSeries[]> {
  const groupBy = [...new Set(q.groupBy)];
  const buckets = bucketStarts(q.from, q.to, q.interval);
  const base = {
    projectIds: [q.projectId],
    from: q.from,
    to: q.to,
    groupBy,
    filter: q.filter,
    sketch: q.quantiles,
  };
  let totals: ScoreAggregateRow[];
  try {
    totals = await aggregateScores(sql, { ...base, maxRows: MAX_SERIES });
  } catch (error) {
    if (!(error instanceof TooManyRowsError)) throw error;
    throw new MetricsLimitError(
      `More than ${MAX_SERIES} series: filter them or group by fewer keys.`,
    );
  }
  let series = totals
    .map((row) => ({ keys: row.keys as ScoreSeries['keys'], totals: valuesOf(row) }))
    .sort((a, b) => compareKeys(groupBy)(a.keys, b.keys));
  // Ungrouped, the one series is there even when nothing was scored: a dashboard draws zeros.
  if (!groupBy.length && !series.length) series = [{ keys: {}, totals: EMPTY }];
  checkTotalPoints(series.length, buckets.length);
  if (!totals.length)
    return series.map((s) => ({ ...s, points: fillPoints(buckets, [], valuesOf, EMPTY) }));

  // Every series is kept. Scores written between the passes may add rows (of a new series: dropped).
  let rows: ScoreAggregateRow[];
  try {
    rows = await aggregateScores(sql, {
      ...base,
      interval: q.interval,
      maxRows: 2 * MAX_TOTAL_POINTS,
    });
  } catch (error) {
    if (!(error instanceof TooManyRowsError)) throw error;
    throw new MetricsLimitError('Too many points: ask for fewer series or fewer points.');
  }
  const rowsOf = rowsBySeries(rows, groupBy);
  return series.map((s) => ({
    ...s,
    points: fillPoints(buckets, rowsOf.get(seriesKey(s.keys, groupBy)) ?? [], valuesOf, EMPTY),
  }));
}
