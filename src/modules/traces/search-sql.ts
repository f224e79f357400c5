// The `spans` root: a project's spans holding a phrase (phrase-sql.ts), with the other conditions
// of SpanFilter, newest first in keyset pages.
import type { SpanKind, SpanStatus } from '../../generated/prisma/enums';
import { normaliseModelName } from '../../lib/model-name';
import type { Sql } from '../../storage/db';
import { spanTextSql } from './phrase-sql';
import { spanColumns, type SpanRow } from './read-sql';

export interface SpanSearchFilter {
  text: string;
  from?: Date | null;
  to?: Date | null;
  /** A trace of the project (checked by the caller). */
  traceId?: string | null;
  kind?: SpanKind | null;
  status?: SpanStatus | null;
  /** Compared normalised (src/lib/model-name.ts), as TraceFilter.model. */
  model?: string | null;
  userId?: string | null;
}

export function spanSearchFilterSql(
  projectId: string,
  f: SpanSearchFilter,
  params: unknown[],
): string {
  const p = (value: unknown) => `$${params.push(value)}`;
  const project = `${p(projectId)}::uuid`;
  const where = [`s.project_id = ${project}`, spanTextSql('s', project, f.text, params)];
  if (f.from) where.push(`s.start_time >= ${p(f.from)}`);
  if (f.to) where.push(`s.start_time < ${p(f.to)}`);
  if (f.traceId != null) where.push(`s.trace_id = ${p(f.traceId)}::uuid`);
  if (f.kind) where.push(`s.kind = ${p(f.kind)}::"SpanKind"`);
  if (f.status) where.push(`s.status = ${p(f.status)}::"SpanStatus"`);
  if (f.model != null) where.push(`s.normalized_model = ${p(normaliseModelName(f.model))}`);
  if (f.userId != null) where.push(`s.user_id = ${p(f.userId)}`);
  return where.join(' AND ');
}

export interface SpanSearch {
  projectId: string;
  filter: SpanSearchFilter;
  /** [start time, id] of the last span of the previous page. */
  after: [unknown, string] | null;
  limit: number;
  /** Span fields the operation selects (all columns when not known). */
  fields?: ReadonlySet<string>;
}

/** The statement of a page of matching spans, newest first (one row more than `limit`). */
export function searchSpansStatement(input: SpanSearch): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const where = spanSearchFilterSql(input.projectId, input.filter, params);
  const keyset = input.after
    ? ` AND (s.start_time, s.id) < ($${params.push(input.after[0])}::timestamptz, $${params.push(input.after[1])}::uuid)`
    : '';
  const text = `SELECT ${spanColumns(input.fields)}, s.start_time AS "sortKey"
     FROM spans s WHERE ${where}${keyset}
     ORDER BY s.start_time DESC, s.id DESC LIMIT ${input.limit + 1}`;
  return { text, params };
}

export function searchSpans(sql: Sql, input: SpanSearch) {
  const { text, params } = searchSpansStatement(input);
  return sql<SpanRow & { sortKey: Date }>(text, params);
}
