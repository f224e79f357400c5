// The one aggregation of scores that analytics answers with (the metrics query's score series):
// count, the count with a value, their exact sum and mean, and a value sketch (p50, p95) per time
// bucket and dimension over [from, to) of scores' timestamps. The same parts as aggregateSpans
// (query.ts segments): whole days from the day rollups, whole hours around them from the hour
// rollups, the ragged edges (and MINUTE buckets) from the scores themselves.
import type { Sql } from '../../storage/db';
import { type Interval, partRanges, segments, TooManyRowsError } from './query';
import { groupedPart, type Part, readMerged, rollupPart, type Dim } from './rollup-sql';
import { SCORE_ROLLUPS, scorePart } from './score-rollup-sql';
import { quantile, type Sketch, signedKeyValue } from './sketch';

export type ScoreDimension = 'NAME' | 'SOURCE' | 'DATA_TYPE' | 'STRING_VALUE' | 'PROJECT';

export interface ScoreAggregateFilter {
  names?: string[] | null;
  sources?: string[] | null;
  dataTypes?: string[] | null;
}

export interface ScoreAggregateQuery {
  projectIds: string[];
  from: Date;
  to: Date;
  /** Buckets of time (UTC) to group by; none for the whole range. */
  interval?: Interval | null;
  groupBy: readonly ScoreDimension[];
  filter?: ScoreAggregateFilter | null;
  /** Whether quantiles are wanted (the sketch costs a pass over its buckets). */
  sketch: boolean;
  /** Refuse to return more rows than this. */
  maxRows: number;
}

export interface ScoreAggregateRow {
  /** Start of the row's bucket of time; null without an interval. */
  time: Date | null;
  keys: Partial<Record<ScoreDimension, string | null>>;
  count: number;
  /** Scores with a value (NUMERIC, BOOLEAN 1/0, CATEGORICAL mapped to one): what the rest is of. */
  valueCount: number;
  /** Exact sum of the values (as numeric: float8's 15 significant digits); null without values. */
  valueSum: string | null;
  mean: number | null;
  /** From the sketch (sketch.ts quantile); null without values or without `sketch`. */
  p50: number | null;
  p95: number | null;
  values: Sketch;
}

const KEY: Record<ScoreDimension, (alias: 's' | 'r') => string> = {
  NAME: (a) => `${a}.name`,
  SOURCE: (a) => `${a}.source::text`,
  DATA_TYPE: (a) => `${a}.data_type::text`,
  STRING_VALUE: (a) => `${a}.string_value`,
  PROJECT: (a) => `${a}.project_id::text`,
};
const UNIT: Record<Interval, string> = { MINUTE: 'minute', HOUR: 'hour', DAY: 'day', WEEK: 'week' };

export async function aggregateScores(
  sql: Sql,
  q: ScoreAggregateQuery,
): Promise<ScoreAggregateRow[]> {
  const params: unknown[] = [q.projectIds];
  const param = (value: unknown) => `$${params.push(value)}`;
  const f = q.filter ?? {};
  const parts = segments(q.from, q.to, q.interval);
  const ranges = partRanges(parts, param);
  const conditions = (alias: 's' | 'r') => {
    const where: string[] = [];
    if (f.names?.length) where.push(`${KEY.NAME(alias)} = ANY(${param(f.names)}::text[])`);
    if (f.sources?.length) where.push(`${KEY.SOURCE(alias)} = ANY(${param(f.sources)}::text[])`);
    if (f.dataTypes?.length)
      where.push(`${KEY.DATA_TYPE(alias)} = ANY(${param(f.dataTypes)}::text[])`);
    return where;
  };

  const groupBy = [...new Set(q.groupBy)];
  const names = groupBy.map((_, i) => `k${i}`);
  const dimsOf = (alias: 's' | 'r', time: string): Dim[] => [
    ...(q.interval ? [[`date_trunc('${UNIT[q.interval]}', ${time}, 'UTC')`, 't'] as const] : []),
    ...groupBy.map((g, i) => [KEY[g](alias), names[i]] as const),
  ];
  const dimNames = [...(q.interval ? ['t'] : []), ...names];

  const sources: Part[] = [];
  const ctes: string[] = [];
  if (parts.raw.length) {
    const where = ['s.project_id = ANY($1::uuid[])', ranges.raw('s.scored_at')];
    ctes.push(
      `raw AS (${scorePart('scores s', dimsOf('s', 's.scored_at'), [...where, ...conditions('s')].join(' AND '))})`,
    );
    sources.push(groupedPart(dimNames, 'raw', SCORE_ROLLUPS));
  }
  if (ranges.rollup) {
    const where = ['r.project_id = ANY($1::uuid[])', ranges.rollup, ...conditions('r')];
    sources.push(
      rollupPart(dimsOf('r', 'r.bucket'), where.join(' AND '), q.sketch, undefined, SCORE_ROLLUPS),
    );
  }
  const rows = await readMerged(sql, params, {
    dims: dimNames,
    parts: sources,
    t: SCORE_ROLLUPS,
    ctes,
    extra: '(sums.value_sum / NULLIF(sums.with_value, 0))::float8 AS mean',
    nonZero: 'scores',
    limit: q.maxRows + 1,
  });
  if (rows.length > q.maxRows) throw new TooManyRowsError(q.maxRows);
  return rows.map(({ row, sketch }) => {
    const valueCount = Number(row.with_value);
    // Without `sketch` only the raw parts carry one: none rather than a part of one.
    const values: Sketch = q.sketch ? sketch : { keys: [], counts: [] };
    const at = (p: number) => (q.sketch ? quantile(values, p, signedKeyValue) : null);
    return {
      time: q.interval ? new Date(row.t as string) : null,
      keys: Object.fromEntries(
        groupBy.map((g, i) => [g, (row[names[i]] as string | null) ?? null]),
      ),
      count: Number(row.scores),
      valueCount,
      // The same sum whatever the scale sums of sums gave it (trailing zeros dropped).
      valueSum:
        valueCount > 0
          ? String(row.value_sum)
              .replace(/(\.\d*?)0+$/, '$1')
              .replace(/\.$/, '')
          : null,
      mean: row.mean === null ? null : Number(row.mean),
      p50: at(0.5),
      p95: at(0.95),
      values,
    };
  });
}
