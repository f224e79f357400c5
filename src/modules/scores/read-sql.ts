// Reads of scores for the API: a project's scores by filter (newest first, keyset pages), by id,
// and the first page of many traces' or spans' scores in one statement (their DataLoaders).
import type { ScoreDataType, ScoreSource } from '../../generated/prisma/enums';
import type { Sql } from '../../storage/db';
import { SCORE_COLUMNS, type ScoreRow } from './repo';

export interface ScoreListFilter {
  name?: string | null;
  source?: ScoreSource | null;
  dataType?: ScoreDataType | null;
  /** Scores of the trace and of its spans. */
  traceId?: string | null;
  spanId?: string | null;
  sessionId?: string | null;
  /** The end user: the score's own userId, else that of the span or trace scored (END_USER_SQL). */
  userId?: string | null;
  from?: Date | null;
  to?: Date | null;
  minValue?: number | null;
  maxValue?: number | null;
}

/**
 * The end user a score is about or from: the one who gave it (feedback), else the end user of the
 * span scored, else that of the trace scored (for span scores, the span's trace). Session and
 * evaluation-item scores have only their own.
 */
export const END_USER_SQL = `COALESCE(sc.user_id,
  (SELECT sp.user_id FROM spans sp WHERE sp.id = sc.span_id),
  (SELECT t.user_id FROM traces t WHERE t.id = sc.trace_id))`;

/** The WHERE of a project's scores matching `f` (aliased `sc`); pushes its parameters. */
export function scoreFilterSql(projectId: string, f: ScoreListFilter, params: unknown[]): string {
  const p = (value: unknown) => `$${params.push(value)}`;
  const where = [`sc.project_id = ${p(projectId)}::uuid`];
  if (f.name != null) where.push(`sc.name = ${p(f.name)}`);
  if (f.source) where.push(`sc.source = ${p(f.source)}::"ScoreSource"`);
  if (f.dataType) where.push(`sc.data_type = ${p(f.dataType)}::"ScoreDataType"`);
  if (f.traceId != null) where.push(`sc.trace_id = ${p(f.traceId)}::uuid`);
  if (f.spanId != null) where.push(`sc.span_id = ${p(f.spanId)}::uuid`);
  if (f.sessionId != null) where.push(`sc.session_id = ${p(f.sessionId)}`);
  if (f.userId != null) where.push(`${END_USER_SQL} = ${p(f.userId)}`);
  if (f.from) where.push(`sc.scored_at >= ${p(f.from)}`);
  if (f.to) where.push(`sc.scored_at < ${p(f.to)}`);
  if (f.minValue != null) where.push(`sc.value >= ${p(f.minValue)}`);
  if (f.maxValue != null) where.push(`sc.value <= ${p(f.maxValue)}`);
  return where.join(' AND ');
}

/** Rows of `alias` after a cursor ([timestamp, id]) in newest-first order; pushes its parameters. */
const afterSql = (alias: string, after: [unknown, string] | null | undefined, params: unknown[]) =>
  after
    ? ` AND (${alias}.scored_at, ${alias}.id) < ($${params.push(after[0])}::timestamptz, $${params.push(after[1])}::uuid)`
    : '';

/** A page of a project's scores, newest first, after `cursor` ([timestamp, id]); one row more than `limit`. */
export function listScores(
  sql: Sql,
  input: {
    projectId: string;
    filter: ScoreListFilter;
    after: [unknown, string] | null;
    limit: number;
  },
) {
  const params: unknown[] = [];
  const where = scoreFilterSql(input.projectId, input.filter, params);
  const keyset = afterSql('sc', input.after, params);
  return sql<ScoreRow>(
    `SELECT ${SCORE_COLUMNS} FROM scores sc WHERE ${where}${keyset}
     ORDER BY sc.scored_at DESC, sc.id DESC LIMIT ${input.limit + 1}`,
    params,
  );
}

export async function countScores(
  sql: Sql,
  projectId: string,
  filter: ScoreListFilter,
): Promise<number> {
  const params: unknown[] = [];
  const rows = await sql<{ n: number }>(
    `SELECT count(*)::int AS n FROM scores sc WHERE ${scoreFilterSql(projectId, filter, params)}`,
    params,
  );
  return rows[0].n;
}

export const scoresById = (sql: Sql, ids: readonly string[]) =>
  sql<ScoreRow>(`SELECT ${SCORE_COLUMNS} FROM scores sc WHERE sc.id = ANY($1::uuid[])`, [ids]);

/** What a list of scores belongs to: a trace (its spans' scores included) or a span. */
export type ScoreOwner = 'trace_id' | 'span_id';

/** The first `limit` scores of each owner (newest first), optionally after a cursor. */
export function scoresOf(
  sql: Sql,
  owner: ScoreOwner,
  ids: readonly string[],
  limit: number,
  after?: [unknown, string] | null,
) {
  const params: unknown[] = [ids, limit];
  const keyset = afterSql('s', after, params);
  return sql<ScoreRow>(
    `SELECT ${SCORE_COLUMNS} FROM unnest($1::uuid[]) AS ids(id)
     CROSS JOIN LATERAL (SELECT * FROM scores s WHERE s.${owner} = ids.id${keyset}
       ORDER BY s.scored_at DESC, s.id DESC LIMIT $2) sc
     ORDER BY sc.${owner}, sc.scored_at DESC, sc.id DESC`,
    params,
  );
}

/** How many scores each owner has. */
export function countScoresOf(sql: Sql, owner: ScoreOwner, ids: readonly string[]) {
  return sql<{ id: string; n: number }>(
    `SELECT ${owner}::text AS id, count(*)::int AS n FROM scores WHERE ${owner} = ANY($1::uuid[]) GROUP BY 1`,
    [ids],
  );
}
