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
    `WITH s(type, id) AS (SELECT * FROM (VALUES ('USER', $1::uuid), ('PROJECT', $2::uuid)) v WHERE v.column2 IS NOT NULL),
     daily AS (${UPSERT}
       SELECT gen_random_uuid(), s.type::"UsageSubject", s.id, $3::date, 0, 0, $4, $5, $6::numeric FROM s
       ${ADD}
       RETURNING subject_type, evaluations),
     minute AS (${MINUTE_UPSERT}
       SELECT s.type::"UsageSubject", s.id, $7::timestamptz, $4, $5, $6::numeric FROM s
       ${MINUTE_ADD}
       RETURNING subject_type, evaluations)
     SELECT subject_type, evaluations, false AS minute FROM daily
     UNION ALL SELECT subject_type, evaluations, true FROM minute`,
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
 * Adds requests and cost points of many users (or projects: their FEEDBACK keys') for one day;
 * answers each one's stored total.
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
     FROM unnest($2::uuid[], $3::int[], $4::bigint[]) AS u(id, requests, points)
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
 * The statement, for a CTE of the outcome write, that adds judge spending per user and project:
 * `source` is a relation with (user_id, project_id, tokens, cost) and `dayParam` the day's
 * placeholder. Kept here so the counters' upsert is written once.
 */
export function addJudgeSpendingFrom(source: string, dayParam: string) {
  return `${UPSERT}
     SELECT gen_random_uuid(), s.type::"UsageSubject", s.id, ${dayParam}::date, 0, 0, 0, sum(s.tokens), sum(s.cost)
     FROM (SELECT 'USER' AS type, user_id AS id, tokens, cost FROM ${source} WHERE user_id IS NOT NULL
           UNION ALL SELECT 'PROJECT', project_id, tokens, cost FROM ${source} WHERE project_id IS NOT NULL) s
     GROUP BY s.type, s.id HAVING sum(s.tokens) > 0
     ${ADD}`;
}

/**
 * The same for usage_minutes, as a second CTE beside `addJudgeSpendingFrom`'s: `minuteParam` is
 * the placeholder of the minute's start (timestamptz).
 */
export function addJudgeSpendingPerMinuteFrom(source: string, minuteParam: string) {
  return `${MINUTE_UPSERT}
     SELECT s.type::"UsageSubject", s.id, ${minuteParam}::timestamptz, 0, sum(s.tokens), sum(s.cost)
     FROM (SELECT 'USER' AS type, user_id AS id, tokens, cost FROM ${source} WHERE user_id IS NOT NULL
           UNION ALL SELECT 'PROJECT', project_id, tokens, cost FROM ${source} WHERE project_id IS NOT NULL) s
     GROUP BY s.type, s.id HAVING sum(s.tokens) > 0
     ${MINUTE_ADD}`;
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
