// The database is the queue: evaluation items are claimed with leases (FOR UPDATE SKIP LOCKED),
// and an item's results are written in the same transaction that marks it done and counts it, by
// the holder of its lease only. A killed worker's lease expires and the item is claimed again;
// no item's result is written twice and the counts stay exact.
import type { Sql } from '../../storage/db';

export interface ClaimedItem {
  id: string;
  evaluation_id: string;
  input: unknown;
  expected_output: unknown;
  output: unknown;
  contexts: string[];
  metadata: unknown;
  attempts: number;
}

/**
 * Items whose lease expired after the last allowed attempt become ERRORED (counted as completed
 * and errored). Returns the evaluations touched.
 */
export async function reapExhausted(sql: Sql, maxAttempts: number): Promise<string[]> {
  const rows = await sql<{ evaluation_id: string; n: number }>(
    `WITH dead AS (
       UPDATE evaluation_items SET state = 'ERRORED', lease_token = NULL, lease_expires_at = NULL, completed_at = now(),
         last_error = 'the worker grading it stopped ' || attempts || ' times (lease expired)'
       WHERE id IN (SELECT id FROM evaluation_items WHERE state = 'RUNNING' AND lease_expires_at < now() AND attempts >= $1
                    FOR UPDATE SKIP LOCKED)
       RETURNING evaluation_id)
     SELECT evaluation_id::text, count(*)::int AS n FROM dead GROUP BY evaluation_id`,
    [maxAttempts],
  );
  for (const row of rows) {
    await sql(`UPDATE evaluations SET completed_count = completed_count + $2, errored_count = errored_count + $2, updated_at = now() WHERE id = $1::uuid`, [row.evaluation_id, row.n]);
  }
  return rows.map((r) => r.evaluation_id);
}

/** Claims up to `limit` items (pending, or whose lease expired), oldest evaluation first. */
export function claimItems(sql: Sql, token: string, leaseMs: number, limit: number) {
  return sql<ClaimedItem>(
    `UPDATE evaluation_items i SET state = 'RUNNING', lease_token = $1::uuid, lease_expires_at = now() + $2 * interval '1 millisecond', attempts = i.attempts + 1
     WHERE i.id IN (
       SELECT c.id FROM evaluation_items c JOIN evaluations e ON e.id = c.evaluation_id
       WHERE e.status IN ('QUEUED', 'RUNNING')
         AND ((c.state = 'PENDING' AND c.next_attempt_at <= now()) OR (c.state = 'RUNNING' AND c.lease_expires_at < now()))
       ORDER BY e.created_at, c.position
       LIMIT $3
       FOR UPDATE OF c SKIP LOCKED)
     RETURNING i.id::text, i.evaluation_id::text, i.input, i.expected_output, i.output, i.contexts, i.metadata, i.attempts`,
    [token, leaseMs, limit],
  );
}

/** QUEUED evaluations among `ids` become RUNNING; returns those that did. */
export async function markStarted(sql: Sql, ids: string[]): Promise<string[]> {
  const rows = await sql<{ id: string }>(
    `UPDATE evaluations SET status = 'RUNNING', started_at = now(), updated_at = now() WHERE id = ANY($1::uuid[]) AND status = 'QUEUED' RETURNING id::text`,
    [ids],
  );
  return rows.map((r) => r.id);
}

export interface ResultRow {
  grader_name: string;
  grader_type: string;
  score: number | null;
  passed: boolean | null;
  reasoning: string | null;
  input_tokens: number;
  output_tokens: number;
  cost: string;
  latency_ms: number;
  error: string | null;
}

export interface ItemOutcome {
  itemId: string;
  evaluationId: string;
  token: string;
  state: 'DONE' | 'ERRORED';
  passed: boolean;
  lastError: string | null;
  results: ResultRow[];
  judgeInputTokens: number;
  judgeOutputTokens: number;
  judgeCost: string;
}

/**
 * Writes one graded item: marks it done (only while this claim holds it and the evaluation
 * runs), stores its results and adds it to the evaluation's counts. Returns false, writing
 * nothing, when the claim was lost (lease taken over, evaluation canceled).
 */
export async function writeOutcome(sql: Sql, o: ItemOutcome): Promise<boolean> {
  const marked = await sql(
    `UPDATE evaluation_items i SET state = $3::"EvaluationItemState", lease_token = NULL, lease_expires_at = NULL, completed_at = now(), last_error = $4
     FROM evaluations e
     WHERE i.id = $1::uuid AND i.lease_token = $2::uuid AND i.state = 'RUNNING' AND e.id = i.evaluation_id AND e.status = 'RUNNING'
     RETURNING i.id`,
    [o.itemId, o.token, o.state, o.lastError],
  );
  if (marked.length === 0) return false;
  await sql(
    `INSERT INTO evaluation_results (id, evaluation_id, evaluation_item_id, grader_name, grader_type, score, passed, reasoning,
       input_tokens, output_tokens, cost, latency_ms, error)
     SELECT gen_random_uuid(), $1::uuid, $2::uuid, r.grader_name, r.grader_type, r.score, r.passed, r.reasoning,
       r.input_tokens, r.output_tokens, r.cost, r.latency_ms, r.error
     FROM json_to_recordset($3::json) AS r(grader_name text, grader_type text, score float8, passed boolean, reasoning text,
       input_tokens int, output_tokens int, cost numeric, latency_ms int, error text)
     ON CONFLICT (evaluation_item_id, grader_name) DO NOTHING`,
    [o.evaluationId, o.itemId, JSON.stringify(o.results)],
  );
  const errored = o.state === 'ERRORED';
  await sql(
    `UPDATE evaluations SET completed_count = completed_count + 1,
       passed_count = passed_count + $2, failed_count = failed_count + $3, errored_count = errored_count + $4,
       judge_input_tokens = judge_input_tokens + $5, judge_output_tokens = judge_output_tokens + $6,
       judge_cost = judge_cost + $7::numeric, updated_at = now()
     WHERE id = $1::uuid`,
    [o.evaluationId, !errored && o.passed ? 1 : 0, !errored && !o.passed ? 1 : 0, errored ? 1 : 0, o.judgeInputTokens, o.judgeOutputTokens, o.judgeCost],
  );
  return true;
}

/** Hands a claimed item back (a stopping worker): it is pending again, its attempt not counted. */
export function releaseItems(sql: Sql, token: string, ids: string[]) {
  return sql(
    `UPDATE evaluation_items SET state = 'PENDING', lease_token = NULL, lease_expires_at = NULL, attempts = greatest(attempts - 1, 0)
     WHERE id = ANY($2::uuid[]) AND lease_token = $1::uuid AND state = 'RUNNING'`,
    [token, ids],
  );
}

/** A RUNNING evaluation with nothing left to grade becomes COMPLETED; true when this call did it. */
export async function completeIfDone(sql: Sql, evaluationId: string): Promise<boolean> {
  const rows = await sql(
    `UPDATE evaluations SET status = 'COMPLETED', finished_at = now(), updated_at = now()
     WHERE id = $1::uuid AND status = 'RUNNING'
       AND NOT EXISTS (SELECT 1 FROM evaluation_items WHERE evaluation_id = $1::uuid AND state IN ('PENDING', 'RUNNING'))
     RETURNING id`,
    [evaluationId],
  );
  return rows.length > 0;
}

/** Stops an evaluation that has not finished: its unfinished items are canceled. */
export async function stopEvaluation(sql: Sql, evaluationId: string, status: 'CANCELED' | 'FAILED', error: { code: string; message: string } | null): Promise<boolean> {
  const rows = await sql(
    `UPDATE evaluations SET status = $2::"EvaluationStatus", finished_at = now(), updated_at = now(),
       cancel_requested_at = CASE WHEN $2 = 'CANCELED' THEN now() ELSE cancel_requested_at END, error_code = $3, error = $4
     WHERE id = $1::uuid AND status IN ('QUEUED', 'RUNNING') RETURNING id`,
    [evaluationId, status, error?.code ?? null, error?.message ?? null],
  );
  if (rows.length === 0) return false;
  await sql(
    `UPDATE evaluation_items SET state = 'CANCELED', lease_token = NULL, lease_expires_at = NULL WHERE evaluation_id = $1::uuid AND state IN ('PENDING', 'RUNNING')`,
    [evaluationId],
  );
  return true;
}

/** Those of `ids` that are no longer running (canceled, failed): their in-flight work is aborted. */
export async function notRunning(sql: Sql, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await sql<{ id: string }>(`SELECT id::text FROM evaluations WHERE id = ANY($1::uuid[]) AND status NOT IN ('QUEUED', 'RUNNING')`, [ids]);
  return rows.map((r) => r.id);
}
