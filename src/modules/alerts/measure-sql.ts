// One SQL statement per rule: the number of samples in the window and the aggregated value, over
// spans (by start time), evaluation results (by when they were graded) or scores (by when they
// were given) of the rule's project.
import type { AlertAggregation, AlertMetric } from '../../generated/prisma/enums';
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

export function measureSql(
  rule: {
    projectId: string;
    metric: AlertMetric;
    aggregation: AlertAggregation;
    filter: AlertFilter;
  },
  from: Date,
  to: Date,
): { text: string; values: unknown[] } {
  const values: unknown[] = [rule.projectId, from.toISOString(), to.toISOString()];
  const param = (value: unknown) => `$${values.push(value)}`;
  const f = rule.filter;
  const { value: v, source: rows, counting } = METRICS[rule.metric];
  let source: string;
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
    source = `SELECT ${v} AS v FROM spans s WHERE ${where.join(' AND ')}`;
  } else if (rows === 'scores') {
    const where = [
      'sc.project_id = $1::uuid',
      'sc.scored_at >= $2::timestamptz',
      'sc.scored_at < $3::timestamptz',
    ];
    if (f.scoreName !== undefined) where.push(`sc.name = ${param(f.scoreName)}`);
    if (f.scoreSource !== undefined)
      where.push(`sc.source = ${param(f.scoreSource)}::"ScoreSource"`);
    source = `SELECT ${v} AS v FROM scores sc WHERE ${where.join(' AND ')}`;
  } else {
    const where = [
      'e.project_id = $1::uuid',
      'r.created_at >= $2::timestamptz',
      'r.created_at < $3::timestamptz',
    ];
    if (f.evaluationName !== undefined) where.push(`e.name = ${param(f.evaluationName)}`);
    if (f.grader !== undefined) where.push(`r.grader_name = ${param(f.grader)}`);
    source = `SELECT ${v} AS v FROM evaluation_results r JOIN evaluations e ON e.id = r.evaluation_id WHERE ${where.join(' AND ')}`;
  }
  // A counting metric's every row is a sample (its value is NULL on the rows it does not count).
  const samples = counting ? 'count(*)' : 'count(v)';
  return {
    text: `SELECT ${samples}::int AS samples, (${AGGREGATE[rule.aggregation]})::float8 AS value FROM (${source}) x`,
    values,
  };
}
