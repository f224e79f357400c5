// One SQL statement per rule: the number of samples in the window and the aggregated value, over
// spans (by start time), evaluation results (by when they were graded) or scores (by when they
// were given) of the rule's project. A grouped rule (groupBy) gets a row per group from the same
// one statement (GROUP BY the dimension); an ANOMALY rule gets, beside the window's value, the
// median and MAD of the same window over the previous periods, also in that statement.
import type { AlertAggregation, AlertGroupBy, AlertMetric } from '../../generated/prisma/enums';
import { normaliseModelName } from '../../lib/model-name';
import { METRICS } from './metrics';

export interface AlertFilter {
  /** Stored as given; compared normalised (src/lib/model-name.ts). */
  model?: string;
  spanKind?: string;
  userId?: string;
  tags?: string[];
  evaluationName?: string;
  grader?: string;
  scoreName?: string;
  scoreSource?: string;
}

const AGGREGATE: Record<AlertAggregation, string> = {
  COUNT: 'count(v)',
  SUM: 'sum(v)',
  AVG: 'avg(v)',
  MIN: 'min(v)',
  MAX: 'max(v)',
  P50: 'percentile_cont(0.5) WITHIN GROUP (ORDER BY v)',
  P95: 'percentile_cont(0.95) WITHIN GROUP (ORDER BY v)',
  P99: 'percentile_cont(0.99) WITHIN GROUP (ORDER BY v)',
};

/** The column of a span a grouped rule groups by (models normalised, as the rest of analytics). */
export const GROUP_COLUMN: Record<AlertGroupBy, string> = {
  USER: 's.user_id',
  MODEL: 's.normalized_model',
  SPAN_KIND: 's.kind::text',
};

/** Groups kept per measurement of a grouped rule: those with the highest values. */
export const MAX_GROUPS = 1_000;

export interface MeasuredSpec {
  projectId: string;
  metric: AlertMetric;
  aggregation: AlertAggregation;
  filter: AlertFilter;
}

/** The rows of the rule's source between `from` and `to`, with `v` and the extra `columns`. */
function sourceSql(
  rule: MeasuredSpec,
  values: unknown[],
  columns: (time: string) => string,
  extraWhere: string[] = [],
): string {
  const param = (value: unknown) => `$${values.push(value)}`;
  const f = rule.filter;
  const { value: v, source: rows } = METRICS[rule.metric];
  if (rows === 'spans') {
    const where = [
      's.project_id = $1::uuid',
      's.start_time >= $2::timestamptz',
      's.start_time < $3::timestamptz',
    ];
    if (f.model !== undefined)
      where.push(`s.normalized_model = ${param(normaliseModelName(f.model))}`);
    if (f.spanKind !== undefined) where.push(`s.kind = ${param(f.spanKind)}::"SpanKind"`);
    if (f.userId !== undefined) where.push(`s.user_id = ${param(f.userId)}`);
    if (f.tags?.length) where.push(`s.tags @> ${param(f.tags)}::text[]`);
    where.push(...extraWhere);
    return `SELECT ${v} AS v${columns('s.start_time')} FROM spans s WHERE ${where.join(' AND ')}`;
  }
  if (rows === 'scores') {
    const where = [
      'sc.project_id = $1::uuid',
      'sc.scored_at >= $2::timestamptz',
      'sc.scored_at < $3::timestamptz',
    ];
    if (f.scoreName !== undefined) where.push(`sc.name = ${param(f.scoreName)}`);
    if (f.scoreSource !== undefined)
      where.push(`sc.source = ${param(f.scoreSource)}::"ScoreSource"`);
    return `SELECT ${v} AS v${columns('sc.scored_at')} FROM scores sc WHERE ${where.join(' AND ')}`;
  }
  const where = [
    'e.project_id = $1::uuid',
    'r.created_at >= $2::timestamptz',
    'r.created_at < $3::timestamptz',
  ];
  if (f.evaluationName !== undefined) where.push(`e.name = ${param(f.evaluationName)}`);
  if (f.grader !== undefined) where.push(`r.grader_name = ${param(f.grader)}`);
  return `SELECT ${v} AS v${columns('r.created_at')} FROM evaluation_results r JOIN evaluations e ON e.id = r.evaluation_id WHERE ${where.join(' AND ')}`;
}

// A counting metric's every row is a sample (its value is NULL on the rows it does not count).
const samplesOf = (metric: AlertMetric) => (METRICS[metric].counting ? 'count(*)' : 'count(v)');

/**
 * Whether a window without samples has the value 0 rather than none: a count (nothing counted)
 * and a sum (no spans cost nothing) do; an average, extreme or percentile of nothing is null
 * (the latency of no spans is unknown, not 0).
 */
export const zeroWhenEmpty = (aggregation: AlertAggregation) =>
  aggregation === 'COUNT' || aggregation === 'SUM';

/** One row: the samples and the value of an ungrouped, comparing rule's window. */
export function measureSql(
  rule: MeasuredSpec,
  from: Date,
  to: Date,
): { text: string; values: unknown[] } {
  const values: unknown[] = [rule.projectId, from.toISOString(), to.toISOString()];
  const source = sourceSql(rule, values, () => '');
  return {
    text: `SELECT ${samplesOf(rule.metric)}::int AS samples, (${AGGREGATE[rule.aggregation]})::float8 AS value FROM (${source}) x`,
    values,
  };
}

/** A row of groupedSql: one group (g '' for an ungrouped ANOMALY rule). */
export interface GroupRow {
  g: string;
  samples: number;
  value: number | null;
  /** ANOMALY: the baseline's median and MAD over the periods with a value (n of them). */
  median: number | null;
  mad: number | null;
  n: number | null;
  /** Groups there were before the LIMIT (more than MAX_GROUPS: some were left out). */
  total: number;
}

/**
 * One statement for a grouped rule or an ANOMALY rule: a row per group (the highest values first,
 * at most MAX_GROUPS + 1 so that a cut shows). Period p of a row is the window ending p windows
 * before `to` (0: the window measured); an ANOMALY rule reads periods 0..`periods`. A history
 * period without samples is 0 for counts and sums (zeroWhenEmpty) once the group has samples
 * in it or an older period, and missing otherwise: a time before the group's data is no
 * history, and neither is a window whose average or percentile had nothing to aggregate.
 */
export function groupedSql(
  rule: MeasuredSpec & { groupBy: AlertGroupBy | null; periods: number; windowSeconds: number },
  to: Date,
): { text: string; values: unknown[] } {
  const windowMs = rule.windowSeconds * 1000;
  const from = new Date(to.getTime() - (rule.periods + 1) * windowMs);
  const values: unknown[] = [rule.projectId, from.toISOString(), to.toISOString()];
  const group = rule.groupBy ? GROUP_COLUMN[rule.groupBy] : "''::text";
  const w = `$${values.push(rule.windowSeconds)}::numeric`;
  // Rows without the dimension (a span with no user id) belong to no group.
  const source = sourceSql(
    rule,
    values,
    (time) =>
      `, ${group} AS g, (ceil(extract(epoch FROM ($3::timestamptz - ${time})) / ${w}) - 1)::int AS p`,
    rule.groupBy ? [`${group} IS NOT NULL`] : [],
  );
  const zero = zeroWhenEmpty(rule.aggregation) ? '0::float8' : 'NULL::float8';
  const a = `a AS (SELECT g, p, ${samplesOf(rule.metric)}::int AS samples, (${AGGREGATE[rule.aggregation]})::float8 AS value FROM (${source}) x GROUP BY g, p)`;
  // An ungrouped rule has its one row even when nothing was measured.
  const gs = rule.groupBy
    ? 'gs AS (SELECT g, max(p) FILTER (WHERE samples > 0) AS oldest FROM a GROUP BY g)'
    : "gs AS (SELECT ''::text AS g, max(p) FILTER (WHERE samples > 0) AS oldest FROM a)";
  const history = rule.periods
    ? `, h AS (SELECT gs.g, s.p, coalesce(a.value, CASE WHEN s.p <= gs.oldest THEN ${zero} END) AS value
          FROM gs CROSS JOIN generate_series(1, ${rule.periods}) AS s(p) LEFT JOIN a ON a.g = gs.g AND a.p = s.p),
       b AS (SELECT g, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS median, count(value)::int AS n FROM h GROUP BY g),
       d AS (SELECT h.g, percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(h.value - b.median)) AS mad FROM h JOIN b ON b.g = h.g GROUP BY h.g)`
    : '';
  const baseline = rule.periods
    ? 'b.median::float8 AS median, d.mad::float8 AS mad, b.n AS n'
    : 'NULL::float8 AS median, NULL::float8 AS mad, NULL::int AS n';
  const joins = rule.periods ? 'LEFT JOIN b ON b.g = gs.g LEFT JOIN d ON d.g = gs.g' : '';
  return {
    text: `WITH ${a}, ${gs}${history}
      SELECT gs.g, coalesce(c.samples, 0) AS samples, coalesce(c.value, CASE WHEN c.samples IS NULL THEN ${zero} END)::float8 AS value,
        ${baseline}, (count(*) OVER ())::int AS total
      FROM gs LEFT JOIN a c ON c.g = gs.g AND c.p = 0 ${joins}
      ORDER BY 3 DESC NULLS LAST, 1 LIMIT ${MAX_GROUPS + 1}`,
    values,
  };
}
