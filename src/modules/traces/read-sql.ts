// Reads of traces and spans as plain rows, with only the columns an operation selected. These
// are the hot read paths (pages of traces with their spans), so they skip the ORM: one statement
// per list, whatever the number of traces.
import type { Sql } from '../../storage/db';
import type { SpanStatus } from '../../generated/prisma/enums';
import { normaliseModelName } from '../../lib/model-name';
import { containsPattern, spanTextSql } from './phrase-sql';

// GraphQL field → SQL expression. Fields not listed here read no column of their own.
export const TRACE_COLUMNS: Record<string, string> = {
  externalId: 't.external_id',
  name: 't.name',
  userId: 't.user_id',
  sessionId: 't.session_id',
  tags: 't.tags',
  metadata: 't.metadata',
  startTime: 't.start_time',
  endTime: 't.end_time',
  latencyMs: 't.latency_ms',
  status: 't.status::text',
  spanCount: 't.span_count',
  errorCount: 't.error_count',
  inputTokens: 't.input_tokens::float8',
  outputTokens: 't.output_tokens::float8',
  cachedInputTokens: 't.cached_input_tokens::float8',
  totalTokens: 't.total_tokens::float8',
  inputCost: 'trim_scale(t.input_cost)::text',
  outputCost: 'trim_scale(t.output_cost)::text',
  totalCost: 'trim_scale(t.total_cost)::text',
  unpricedSpanCount: 't.unpriced_span_count',
  spans: 't.span_count',
};

export const SPAN_COLUMNS: Record<string, string> = {
  parentExternalId: 's.parent_external_id',
  kind: 's.kind::text',
  name: 's.name',
  model: 's.model',
  normalizedModel: 's.normalized_model',
  provider: 's.provider',
  startTime: 's.start_time',
  endTime: 's.end_time',
  latencyMs: 's.latency_ms',
  status: 's.status::text',
  error: 's.error',
  userId: 's.user_id',
  sessionId: 's.session_id',
  tags: 's.tags',
  metadata: 's.metadata',
  input: 's.input',
  output: 's.output',
  textTruncated: 's.text_truncated',
  inputTokens: 's.input_tokens',
  outputTokens: 's.output_tokens',
  cachedInputTokens: 's.cached_input_tokens',
  totalTokens: 's.total_tokens',
  usageEstimated: 's.usage_estimated',
  inputCost: 'trim_scale(s.input_cost)::text',
  outputCost: 'trim_scale(s.output_cost)::text',
  cachedInputCost: 'trim_scale(s.cached_input_cost)::text',
  totalCost: 'trim_scale(s.total_cost)::text',
  costProvided: 's.cost_provided',
  priceSource: 's.price_source::text',
};

// Always read: ids, the project (authorisation) and the keys loaders group spans by. A span's
// parent id and start time are read when the operation needs them (see loadersOf in loaders.ts).
export const TRACE_KEYS = ['t.id::text AS "id"', 't.project_id::text AS "projectId"'];
export const SPAN_KEYS = [
  's.id::text AS "id"',
  's.project_id::text AS "projectId"',
  's.trace_id::text AS "traceId"',
  's.external_id AS "externalId"',
];

/** The key columns and those of `fields`; all columns when `fields` is not known. */
function columns(
  keys: string[],
  map: Record<string, string>,
  fields: ReadonlySet<string> | undefined,
): string {
  const list = [...keys];
  for (const field of fields ?? Object.keys(map)) {
    const sql = map[field];
    if (sql && !list.some((c) => c.endsWith(`"${field}"`))) list.push(`${sql} AS "${field}"`);
  }
  return list.join(', ');
}

export const traceColumns = (fields?: ReadonlySet<string>) =>
  columns(TRACE_KEYS, TRACE_COLUMNS, fields);
export const spanColumns = (fields?: ReadonlySet<string>) =>
  columns(SPAN_KEYS, SPAN_COLUMNS, fields);

export interface TraceRow {
  id: string;
  projectId: string;
  [field: string]: unknown;
}

export interface SpanRow {
  id: string;
  projectId: string;
  traceId: string;
  externalId: string;
  /** Read when the operation selects it or a tree field (parent, children, rootSpans). */
  parentExternalId: string | null;
  /** Read when the operation selects it or a span cursor. */
  startTime: Date;
  [field: string]: unknown;
}

export interface TraceListFilter {
  from?: Date | null;
  to?: Date | null;
  userId?: string | null;
  sessionId?: string | null;
  tags?: string[] | null;
  status?: SpanStatus | null;
  /** Compared normalised (src/lib/model-name.ts): gpt-4o finds gpt-4o-2024-08-06 and azure/gpt-4o. */
  model?: string | null;
  /** The model name exactly as sent. */
  modelExact?: string | null;
  name?: string | null;
  /** Traces with a span holding this phrase in its input or output (phrase-sql.ts). */
  text?: string | null;
  minCost?: string | null;
  minLatencyMs?: number | null;
}

export type TraceOrderField = 'startTime' | 'latencyMs' | 'totalCost';

// Sort keys: latency and cost are nullable, so nulls sort last in either direction (a cost is
// below 1e10: Decimal(20, 10)).
const ORDER_SQL: Record<TraceOrderField, { asc: string; desc: string; cast: string }> = {
  startTime: { asc: 't.start_time', desc: 't.start_time', cast: 'timestamptz' },
  latencyMs: {
    asc: 'COALESCE(t.latency_ms, 2147483647)',
    desc: 'COALESCE(t.latency_ms, -1)',
    cast: 'int',
  },
  totalCost: {
    asc: 'COALESCE(t.total_cost, 10000000000)',
    desc: 'COALESCE(t.total_cost, -1)',
    cast: 'numeric',
  },
};

export function traceFilterSql(projectId: string, f: TraceListFilter, params: unknown[]): string {
  params.push(projectId);
  const where = ['t.project_id = $1::uuid'];
  const p = (value: unknown) => `$${params.push(value)}`;
  if (f.from) where.push(`t.start_time >= ${p(f.from)}`);
  if (f.to) where.push(`t.start_time < ${p(f.to)}`);
  if (f.userId != null) where.push(`t.user_id = ${p(f.userId)}`);
  if (f.sessionId != null) where.push(`t.session_id = ${p(f.sessionId)}`);
  if (f.tags?.length) where.push(`t.tags @> ${p(f.tags)}::text[]`);
  if (f.status) where.push(`t.status = ${p(f.status)}::"SpanStatus"`);
  if (f.model != null)
    where.push(
      `EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.id AND s.normalized_model = ${p(normaliseModelName(f.model))})`,
    );
  if (f.modelExact != null)
    where.push(
      `EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.id AND s.model = ${p(f.modelExact)})`,
    );
  if (f.name != null) where.push(`t.name ILIKE ${p(containsPattern(f.name))}`);
  if (f.text != null)
    where.push(
      `t.id IN (SELECT s.trace_id FROM spans s WHERE s.project_id = $1::uuid AND ${spanTextSql('s', '$1::uuid', f.text, params)})`,
    );
  if (f.minCost != null) where.push(`t.total_cost >= ${p(f.minCost)}::numeric`);
  if (f.minLatencyMs != null) where.push(`t.latency_ms >= ${p(f.minLatencyMs)}`);
  return where.join(' AND ');
}

export interface TraceList {
  projectId: string;
  filter: TraceListFilter;
  order: TraceOrderField;
  direction: 'asc' | 'desc';
  after: [unknown, string] | null;
  limit: number;
  fields?: ReadonlySet<string>;
}

/** A page of a project's traces after `cursor` ([sort value, id]); one more row than `limit` tells if there is a next page. */
export function listTraces(sql: Sql, input: TraceList) {
  const { text, params } = listTracesStatement(input);
  return sql<TraceRow & { sortKey: unknown }>(text, params);
}

/** The statement listTraces runs (tests EXPLAIN it). */
export function listTracesStatement(input: TraceList): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const where = traceFilterSql(input.projectId, input.filter, params);
  const order = ORDER_SQL[input.order];
  const key = order[input.direction];
  const keyset = input.after
    ? ` AND (${key}, t.id) ${input.direction === 'desc' ? '<' : '>'} ($${params.push(input.after[0])}::${order.cast}, $${params.push(input.after[1])}::uuid)`
    : '';
  const text = `SELECT ${traceColumns(input.fields)}, ${key}${input.order === 'totalCost' ? '::text' : ''} AS "sortKey"
     FROM traces t WHERE ${where}${keyset}
     ORDER BY ${key} ${input.direction}, t.id ${input.direction} LIMIT ${input.limit + 1}`;
  return { text, params };
}

export async function countTraces(
  sql: Sql,
  projectId: string,
  filter: TraceListFilter,
): Promise<number> {
  const params: unknown[] = [];
  const rows = await sql<{ n: number }>(
    `SELECT count(*)::int AS n FROM traces t WHERE ${traceFilterSql(projectId, filter, params)}`,
    params,
  );
  return rows[0].n;
}

export const tracesById = (sql: Sql, ids: readonly string[], fields?: ReadonlySet<string>) =>
  sql<TraceRow>(`SELECT ${traceColumns(fields)} FROM traces t WHERE t.id = ANY($1::uuid[])`, [ids]);

export const spansById = (sql: Sql, ids: readonly string[], fields?: ReadonlySet<string>) =>
  sql<SpanRow>(`SELECT ${spanColumns(fields)} FROM spans s WHERE s.id = ANY($1::uuid[])`, [ids]);

/** The first `limit` spans of each trace (oldest first), optionally after a (startTime, id) cursor. */
export function spansOfTraces(
  sql: Sql,
  traceIds: readonly string[],
  limit: number,
  fields?: ReadonlySet<string>,
  after?: [string, string] | null,
) {
  const params: unknown[] = [traceIds, limit];
  const keyset = after
    ? ` AND (s.start_time, s.id) > ($${params.push(after[0])}::timestamptz, $${params.push(after[1])}::uuid)`
    : '';
  return sql<SpanRow>(
    `SELECT ${spanColumns(fields)} FROM unnest($1::uuid[]) AS ids(id)
     CROSS JOIN LATERAL (SELECT * FROM spans s WHERE s.trace_id = ids.id${keyset} ORDER BY s.start_time, s.id LIMIT $2) s
     ORDER BY s.trace_id, s.start_time, s.id`,
    params,
  );
}

/** Spans whose parent is one of (traceId, externalId). */
export function childrenOf(
  sql: Sql,
  parents: readonly { traceId: string; externalId: string }[],
  fields?: ReadonlySet<string>,
) {
  return sql<SpanRow>(
    `SELECT ${spanColumns(fields)} FROM unnest($1::uuid[], $2::text[]) AS p(trace_id, external_id)
     JOIN spans s ON s.trace_id = p.trace_id AND s.parent_external_id = p.external_id
     ORDER BY s.start_time, s.id`,
    [parents.map((p) => p.traceId), parents.map((p) => p.externalId)],
  );
}

/** Spans by (traceId, externalId). */
export function spansByExternalId(
  sql: Sql,
  keys: readonly { traceId: string; externalId: string }[],
  fields?: ReadonlySet<string>,
) {
  return sql<SpanRow>(
    `SELECT ${spanColumns(fields)} FROM unnest($1::uuid[], $2::text[]) AS k(trace_id, external_id)
     JOIN spans s ON s.trace_id = k.trace_id AND s.external_id = k.external_id`,
    [keys.map((k) => k.traceId), keys.map((k) => k.externalId)],
  );
}
