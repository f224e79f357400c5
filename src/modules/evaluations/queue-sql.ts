// The database is the queue: evaluation items are claimed with leases (FOR UPDATE SKIP LOCKED),
// and an item's results are written in the same transaction that marks it done and counts it, by
// the holder of its lease only. A killed worker's lease expires and the item is claimed again;
// no item's result is written twice and the counts stay exact.
import { v7 as uuidv7 } from 'uuid';
import type { Sql } from '../../storage/db';
import { jsonParam } from '../../storage/json-param';
import { addJudgeSpendingFrom } from '../ratelimit/usage-sql';
import { utcMinute } from '../../lib/days';
import type { Generated } from './generation';

export interface ClaimedItem {
  id: string;
  evaluation_id: string;
  input: unknown;
  expected_output: unknown;
  output: unknown;
  contexts: string[];
  metadata: unknown;
  attempts: number;
  position: number;
  /** The span it was taken from (the traces data source) and its trace: its results score them. */
  source_span_id: string | null;
  source_trace_id: string | null;
}

/**
 * Items whose lease expired after the last allowed attempt become ERRORED (counted as completed
 * and errored). Returns the evaluations counted, and whether this completed each.
 */
export async function reapExhausted(
  sql: Sql,
  maxAttempts: number,
): Promise<{ id: string; completed: boolean }[]> {
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
  const counted: { id: string; completed: boolean }[] = [];
  for (const row of rows) {
    const [e] = await sql<{ done: boolean }>(
      `UPDATE evaluations SET completed_count = completed_count + $2, errored_count = errored_count + $2, updated_at = now(),
         status = CASE WHEN status = 'RUNNING' AND completed_count + skipped_count + $2 >= total_count THEN 'COMPLETED'::"EvaluationStatus" ELSE status END,
         finished_at = CASE WHEN status = 'RUNNING' AND completed_count + skipped_count + $2 >= total_count THEN now() ELSE finished_at END
       WHERE id = $1::uuid RETURNING status = 'COMPLETED' AND completed_count + skipped_count = total_count AS done`,
      [row.evaluation_id, row.n],
    );
    if (e) counted.push({ id: row.evaluation_id, completed: e.done });
  }
  return counted;
}

/** Claims up to `limit` items (pending, or whose lease expired), oldest evaluation first, in item order. */
export async function claimItems(sql: Sql, token: string, leaseMs: number, limit: number) {
  const rows = await sql<ClaimedItem & { created_at: Date }>(
    `UPDATE evaluation_items i SET state = 'RUNNING', lease_token = $1::uuid, lease_expires_at = now() + $2 * interval '1 millisecond', attempts = i.attempts + 1
     WHERE i.id IN (
       SELECT c.id FROM evaluation_items c JOIN evaluations e ON e.id = c.evaluation_id
       WHERE e.status IN ('QUEUED', 'RUNNING')
         AND ((c.state = 'PENDING' AND c.next_attempt_at <= now()) OR (c.state = 'RUNNING' AND c.lease_expires_at < now()))
       ORDER BY e.created_at, c.position
       LIMIT $3
       FOR UPDATE OF c SKIP LOCKED)
     RETURNING i.id::text, i.evaluation_id::text, i.input, i.expected_output, i.output, i.contexts, i.metadata, i.attempts, i.position,
       i.source_span_id::text, (SELECT trace_id::text FROM spans WHERE id = i.source_span_id) AS source_trace_id,
       (SELECT created_at FROM evaluations WHERE id = i.evaluation_id) AS created_at`,
    [token, leaseMs, limit],
  );
  // RETURNING keeps no order: put the claim back in queue order.
  return rows.sort(
    (a, b) =>
      a.created_at.getTime() - b.created_at.getTime() ||
      a.evaluation_id.localeCompare(b.evaluation_id) ||
      a.position - b.position,
  );
}

/** QUEUED evaluations among `ids` become RUNNING; returns those that did, with their projects. */
export function markStarted(sql: Sql, ids: string[]) {
  return sql<{ id: string; projectId: string }>(
    `UPDATE evaluations SET status = 'RUNNING', started_at = now(), updated_at = now() WHERE id = ANY($1::uuid[]) AND status = 'QUEUED'
     RETURNING id::text, project_id::text AS "projectId"`,
    [ids],
  );
}

export interface ResultRow {
  grader_name: string;
  grader_type: string;
  score: number | null;
  passed: boolean | null;
  reasoning: string | null;
  /** As the providers reported them. */
  input_tokens: number;
  output_tokens: number;
  /** USD of the priced judge calls; the calls and the unpriced ones (not in cost) beside it. */
  cost: string;
  calls: number;
  unpriced_calls: number;
  latency_ms: number;
  error: string | null;
  /** The judge provider that answered (the last call's, when a fallback took over midway); null: no judge call. */
  provider: string | null;
}

export interface ItemOutcome {
  itemId: string;
  evaluationId: string;
  /** The span (and its trace) the item was taken from, which its results score. */
  source?: { spanId: string; traceId: string } | null;
  state: 'DONE' | 'ERRORED';
  passed: boolean;
  lastError: string | null;
  results: ResultRow[];
  judgeInputTokens: number;
  judgeOutputTokens: number;
  /** USD of the priced judge calls; the calls and the unpriced ones (not in judgeCost) beside it. */
  judgeCost: string;
  judgeCalls: number;
  judgeUnpricedCalls: number;
  /** The output generated for it (a GENERATED evaluation), stored with it. */
  generated?: Generated | null;
}

/**
 * Writes graded items (a group commit: the items that finished while the previous write ran), in
 * one statement, so atomically and in one round trip: marks each done, only while this claim holds
 * it and its evaluation runs; stores the results of those, adds them to their evaluations' counts
 * (completing an evaluation whose every item is counted) and the judge spending to the usage
 * counters of the day (with generation spending, which quotas count as judge spending). Returns
 * the ids written (an item whose claim was lost, to a taken-over
 * lease or a cancel, writes nothing) and the evaluations this write completed.
 */
export async function writeOutcomes(
  sql: Sql,
  token: string,
  day: Date,
  outcomes: (ItemOutcome & { userId: string | null; projectId: string | null })[],
): Promise<{ written: Set<string>; completed: Set<string> }> {
  const items = outcomes.map((o) => ({
    id: o.itemId,
    evaluation_id: o.evaluationId,
    state: o.state,
    last_error: o.lastError,
    passed: o.passed,
    input_tokens: o.judgeInputTokens,
    output_tokens: o.judgeOutputTokens,
    cost: o.judgeCost,
    calls: o.judgeCalls,
    unpriced_calls: o.judgeUnpricedCalls,
    // Generated output (left out, so NULL, when there is none) and what generating it spent
    // (its cost NULL when it could not be priced).
    generated: o.generated != null,
    output: o.generated ? o.generated.output : undefined,
    generation_input_tokens: o.generated?.inputTokens,
    generation_output_tokens: o.generated?.outputTokens,
    generation_cost: o.generated?.cost,
    generation_latency_ms: o.generated?.latencyMs,
    // Quotas count every model token and dollar: judging and generating.
    tokens:
      o.judgeInputTokens +
      o.judgeOutputTokens +
      (o.generated ? o.generated.inputTokens + o.generated.outputTokens : 0),
    user_id: o.userId,
    project_id: o.projectId,
  }));
  // Time-ordered ids, as Prisma makes them: lists page by id in creation order.
  // Stamped with the engine's clock (alert windows over results read it).
  const results = outcomes.flatMap((o) =>
    o.results.map((r) => ({
      ...r,
      id: uuidv7(),
      evaluation_id: o.evaluationId,
      evaluation_item_id: o.itemId,
      created_at: day.toISOString(),
    })),
  );
  const [row] = await sql<{ written: string[] | null; completed: string[] | null }>(
    `WITH o AS (
       SELECT DISTINCT ON (id) * FROM json_to_recordset($2::json) AS o(id uuid, evaluation_id uuid, state text, last_error text, passed boolean,
         tokens bigint, input_tokens bigint, output_tokens bigint, cost numeric, calls int, unpriced_calls int, generated boolean, output jsonb,
         generation_input_tokens int, generation_output_tokens int, generation_cost numeric, generation_latency_ms int, user_id uuid, project_id uuid)),
     marked AS (
       UPDATE evaluation_items i SET state = o.state::"EvaluationItemState", lease_token = NULL, lease_expires_at = NULL, completed_at = now(), last_error = o.last_error,
         output = coalesce(o.output, i.output), generation_input_tokens = coalesce(o.generation_input_tokens, i.generation_input_tokens),
         generation_output_tokens = coalesce(o.generation_output_tokens, i.generation_output_tokens),
         generation_cost = CASE WHEN o.generated THEN o.generation_cost ELSE i.generation_cost END, generation_latency_ms = coalesce(o.generation_latency_ms, i.generation_latency_ms)
       FROM o, evaluations e
       WHERE i.id = o.id AND i.lease_token = $1::uuid AND i.state = 'RUNNING' AND e.id = i.evaluation_id AND e.status = 'RUNNING'
       RETURNING i.id),
     stored AS (
       INSERT INTO evaluation_results (id, evaluation_id, evaluation_item_id, grader_name, grader_type, score, passed, reasoning,
         input_tokens, output_tokens, cost, calls, unpriced_calls, latency_ms, error, provider, created_at)
       SELECT r.id, r.evaluation_id, r.evaluation_item_id, r.grader_name, r.grader_type, r.score, r.passed, r.reasoning,
         r.input_tokens, r.output_tokens, r.cost, r.calls, r.unpriced_calls, r.latency_ms, r.error, r.provider, r.created_at
       FROM json_to_recordset($3::json) AS r(id uuid, evaluation_id uuid, evaluation_item_id uuid, grader_name text, grader_type text, score float8,
         passed boolean, reasoning text, input_tokens int, output_tokens int, cost numeric, calls int, unpriced_calls int, latency_ms int, error text,
         provider text, created_at timestamptz)
       JOIN marked m ON m.id = r.evaluation_item_id
       ON CONFLICT (evaluation_item_id, grader_name) DO NOTHING),
     -- Counts of the items written; judge and generation spending of every outcome (a lost claim still spent it).
     -- An evaluation whose every item is now counted (or skipped) completes in the same statement.
     counts AS (
       UPDATE evaluations e SET completed_count = e.completed_count + d.completed, passed_count = e.passed_count + d.passed,
         failed_count = e.failed_count + d.failed, errored_count = e.errored_count + d.errored,
         judge_input_tokens = e.judge_input_tokens + d.input_tokens, judge_output_tokens = e.judge_output_tokens + d.output_tokens,
         judge_cost = e.judge_cost + d.cost, judge_calls = e.judge_calls + d.calls, judge_unpriced_calls = e.judge_unpriced_calls + d.unpriced_calls,
         generation_input_tokens = e.generation_input_tokens + d.generation_input_tokens,
         generation_output_tokens = e.generation_output_tokens + d.generation_output_tokens, generation_cost = e.generation_cost + d.generation_cost,
         generation_calls = e.generation_calls + d.generation_calls, generation_unpriced_calls = e.generation_unpriced_calls + d.generation_unpriced_calls,
         status = CASE WHEN e.status = 'RUNNING' AND e.completed_count + e.skipped_count + d.completed >= e.total_count THEN 'COMPLETED'::"EvaluationStatus" ELSE e.status END,
         finished_at = CASE WHEN e.status = 'RUNNING' AND e.completed_count + e.skipped_count + d.completed >= e.total_count THEN now() ELSE e.finished_at END,
         updated_at = now()
       FROM (SELECT o.evaluation_id, count(m.id)::int AS completed,
               count(m.id) FILTER (WHERE o.state = 'DONE' AND o.passed)::int AS passed,
               count(m.id) FILTER (WHERE o.state = 'DONE' AND NOT o.passed)::int AS failed,
               count(m.id) FILTER (WHERE o.state = 'ERRORED')::int AS errored,
               sum(o.input_tokens)::bigint AS input_tokens, sum(o.output_tokens)::bigint AS output_tokens, sum(o.cost) AS cost,
               sum(o.calls)::int AS calls, sum(o.unpriced_calls)::int AS unpriced_calls,
               coalesce(sum(o.generation_input_tokens), 0)::bigint AS generation_input_tokens,
               coalesce(sum(o.generation_output_tokens), 0)::bigint AS generation_output_tokens,
               coalesce(sum(o.generation_cost), 0) AS generation_cost,
               count(*) FILTER (WHERE o.generated)::int AS generation_calls,
               count(*) FILTER (WHERE o.generated AND o.generation_cost IS NULL)::int AS generation_unpriced_calls
             FROM o LEFT JOIN marked m ON m.id = o.id GROUP BY o.evaluation_id) d
       WHERE e.id = d.evaluation_id
       RETURNING e.id, d.completed > 0 AND e.status = 'COMPLETED' AND e.completed_count + e.skipped_count = e.total_count AS done),
     spent AS (SELECT user_id, project_id, tokens, cost + coalesce(generation_cost, 0) AS cost FROM o),
     ${addJudgeSpendingFrom('spent', '$4', '$5')}
     SELECT (SELECT json_agg(id::text) FROM marked) AS written, (SELECT json_agg(id::text) FROM counts WHERE done) AS completed`,
    [
      token,
      jsonParam(items),
      jsonParam(results),
      day.toISOString().slice(0, 10),
      utcMinute(day).toISOString(),
    ],
  );
  return { written: new Set(row.written ?? []), completed: new Set(row.completed ?? []) };
}

/** Hands a claimed item back (a stopping worker): it is pending again, its attempt not counted. */
export function releaseItems(sql: Sql, token: string, ids: string[]) {
  return sql(
    `UPDATE evaluation_items SET state = 'PENDING', lease_token = NULL, lease_expires_at = NULL, attempts = greatest(attempts - 1, 0)
     WHERE id = ANY($2::uuid[]) AND lease_token = $1::uuid AND state = 'RUNNING'`,
    [token, ids],
  );
}

/** Stops an evaluation that has not finished: its unfinished items are canceled. */
export async function stopEvaluation(
  sql: Sql,
  evaluationId: string,
  status: 'CANCELED' | 'FAILED',
  error: { code: string; message: string } | null,
): Promise<boolean> {
  // Items first, then the evaluation: the order in which writes lock them (no deadlock).
  await sql(
    `UPDATE evaluation_items SET state = 'CANCELED', lease_token = NULL, lease_expires_at = NULL
     WHERE evaluation_id = $1::uuid AND state IN ('PENDING', 'RUNNING', 'AWAITING_OUTPUT')
       AND EXISTS (SELECT 1 FROM evaluations WHERE id = $1::uuid AND status IN ('QUEUED', 'RUNNING'))`,
    [evaluationId],
  );
  const rows = await sql(
    `UPDATE evaluations SET status = $2::"EvaluationStatus", finished_at = now(), updated_at = now(),
       cancel_requested_at = CASE WHEN $2 = 'CANCELED' THEN now() ELSE cancel_requested_at END, error_code = $3, error = $4
     WHERE id = $1::uuid AND status IN ('QUEUED', 'RUNNING') RETURNING id`,
    [evaluationId, status, error?.code ?? null, error?.message ?? null],
  );
  return rows.length > 0;
}

/** Puts an item this worker holds back in the queue, to be claimed again after `delayMs` (a provider outage). */
export function retryLater(sql: Sql, token: string, id: string, delayMs: number, reason: string) {
  return sql(
    `UPDATE evaluation_items SET state = 'PENDING', lease_token = NULL, lease_expires_at = NULL, next_attempt_at = now() + $3 * interval '1 millisecond',
       last_error = $4
     WHERE id = $2::uuid AND lease_token = $1::uuid AND state = 'RUNNING'`,
    [token, id, delayMs, `will try again: ${reason}`.slice(0, 2_000)],
  );
}

/** Extends the leases of items this worker still holds (grading or waiting for a slot). */
export function renewLeases(sql: Sql, token: string, leaseMs: number, ids: string[]) {
  return sql(
    `UPDATE evaluation_items SET lease_expires_at = now() + $3 * interval '1 millisecond'
     WHERE id = ANY($2::uuid[]) AND lease_token = $1::uuid AND state = 'RUNNING'`,
    [token, ids, leaseMs],
  );
}

/** Those of `ids` that are no longer running (canceled, failed): their in-flight work is aborted. */
export async function notRunning(sql: Sql, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await sql<{ id: string }>(
    `SELECT id::text FROM evaluations WHERE id = ANY($1::uuid[]) AND status NOT IN ('QUEUED', 'RUNNING')`,
    [ids],
  );
  return rows.map((r) => r.id);
}
