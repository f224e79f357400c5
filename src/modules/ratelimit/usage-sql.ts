// usage_counters: what each user and project spent per UTC day; usage_minutes: what each spent in
// its latest UTC minute (one row per subject, started afresh by the first write of a new minute,
// so the table never grows). Every statement over these tables is here; callers pass the transaction (`sql`) their spending is recorded in, so a counter never
// moves without the change it counts.
import { utcDay, utcMinute } from '../../lib/days';
import type { Sql } from '../../storage/db';

export type UsageSubject = 'USER' | 'PROJECT';

export interface UsageRow {
  requests: number;
  cost_points: string;
  evaluations: number;
  judge_tokens: string;
  judge_cost: string;
}

const UPSERT = `INSERT INTO usage_counters (id, subject_type, subject_id, day, requests, cost_points, evaluations, judge_tokens, judge_cost)`;
const ADD = `ON CONFLICT (subject_type, subject_id, day) DO UPDATE SET
  requests = usage_counters.requests + EXCLUDED.requests,
  cost_points = usage_counters.cost_points + EXCLUDED.cost_points,
  evaluations = usage_counters.evaluations + EXCLUDED.evaluations,
  judge_tokens = usage_counters.judge_tokens + EXCLUDED.judge_tokens,
  judge_cost = usage_counters.judge_cost + EXCLUDED.judge_cost`;

const MINUTE_UPSERT = `INSERT INTO usage_minutes (subject_type, subject_id, minute, evaluations, judge_tokens, judge_cost)`;
// A write of a newer minute starts the row afresh; one of an older minute (late) leaves it as it is.
const MINUTE_ADD = `ON CONFLICT (subject_type, subject_id) DO UPDATE SET
  evaluations = CASE WHEN EXCLUDED.minute = usage_minutes.minute THEN usage_minutes.evaluations + EXCLUDED.evaluations
    WHEN EXCLUDED.minute > usage_minutes.minute THEN EXCLUDED.evaluations ELSE usage_minutes.evaluations END,
  judge_tokens = CASE WHEN EXCLUDED.minute = usage_minutes.minute THEN usage_minutes.judge_tokens + EXCLUDED.judge_tokens
    WHEN EXCLUDED.minute > usage_minutes.minute THEN EXCLUDED.judge_tokens ELSE usage_minutes.judge_tokens END,
  judge_cost = CASE WHEN EXCLUDED.minute = usage_minutes.minute THEN usage_minutes.judge_cost + EXCLUDED.judge_cost
    WHEN EXCLUDED.minute > usage_minutes.minute THEN EXCLUDED.judge_cost ELSE usage_minutes.judge_cost END,
  minute = greatest(usage_minutes.minute, EXCLUDED.minute)`;

/**
 * CTEs `usage_daily` and `usage_minute` adding `subjects` (a relation of one row per subject:
 * type 'USER' | 'PROJECT', id, evaluations, tokens, cost) to the counters of `dayParam`'s day and
 * `minuteParam`'s minute. Every writer of the counters locks their rows in one order, daily rows
 * before minute rows and each by (type, id), so two writers for the same user and project never
 * wait on each other crosswise (Postgres would abort one with a deadlock). The order of
 * data-modifying CTEs is otherwise up to the executor: the minute insert reads the count of daily
 * rows first, which runs the daily insert to completion.
 */
function addSpendingCtes(subjects: string, dayParam: string, minuteParam: string) {
  return `usage_daily AS (${UPSERT}
       SELECT gen_random_uuid(), s.type::"UsageSubject", s.id, ${dayParam}::date, 0, 0, s.evaluations, s.tokens, s.cost
       FROM ${subjects} s ORDER BY s.type, s.id
       ${ADD}
       RETURNING subject_type, evaluations),
     usage_minute AS (${MINUTE_UPSERT}
       SELECT s.type::"UsageSubject", s.id, ${minuteParam}::timestamptz, s.evaluations, s.tokens, s.cost
       FROM ${subjects} s WHERE (SELECT count(*) FROM usage_daily) > 0 ORDER BY s.type, s.id
       ${MINUTE_ADD}
       RETURNING subject_type, evaluations)`;
}

/**
 * Adds evaluations and judge spending to a user's (when there is one) and a project's counters of
 * `day`; answers the project's and user's evaluations after the addition (their rows stay locked
 * until the caller commits, so parallel creations cannot all slip under a quota).
 */
export async function addUsage(
  sql: Sql,
  day: Date,
  subjects: { userId: string | null; projectId: string },
  add: { evaluations?: number; judgeTokens?: number; judgeCost?: string },
): Promise<{ user: number | null; project: number; userThisMinute: number | null }> {
  const rows = await sql<{ subject_type: UsageSubject; evaluations: number; minute: boolean }>(
    `WITH s(type, id, evaluations, tokens, cost) AS (
       SELECT v.column1, v.column2, $4::int, $5::bigint, $6::numeric
       FROM (VALUES ('USER', $1::uuid), ('PROJECT', $2::uuid)) v WHERE v.column2 IS NOT NULL),
     ${addSpendingCtes('s', '$3', '$7')}
     SELECT subject_type, evaluations, false AS minute FROM usage_daily
     UNION ALL SELECT subject_type, evaluations, true FROM usage_minute`,
    [
      subjects.userId,
      subjects.projectId,
      utcDay(day),
      add.evaluations ?? 0,
      add.judgeTokens ?? 0,
      add.judgeCost ?? '0',
      utcMinute(day).toISOString(),
    ],
  );
  const of = (type: UsageSubject, minute: boolean) =>
    rows.find((r) => r.subject_type === type && r.minute === minute)?.evaluations;
  return {
    user: of('USER', false) ?? null,
    project: of('PROJECT', false) ?? 0,
    userThisMinute: of('USER', true) ?? null,
  };
}

/**
 * Adds requests and cost points of many users (or projects: their FEEDBACK keys') for one day,
 * locking their rows in id order (see addSpendingCtes); answers each one's stored total.
 */
export function addRequests(
  sql: Sql,
  day: string,
  subject: UsageSubject,
  counts: { id: string; requests: number; points: number }[],
) {
  return sql<{ subject_id: string; requests: number }>(
    `${UPSERT}
     SELECT gen_random_uuid(), $5::"UsageSubject", u.id, $1::date, u.requests, u.points, 0, 0, 0
     FROM unnest($2::uuid[], $3::int[], $4::bigint[]) AS u(id, requests, points) ORDER BY u.id
     ${ADD}
     RETURNING subject_id::text, requests`,
    [
      day,
      counts.map((u) => u.id),
      counts.map((u) => u.requests),
      counts.map((u) => u.points),
      subject,
    ],
  );
}

/**
 * CTEs, for a statement that records judge spending, adding it per user and project to the daily
 * and minute counters: `source` is a relation with (user_id, project_id, tokens, cost), `dayParam`
 * the day's placeholder and `minuteParam` the minute start's (timestamptz). The CTE names it
 * takes: usage_spent, usage_daily, usage_minute.
 */
export function addJudgeSpendingFrom(source: string, dayParam: string, minuteParam: string) {
  return `usage_spent AS (
       SELECT s.type, s.id, 0 AS evaluations, sum(s.tokens)::bigint AS tokens, sum(s.cost) AS cost
       FROM (SELECT 'USER' AS type, user_id AS id, tokens, cost FROM ${source} WHERE user_id IS NOT NULL
             UNION ALL SELECT 'PROJECT', project_id, tokens, cost FROM ${source} WHERE project_id IS NOT NULL) s
       GROUP BY s.type, s.id HAVING sum(s.tokens) > 0),
     ${addSpendingCtes('usage_spent', dayParam, minuteParam)}`;
}

export interface MinuteRow {
  minute: Date;
  evaluations: number;
  judge_tokens: string;
  judge_cost: string;
}

/** A user's or a project's counters of the minute starting at `minute` (undefined: nothing counted in it). */
export async function readMinute(
  sql: Sql,
  subject: UsageSubject,
  subjectId: string,
  minute: Date,
): Promise<MinuteRow | undefined> {
  const [row] = await sql<MinuteRow>(
    `SELECT minute, evaluations, judge_tokens::text, trim_scale(judge_cost)::text AS judge_cost
     FROM usage_minutes WHERE subject_type = $1::"UsageSubject" AND subject_id = $2::uuid AND minute = $3::timestamptz`,
    [subject, subjectId, minute.toISOString()],
  );
  return row;
}

/** A user's or a project's counters of `day` (undefined: nothing counted yet). */
export async function readUsage(
  sql: Sql,
  subject: UsageSubject,
  subjectId: string,
  day: string,
): Promise<UsageRow | undefined> {
  const [row] = await sql<UsageRow>(
    `SELECT requests, cost_points::text, evaluations, judge_tokens::text, trim_scale(judge_cost)::text AS judge_cost
     FROM usage_counters WHERE subject_type = $1::"UsageSubject" AND subject_id = $2::uuid AND day = $3::date`,
    [subject, subjectId, day],
  );
  return row;
}

/**
 * Judge spending of every project on `day` (USD, a decimal string): the instance's daily judge
 * cost. Every judge spending is added to its project's row (a user's row too when there is one),
 * so the project rows alone sum it once.
 */
export async function readInstanceJudgeCost(sql: Sql, day: string): Promise<string> {
  const [row] = await sql<{ cost: string }>(
    `SELECT COALESCE(trim_scale(sum(judge_cost)), 0)::text AS cost
     FROM usage_counters WHERE subject_type = 'PROJECT' AND day = $1::date`,
    [day],
  );
  return row?.cost ?? '0';
}
