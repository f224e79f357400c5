// Every statement that deletes trace data, in one place: deletions by the API, the data jobs and
// retention all remove traces through deleteTraceBatch, so their spans' and scores' contributions
// leave the rollups in the transaction that removes them (or stay, when a retention keeps its
// aggregates), as ingest adds them in the transaction that writes them.
import type { Sql } from '../../storage/db';
import { addContributionSql, spanFacts } from '../analytics/rollup-sql';
import { addScoreContributionSql, scoreFacts } from '../analytics/score-rollup-sql';

export interface Deleted {
  traces: number;
  spans: number;
  scores: number;
}

/**
 * Which rollups the deleted rows' contributions leave. Span rollups are written only while
 * config.rollups.enabled (taking back what was never added would leave negative rows); a retention
 * that keeps its aggregates, or a project's deletion (its rollups go whole), takes back neither.
 */
export interface TakeBack {
  spans: boolean;
  scores: boolean;
}

/**
 * Deletes the traces of `projectId` named (those of another project are left alone), their spans
 * and every score recorded on them, in the caller's transaction. Locks are taken in the order the
 * other writers take them, so that none waits for the other in a circle: the traces' scores first
 * (a score writer locks the scores it updates before the trace of a new one), then the traces in
 * external id order (ingest's order, traces before their spans). An ingest into one of them waits,
 * and then writes a new trace.
 */
export async function deleteTraceBatch(
  sql: Sql,
  projectId: string,
  traceIds: readonly string[],
  takeBack: TakeBack,
): Promise<Deleted> {
  await sql(
    `SELECT 1 FROM scores WHERE project_id = $1::uuid AND trace_id = ANY($2::uuid[]) ORDER BY id FOR UPDATE`,
    [projectId, traceIds],
  );
  const locked = await sql<{ id: string }>(
    `SELECT id::text FROM traces WHERE project_id = $1::uuid AND id = ANY($2::uuid[])
     ORDER BY external_id FOR UPDATE`,
    [projectId, traceIds],
  );
  if (!locked.length) return { traces: 0, spans: 0, scores: 0 };
  const ids = locked.map((r) => r.id);
  const scores = await deleteCounted(
    sql,
    `DELETE FROM scores WHERE project_id = $1::uuid AND trace_id = ANY($2::uuid[]) RETURNING ${scoreFacts('scores')}`,
    takeBack.scores ? addScoreContributionSql('gone', -1) : null,
    [projectId, ids],
  );
  const spans = await deleteCounted(
    sql,
    `DELETE FROM spans WHERE trace_id = ANY($2::uuid[]) AND project_id = $1::uuid RETURNING ${spanFacts('spans')}`,
    takeBack.spans ? addContributionSql('gone', -1) : null,
    [projectId, ids],
  );
  const traces = await sql<{ n: number }>(
    `WITH gone AS (DELETE FROM traces WHERE id = ANY($1::uuid[]) RETURNING 1) SELECT count(*)::int AS n FROM gone`,
    [ids],
  );
  return { traces: traces[0].n, spans, scores };
}

/**
 * Deletes scores of the project that match `where` (over `scores`), taking back their values
 * unless `takeBack` is false (a retention that keeps its aggregates).
 */
export const deleteScoresWhere = (sql: Sql, where: string, params: unknown[], takeBack = true) =>
  deleteCounted(
    sql,
    `DELETE FROM scores WHERE ${where} RETURNING ${scoreFacts('scores')}`,
    takeBack ? addScoreContributionSql('gone', -1) : null,
    params,
  );

/**
 * Deletes the spans that match `where` (over `spans`) with the scores on them, taking both out of
 * the rollups as `takeBack` says; their traces stay (refresh their totals: ingest-sql.ts
 * refreshTraces). The spans and scores deleted, and the traces they were in.
 */
export async function deleteSpansWhere(
  sql: Sql,
  where: string,
  params: unknown[],
  takeBack: TakeBack,
): Promise<{ spans: number; scores: number; traceIds: string[] }> {
  const scores = await deleteScoresWhere(
    sql,
    `span_id IN (SELECT id FROM spans WHERE ${where})`,
    params,
    takeBack.scores,
  );
  const taken = takeBack.spans ? `, taken AS (${addContributionSql('gone', -1)} RETURNING 1)` : '';
  const rows = await sql<{ trace_id: string }>(
    `WITH gone AS (DELETE FROM spans WHERE ${where} RETURNING ${spanFacts('spans')}, trace_id)${taken}
     SELECT trace_id::text FROM gone`,
    params,
  );
  return { spans: rows.length, scores, traceIds: [...new Set(rows.map((r) => r.trace_id))] };
}

/** Runs a DELETE … RETURNING as `gone`, with the rollup statement over it when there is one. */
async function deleteCounted(
  sql: Sql,
  deletion: string,
  takeBack: string | null,
  params: unknown[],
): Promise<number> {
  const taken = takeBack ? `, taken AS (${takeBack} RETURNING 1)` : '';
  const rows = await sql<{ n: number }>(
    `WITH gone AS (${deletion})${taken} SELECT count(*)::int AS n FROM gone`,
    params,
  );
  return rows[0].n;
}

/**
 * Deletes evaluations of `projectId` named (another project's are left alone), in the caller's
 * transaction: first the scores they wrote (on their items, and on the spans a run over traces
 * judged), taking their values out of the score rollups unless `takeBack` is false (a retention
 * that keeps its aggregates), since the items' cascade would remove them without; then their
 * webhook messages (by subject, with their deliveries); then their rows, whose cascade takes their
 * items, results and progress marks. How many evaluations and scores went.
 */
export async function deleteEvaluationBatch(
  sql: Sql,
  projectId: string,
  evaluationIds: readonly string[],
  takeBack = true,
): Promise<{ evaluations: number; scores: number }> {
  const params = [projectId, evaluationIds];
  const scores = await deleteScoresWhere(
    sql,
    `project_id = $1::uuid AND (evaluation_id = ANY($2::uuid[])
       OR evaluation_item_id IN (SELECT id FROM evaluation_items WHERE evaluation_id = ANY($2::uuid[])))`,
    params,
    takeBack,
  );
  await sql(
    `DELETE FROM webhook_messages WHERE project_id = $1::uuid AND subject_id = ANY($2::uuid[])`,
    params,
  );
  const gone = await sql<{ n: number }>(
    `WITH gone AS (DELETE FROM evaluations WHERE project_id = $1::uuid AND id = ANY($2::uuid[])
       RETURNING 1) SELECT count(*)::int AS n FROM gone`,
    params,
  );
  return { evaluations: gone[0].n, scores };
}

/**
 * Deletes a dataset of `projectId` with its versions and items (their cascade). Evaluations that
 * ran on it stay, their dataset unset (evaluations.dataset_id is ON DELETE SET NULL), their items
 * keeping the copies they ran on. Whether it was there.
 */
export async function deleteDatasetRows(
  sql: Sql,
  projectId: string,
  datasetId: string,
): Promise<boolean> {
  const gone = await sql(
    `DELETE FROM datasets WHERE project_id = $1::uuid AND id = $2::uuid RETURNING 1`,
    [projectId, datasetId],
  );
  return gone.length > 0;
}
