// Where an evaluation stands, read in one statement: its counts, spending, times and every
// grader's running mean and pass/fail counts (OpenAI Evals `per_testing_criteria_results`).
// Queries and the live progress stream read it alike.
import type { EvaluationStatus } from '../../generated/prisma/enums';
import type { Sql } from '../../storage/db';
import { knownCostSql } from '../costs/unpriced';

export interface GraderSummary {
  name: string;
  type: string;
  meanScore: number | null;
  passed: number;
  failed: number;
  errored: number;
}

/** An evaluation as queries, the live progress stream and its events show it. */
export interface EvaluationState {
  id: string;
  projectId: string;
  batchId: string | null;
  name: string;
  status: EvaluationStatus;
  total: number;
  completed: number;
  passed: number;
  failed: number;
  errored: number;
  /** Never graded: the evaluation was closed before their outputs arrived. */
  skipped: number;
  /** As the providers reported them. */
  judgeInputTokens: number;
  judgeOutputTokens: number;
  /** USD of the priced judge calls, as a decimal string; null when there were judge calls and none could be priced. */
  judgeCost: string | null;
  /** Judge calls whose cost is unknown (costs/unpriced.ts): not in judgeCost. */
  judgeUnpricedCalls: number;
  error: string | null;
  errorCode: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** null when not asked for: events carry them only once it has ended (see loadEvaluationStates). */
  graders: GraderSummary[] | null;
}

/** Its state with every grader's summary, and when it was read. */
export interface EvaluationSnapshot extends EvaluationState {
  graders: GraderSummary[];
  at: Date;
}

export const FINAL_STATUSES: ReadonlySet<EvaluationStatus> = new Set([
  'COMPLETED',
  'FAILED',
  'CANCELED',
]);

/**
 * As `Evaluation.percentDone` (and webhooks) show it: items graded or skipped (closed without their
 * outputs) of all; 100 for an evaluation without items.
 */
export const percentDone = (total: number, completed: number, skipped: number) =>
  total ? (100 * (completed + skipped)) / total : 100;

/** passed / (passed + failed); null before any is graded. */
export const passRate = (g: Pick<GraderSummary, 'passed' | 'failed'>) =>
  g.passed + g.failed ? g.passed / (g.passed + g.failed) : null;

/** Per grader of the evaluation `evaluationId` (a parameter or a column): its results summed up. */
const graderSql = (
  evaluationId: string,
) => `SELECT grader_name, grader_type, avg(score) AS mean, count(*) FILTER (WHERE passed AND error IS NULL)::int AS passed,
    count(*) FILTER (WHERE NOT passed AND error IS NULL)::int AS failed, count(*) FILTER (WHERE error IS NOT NULL)::int AS errored
  FROM evaluation_results WHERE evaluation_id = ${evaluationId} GROUP BY grader_name, grader_type`;
const GRADER_SQL = graderSql('$1::uuid');

interface GraderRow {
  grader_name: string;
  grader_type: string;
  mean: number | null;
  passed: number;
  failed: number;
  errored: number;
}

/** Every grader of the testing criteria, in the order given, graded or not. */
function summarise(testingCriteria: unknown, rows: GraderRow[]): GraderSummary[] {
  const byName = new Map(rows.map((r) => [r.grader_name, r]));
  // Not an array (never, once validated): no graders, rather than an error that would undo the
  // change whose event reads this.
  return (
    Array.isArray(testingCriteria) ? (testingCriteria as { name: string; type: string }[]) : []
  ).map((g) => {
    const r = byName.get(g.name);
    return {
      name: g.name,
      type: r?.grader_type ?? String(g.type).toUpperCase(),
      meanScore: r?.mean == null ? null : Number(r.mean),
      passed: r?.passed ?? 0,
      failed: r?.failed ?? 0,
      errored: r?.errored ?? 0,
    };
  });
}

export async function graderSummaries(
  sql: Sql,
  evaluationId: string,
  testingCriteria: unknown,
): Promise<GraderSummary[]> {
  return summarise(testingCriteria, await sql<GraderRow>(GRADER_SQL, [evaluationId]));
}

/** The evaluation's state now, with its graders, or null when it does not exist. */
export async function loadSnapshot(
  sql: Sql,
  evaluationId: string,
): Promise<EvaluationSnapshot | null> {
  const state = (await loadStates(sql, [evaluationId], true)).get(evaluationId);
  return state ? { ...state, graders: state.graders ?? [], at: new Date() } : null;
}

/**
 * The evaluations as they are now (in the caller's transaction: as it changed them), by id, with
 * their graders only once they have ended: progress is written with each group of results,
 * holding the evaluation's row, and should not aggregate all its results.
 */
export const loadEvaluationStates = (sql: Sql, ids: string[]) => loadStates(sql, ids, false);

async function loadStates(
  sql: Sql,
  ids: string[],
  graders: boolean,
): Promise<Map<string, EvaluationState>> {
  const rows = await sql<{
    id: string;
    project_id: string;
    batch_id: string | null;
    name: string;
    status: EvaluationStatus;
    total_count: number;
    completed_count: number;
    passed_count: number;
    failed_count: number;
    errored_count: number;
    skipped_count: number;
    judge_input_tokens: string;
    judge_output_tokens: string;
    judge_cost: string | null;
    judge_unpriced_calls: number;
    error: string | null;
    error_code: string | null;
    created_at: Date;
    started_at: Date | null;
    finished_at: Date | null;
    testing_criteria: unknown;
    graders: GraderRow[] | null;
    summarised: boolean;
  }>(
    `SELECT e.id::text, e.project_id::text, e.batch_id::text, e.name, e.status, e.total_count, e.completed_count, e.passed_count, e.failed_count,
       e.errored_count, e.skipped_count, e.judge_input_tokens::text, e.judge_output_tokens::text,
       ${knownCostSql('e.judge_cost', 'e.judge_calls', 'e.judge_unpriced_calls')} AS judge_cost, e.judge_unpriced_calls,
       e.error, e.error_code, e.created_at, e.started_at, e.finished_at, s.summarised,
       CASE WHEN s.summarised THEN e.testing_criteria END AS testing_criteria,
       CASE WHEN s.summarised THEN (SELECT json_agg(g) FROM (${graderSql('e.id')}) g) END AS graders
     FROM evaluations e, LATERAL (SELECT $2::boolean OR e.status IN ('COMPLETED', 'FAILED', 'CANCELED') AS summarised) s
     WHERE e.id = ANY($1::uuid[])`,
    [ids, graders],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        projectId: r.project_id,
        batchId: r.batch_id,
        name: r.name,
        status: r.status,
        total: r.total_count,
        completed: r.completed_count,
        passed: r.passed_count,
        failed: r.failed_count,
        errored: r.errored_count,
        skipped: r.skipped_count,
        judgeInputTokens: Number(r.judge_input_tokens),
        judgeOutputTokens: Number(r.judge_output_tokens),
        judgeCost: r.judge_cost,
        judgeUnpricedCalls: r.judge_unpriced_calls,
        error: r.error,
        errorCode: r.error_code,
        createdAt: new Date(r.created_at),
        startedAt: r.started_at && new Date(r.started_at),
        finishedAt: r.finished_at && new Date(r.finished_at),
        graders: r.summarised ? summarise(r.testing_criteria, r.graders ?? []) : null,
      },
    ]),
  );
}
