// One SQL statement per rule: the number of samples in the window and the aggregated value, over
// spans (by start time) or evaluation results (by when they were graded) of the rule's project.
import type { AlertAggregation, AlertMetric } from '../../generated/prisma/enums';
import { normaliseModelName } from '../../lib/model-name';
import { SPAN_METRICS } from './rules';

export interface AlertFilter {
  /** Stored as given; compared normalised (src/lib/model-name.ts). */
  model?: string;
  spanKind?: string;
  userId?: string;
  tags?: string[];
  evaluationName?: string;
  grader?: string;
}

/**
 * Per sample: the value, and whether every row counts as a sample (counts and rates) or only those
 * with a value. A span that could not be priced has a null cost: it is no COST sample, so a window
 * of only unpriced spend has no data rather than a cost of 0.
 */
const VALUE: Record<AlertMetric, { v: string; everyRow: boolean }> = {
  COST: { v: 's.total_cost::float8', everyRow: false },
  TOKENS: { v: 's.total_tokens::float8', everyRow: false },
  LATENCY_MS: { v: 's.latency_ms::float8', everyRow: false },
  SPAN_COUNT: { v: '1', everyRow: true },
  ERROR_COUNT: { v: "CASE WHEN s.status = 'ERROR' THEN 1 END", everyRow: true },
  ERROR_RATE: { v: "CASE WHEN s.status = 'ERROR' THEN 1.0 ELSE 0.0 END", everyRow: true },
  EVAL_SCORE: { v: 'r.score', everyRow: false },
  EVAL_PASS_RATE: { v: 'CASE WHEN r.passed THEN 1.0 WHEN NOT r.passed THEN 0.0 END', everyRow: false },
  EVAL_FAILED_COUNT: { v: 'CASE WHEN r.passed = false THEN 1 END', everyRow: true },
};

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

export function measureSql(rule: { projectId: string; metric: AlertMetric; aggregation: AlertAggregation; filter: AlertFilter }, from: Date, to: Date): { text: string; values: unknown[] } {
  const values: unknown[] = [rule.projectId, from.toISOString(), to.toISOString()];
  const param = (value: unknown) => `$${values.push(value)}`;
  const f = rule.filter;
  const { v, everyRow } = VALUE[rule.metric];
  let source: string;
  if (SPAN_METRICS.has(rule.metric)) {
    const where = ['s.project_id = $1::uuid', 's.start_time >= $2::timestamptz', 's.start_time < $3::timestamptz'];
    if (f.model !== undefined) where.push(`s.normalized_model = ${param(normaliseModelName(f.model))}`);
    if (f.spanKind !== undefined) where.push(`s.kind = ${param(f.spanKind)}::"SpanKind"`);
    if (f.userId !== undefined) where.push(`s.user_id = ${param(f.userId)}`);
    if (f.tags?.length) where.push(`s.tags @> ${param(f.tags)}::text[]`);
    source = `SELECT ${v} AS v FROM spans s WHERE ${where.join(' AND ')}`;
  } else {
    const where = ['e.project_id = $1::uuid', 'r.created_at >= $2::timestamptz', 'r.created_at < $3::timestamptz'];
    if (f.evaluationName !== undefined) where.push(`e.name = ${param(f.evaluationName)}`);
    if (f.grader !== undefined) where.push(`r.grader_name = ${param(f.grader)}`);
    source = `SELECT ${v} AS v FROM evaluation_results r JOIN evaluations e ON e.id = r.evaluation_id WHERE ${where.join(' AND ')}`;
  }
  const samples = everyRow ? 'count(*)' : 'count(v)';
  return { text: `SELECT ${samples}::int AS samples, (${AGGREGATE[rule.aggregation]})::float8 AS value FROM (${source}) x`, values };
}
