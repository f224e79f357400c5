// online_evaluation_tasks: one row per sampled trace or span of a rule, written by ingest (in its
// transaction) and by backfill, claimed by workers with a lease. The row's uniqueness (rule,
// trace, span) is what makes a target judged once per rule however many batches or backfills
// name it; the claim token is what makes its outcome written once however many workers race.
// Every statement over the table is here.
import type { Sql } from '../../storage/db';
import { jsonParam } from '../../storage/json-param';
import { addJudgeSpendingFrom } from '../ratelimit/usage-sql';
import { utcMinute } from '../../lib/days';

export interface QueuedTask {
  id: string;
  rule_id: string;
  project_id: string;
  trace_id: string;
  /** '' for a TRACE rule. */
  span_external_id: string;
  delay_seconds: number;
}

const QUEUED_COLUMNS = `id uuid, rule_id uuid, project_id uuid, trace_id uuid, span_external_id text, delay_seconds int`;

/**
 * One ingest batch's part, in one statement: its traces that existed before have their pending
 * tasks' due time pushed to now + delay (a trace is judged once its last batch is in), and the
 * targets sampled in it are queued, due after their rule's delay, each once (the caller dedupes).
 * A target queued before is not queued again: pending, it was just pushed; taken or done, it stays
 * as it is.
 */
export async function queueIngested(
  sql: Sql,
  existedTraceIds: string[],
  tasks: QueuedTask[],
): Promise<void> {
  await sql(
    `WITH pushed AS (
       UPDATE online_evaluation_tasks SET due_at = greatest(due_at, now() + delay_seconds * interval '1 second'), last_seen_at = now()
       WHERE trace_id = ANY($1::uuid[]) AND state = 'PENDING'
       RETURNING rule_id, trace_id, span_external_id)
     INSERT INTO online_evaluation_tasks (id, rule_id, project_id, trace_id, span_external_id, delay_seconds, due_at, last_seen_at)
     SELECT r.id, r.rule_id, r.project_id, r.trace_id, r.span_external_id, r.delay_seconds,
       now() + r.delay_seconds * interval '1 second', now()
     FROM json_to_recordset($2::json) AS r(${QUEUED_COLUMNS})
     WHERE NOT EXISTS (SELECT 1 FROM pushed p
                       WHERE p.rule_id = r.rule_id AND p.trace_id = r.trace_id AND p.span_external_id = r.span_external_id)
     ORDER BY r.rule_id, r.trace_id, r.span_external_id
     ON CONFLICT (rule_id, trace_id, span_external_id) DO NOTHING`,
    [existedTraceIds, JSON.stringify(tasks)],
  );
}

/**
 * Backfill: queues targets due now. A target queued before is left alone unless it was never
 * judged (skipped by a budget, canceled by a disable): that one is queued again. Returns how many
 * were queued.
 */
export async function queueBackfill(sql: Sql, tasks: QueuedTask[]): Promise<number> {
  if (!tasks.length) return 0;
  const rows = await sql<{ n: number }>(
    `WITH queued AS (
       INSERT INTO online_evaluation_tasks AS t (id, rule_id, project_id, trace_id, span_external_id, delay_seconds, due_at, last_seen_at, backfill)
       SELECT r.id, r.rule_id, r.project_id, r.trace_id, r.span_external_id, 0, now(), now(), true
       FROM json_to_recordset($1::json) AS r(${QUEUED_COLUMNS})
       ORDER BY r.rule_id, r.trace_id, r.span_external_id
       ON CONFLICT (rule_id, trace_id, span_external_id) DO UPDATE
         SET state = 'PENDING', due_at = now(), last_seen_at = now(), attempts = 0, last_error = NULL, done_at = NULL, backfill = true
         WHERE t.state IN ('SKIPPED', 'CANCELED')
       RETURNING 1)
     SELECT count(*)::int AS n FROM queued`,
    [JSON.stringify(tasks)],
  );
  return rows[0].n;
}

/** A disabled rule's pending tasks are canceled (backfill can queue them again). */
export async function cancelPending(sql: Sql, ruleId: string): Promise<void> {
  await sql(
    `UPDATE online_evaluation_tasks SET state = 'CANCELED', done_at = now() WHERE rule_id = $1::uuid AND state = 'PENDING'`,
    [ruleId],
  );
}

export interface ClaimedTask {
  id: string;
  rule_id: string;
  project_id: string;
  trace_id: string;
  span_external_id: string;
  attempts: number;
  backfill: boolean;
  /** The rule's updated_at: a worker re-reads a rule changed since it loaded it. */
  rule_version: string;
}

/**
 * Tasks whose lease expired after the last allowed attempt become ERRORED. Returns how many
 * (they write no scores: the workers that took them died each time).
 */
export async function reapExhausted(sql: Sql, maxAttempts: number): Promise<number> {
  const rows = await sql(
    `UPDATE online_evaluation_tasks SET state = 'ERRORED', lease_token = NULL, lease_expires_at = NULL, done_at = now(),
       last_error = 'the worker judging it stopped ' || attempts || ' times (lease expired)'
     WHERE id IN (SELECT id FROM online_evaluation_tasks WHERE state = 'RUNNING' AND lease_expires_at < now() AND attempts >= $1
                  FOR UPDATE SKIP LOCKED)
     RETURNING id`,
    [maxAttempts],
  );
  return rows.length;
}

/**
 * Claims up to `limit` due tasks of enabled rules, or whose lease expired before their last
 * attempt (those after it are the reaper's), the longest due first. One statement.
 */
export function claimTasks(
  sql: Sql,
  token: string,
  leaseMs: number,
  limit: number,
  maxAttempts: number,
) {
  return sql<ClaimedTask>(
    `UPDATE online_evaluation_tasks t SET state = 'RUNNING', lease_token = $1::uuid,
       lease_expires_at = now() + $2 * interval '1 millisecond', attempts = t.attempts + 1
     FROM evaluation_rules r
     WHERE r.id = t.rule_id AND t.id IN (
       SELECT c.id FROM online_evaluation_tasks c JOIN evaluation_rules cr ON cr.id = c.rule_id
       WHERE cr.enabled AND ((c.state = 'PENDING' AND c.due_at <= now())
         OR (c.state = 'RUNNING' AND c.lease_expires_at < now() AND c.attempts < $4))
       ORDER BY c.due_at
       LIMIT $3
       FOR UPDATE OF c SKIP LOCKED)
     RETURNING t.id::text, t.rule_id::text, t.project_id::text, t.trace_id::text, t.span_external_id, t.attempts, t.backfill,
       r.updated_at::text AS rule_version`,
    [token, leaseMs, limit, maxAttempts],
  );
}

export interface TaskOutcome {
  taskId: string;
  /** SKIPPED: its rule's judges could not spend (a quota or budget). */
  state: 'DONE' | 'ERRORED' | 'SKIPPED';
  lastError: string | null;
  judgeInputTokens: number;
  judgeOutputTokens: number;
  /** USD of the priced judge calls; the calls and the unpriced ones (not in judgeCost) beside it. */
  judgeCost: string;
  judgeCalls: number;
  judgeUnpricedCalls: number;
  /** The judge provider that answered each grader ({ grader name: provider }); null: none. */
  judgedBy?: Record<string, string> | null;
  /** Whose quota and budget the spending counts against. */
  userId: string | null;
  projectId: string;
}

/**
 * Marks tasks done, only those this claim still holds (a task whose lease another worker took
 * over, or that was handed back, writes nothing). Returns, for each marked, the seconds from the
 * last batch of its trace to now.
 */
export async function markDone(
  sql: Sql,
  token: string,
  outcomes: TaskOutcome[],
): Promise<Map<string, number>> {
  const rows = await sql<{ id: string; lag: number }>(
    `UPDATE online_evaluation_tasks t SET state = o.state::"OnlineEvaluationTaskState", lease_token = NULL, lease_expires_at = NULL,
       done_at = now(), last_error = o.last_error, judged_by = o.judged_by
     FROM json_to_recordset($2::json) AS o(id uuid, state text, last_error text, judged_by jsonb)
     WHERE t.id = o.id AND t.lease_token = $1::uuid AND t.state = 'RUNNING'
     RETURNING t.id::text, extract(epoch FROM now() - t.last_seen_at)::float8 AS lag`,
    [
      token,
      jsonParam(
        outcomes.map((o) => ({
          id: o.taskId,
          state: o.state,
          last_error: o.lastError,
          judged_by: o.judgedBy ?? null,
        })),
      ),
    ],
  );
  return new Map(rows.map((r) => [r.id, r.lag]));
}

/**
 * Adds the judge spending of every outcome (a lost claim spent it too) to its task and to the
 * usage counters of `day`, whose quotas and budgets it counts against.
 */
export async function addSpending(sql: Sql, day: Date, outcomes: TaskOutcome[]): Promise<void> {
  // Every outcome that called a judge: one whose provider reported no usage has no tokens and is
  // still counted (unpriced).
  const spent = outcomes
    .filter((o) => o.judgeCalls > 0)
    .map((o) => ({
      id: o.taskId,
      input_tokens: o.judgeInputTokens,
      output_tokens: o.judgeOutputTokens,
      tokens: o.judgeInputTokens + o.judgeOutputTokens,
      cost: o.judgeCost,
      calls: o.judgeCalls,
      unpriced_calls: o.judgeUnpricedCalls,
      user_id: o.userId,
      project_id: o.projectId,
    }));
  if (!spent.length) return;
  await sql(
    `WITH o AS (
       SELECT * FROM json_to_recordset($1::json) AS o(id uuid, input_tokens int, output_tokens int, tokens bigint, cost numeric,
         calls int, unpriced_calls int, user_id uuid, project_id uuid)),
     tasks AS (
       UPDATE online_evaluation_tasks t SET judge_input_tokens = t.judge_input_tokens + o.input_tokens,
         judge_output_tokens = t.judge_output_tokens + o.output_tokens, judge_cost = t.judge_cost + o.cost,
         judge_calls = t.judge_calls + o.calls, judge_unpriced_calls = t.judge_unpriced_calls + o.unpriced_calls
       FROM o WHERE t.id = o.id),
     ${addJudgeSpendingFrom('o', '$2', '$3')}
     SELECT 1`,
    [JSON.stringify(spent), day.toISOString().slice(0, 10), utcMinute(day).toISOString()],
  );
}

/** Puts a task this worker holds back in the queue, due again after `delayMs` (a provider outage). */
export function retryLater(sql: Sql, token: string, id: string, delayMs: number, reason: string) {
  return sql(
    `UPDATE online_evaluation_tasks SET state = 'PENDING', lease_token = NULL, lease_expires_at = NULL,
       due_at = now() + $3 * interval '1 millisecond', last_error = $4
     WHERE id = $2::uuid AND lease_token = $1::uuid AND state = 'RUNNING'`,
    [token, id, delayMs, `will try again: ${reason}`.slice(0, 2_000)],
  );
}

/** Hands claimed tasks back (a stopping worker): pending again, the attempt not counted. */
export function releaseTasks(sql: Sql, token: string, ids: string[]) {
  return sql(
    `UPDATE online_evaluation_tasks SET state = 'PENDING', lease_token = NULL, lease_expires_at = NULL, attempts = greatest(attempts - 1, 0)
     WHERE id = ANY($2::uuid[]) AND lease_token = $1::uuid AND state = 'RUNNING'`,
    [token, ids],
  );
}

/** Extends the leases of tasks this worker still holds. */
export function renewLeases(sql: Sql, token: string, leaseMs: number, ids: string[]) {
  return sql(
    `UPDATE online_evaluation_tasks SET lease_expires_at = now() + $3 * interval '1 millisecond'
     WHERE id = ANY($2::uuid[]) AND lease_token = $1::uuid AND state = 'RUNNING'`,
    [token, ids, leaseMs],
  );
}

export interface RuleStatsRow {
  sampled: number;
  pending: number;
  evaluated: number;
  errored: number;
  skipped: number;
  canceled: number;
  input_tokens: string;
  output_tokens: string;
  /** USD of the priced judge calls (not of unpriced_calls), whether or not any was priced. */
  cost: string;
  calls: number;
  unpriced_calls: number;
  lag_p50: number | null;
  lag_p95: number | null;
  lag_p99: number | null;
  lag_max: number | null;
}

/**
 * A rule's tasks by state, their judge spending, and the lag from the last batch of a trace to its
 * scores over the tasks queued by traffic (not backfill) judged in the last 24 hours.
 */
export async function ruleStats(sql: Sql, ruleId: string): Promise<RuleStatsRow> {
  const [row] = await sql<RuleStatsRow>(
    `SELECT count(*)::int AS sampled,
       count(*) FILTER (WHERE state IN ('PENDING', 'RUNNING'))::int AS pending,
       count(*) FILTER (WHERE state = 'DONE')::int AS evaluated,
       count(*) FILTER (WHERE state = 'ERRORED')::int AS errored,
       count(*) FILTER (WHERE state = 'SKIPPED')::int AS skipped,
       count(*) FILTER (WHERE state = 'CANCELED')::int AS canceled,
       COALESCE(sum(judge_input_tokens), 0)::text AS input_tokens,
       COALESCE(sum(judge_output_tokens), 0)::text AS output_tokens,
       trim_scale(COALESCE(sum(judge_cost), 0))::text AS cost,
       COALESCE(sum(judge_calls), 0)::int AS calls,
       COALESCE(sum(judge_unpriced_calls), 0)::int AS unpriced_calls,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM done_at - last_seen_at)) FILTER (WHERE ${LAG}) AS lag_p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM done_at - last_seen_at)) FILTER (WHERE ${LAG}) AS lag_p95,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM done_at - last_seen_at)) FILTER (WHERE ${LAG}) AS lag_p99,
       max(extract(epoch FROM done_at - last_seen_at)::float8) FILTER (WHERE ${LAG}) AS lag_max
     FROM online_evaluation_tasks WHERE rule_id = $1::uuid`,
    [ruleId],
  );
  return row;
}

const LAG = `state = 'DONE' AND NOT backfill AND done_at > now() - interval '24 hours'`;
