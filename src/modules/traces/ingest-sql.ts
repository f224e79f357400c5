// Bulk writes of one ingest batch, in one transaction whatever the batch size: one statement for
// the traces, one for the spans of new traces; and, only for traces that already existed, one
// span upsert and one recount. Rows travel as one JSON parameter (json_to_recordset), which both
// Postgres and PGlite read quickly and which keeps the SQL independent of the batch size.
import type { Sql } from '../../storage/db';
import { isUnpricedSql } from '../costs/unpriced';
import type { TraceTotals } from './trace-totals';
import { jsonParam } from '../../storage/json-param';
import { addContributionSql, spanFacts } from '../analytics/rollup-sql';
import { queueTextSql } from './text-index';

/** One span row, ready to write: null means "not sent" (an update keeps the stored value). */
export interface SpanRow {
  id: string;
  /** Set once the trace row is known. */
  trace_id?: string;
  trace_external_id: string;
  external_id: string;
  parent_external_id: string | null;
  kind: string | null;
  name: string | null;
  /** As sent. */
  model: string | null;
  /** normaliseModelName(model) (src/lib/model-name.ts). */
  normalized_model: string | null;
  provider: string | null;
  start_time: string | null;
  end_time: string | null;
  status: string | null;
  error: string | null;
  user_id: string | null;
  session_id: string | null;
  tags: string[] | null;
  metadata: unknown;
  input: string | null;
  output: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cached_input_tokens: number | null;
  total_tokens: number | null;
  usage_estimated: boolean | null;
  text_truncated: boolean | null;
  input_cost: string | null;
  output_cost: string | null;
  cached_input_cost: string | null;
  total_cost: string | null;
  cost_provided: boolean | null;
  /** Set with the cost (null: none), so an update keeps the stored cost and its source together. */
  price_source: 'PROVIDED' | 'TABLE' | 'DEFAULT' | null;
}

export interface TraceRow extends TraceTotals {
  id: string;
  external_id: string;
}

const SPAN_COLUMNS = `id uuid, trace_id uuid, external_id text, parent_external_id text, kind text, name text,
  model text, normalized_model text, provider text, start_time timestamptz, end_time timestamptz, status text, error text, user_id text,
  session_id text, tags text[], metadata jsonb, input text, output text, input_tokens int, output_tokens int,
  cached_input_tokens int, total_tokens int, usage_estimated boolean, text_truncated boolean, input_cost numeric,
  output_cost numeric, cached_input_cost numeric, total_cost numeric, cost_provided boolean, price_source text`;

const TRACE_COLUMNS = `id uuid, external_id text, name text, user_id text, session_id text, tags text[], metadata jsonb,
  start_time timestamptz, end_time timestamptz, latency_ms int, status text, span_count int, error_count int,
  input_tokens bigint, output_tokens bigint, cached_input_tokens bigint, total_tokens bigint, input_cost numeric,
  output_cost numeric, total_cost numeric, unpriced_span_count int`;

export interface StoredTrace {
  id: string;
  external_id: string;
  existed: boolean;
  /** As stored before this batch (an existing trace) or from it (a new one). */
  user_id: string | null;
  session_id: string | null;
  tags: string[] | null;
}

/**
 * Creates the traces that do not exist yet, with their totals, and locks those that do (their
 * totals are recounted after their spans are written). Returns every trace's id and whether it
 * existed before (xmax is set on a row the ON CONFLICT branch updated), with its end user,
 * session and tags so far.
 */
export async function upsertTraces(sql: Sql, projectId: string, traces: TraceRow[]) {
  return sql<StoredTrace>(
    `INSERT INTO traces (id, project_id, external_id, name, user_id, session_id, tags, metadata, start_time, end_time,
       latency_ms, status, span_count, error_count, input_tokens, output_tokens, cached_input_tokens, total_tokens,
       input_cost, output_cost, total_cost, unpriced_span_count, updated_at)
     SELECT r.id, $1::uuid, r.external_id, r.name, r.user_id, r.session_id, r.tags, r.metadata, r.start_time, r.end_time,
       r.latency_ms, r.status::"SpanStatus", r.span_count, r.error_count, r.input_tokens, r.output_tokens,
       r.cached_input_tokens, r.total_tokens, r.input_cost, r.output_cost, r.total_cost, r.unpriced_span_count, now()
     FROM json_to_recordset($2::json) AS r(${TRACE_COLUMNS})
     ORDER BY r.external_id
     ON CONFLICT (project_id, external_id) DO UPDATE SET updated_at = now()
     RETURNING id::text, external_id, (xmax <> 0) AS existed, user_id, session_id, tags`,
    [projectId, jsonParam(traces)],
  );
}

const INSERT_SPANS = `INSERT INTO spans (id, project_id, trace_id, external_id, parent_external_id, kind, name, model, normalized_model, provider,
         start_time, end_time, latency_ms, status, error, user_id, session_id, tags, metadata, input, output,
         input_tokens, output_tokens, cached_input_tokens, total_tokens, usage_estimated, text_truncated,
         input_cost, output_cost, cached_input_cost, total_cost, cost_provided, price_source, updated_at)
       SELECT r.id, $1::uuid, r.trace_id, r.external_id, r.parent_external_id, COALESCE(r.kind, 'GENERIC')::"SpanKind",
         r.name, r.model, r.normalized_model, r.provider, r.start_time, r.end_time,
         (extract(epoch FROM r.end_time - r.start_time) * 1000)::int, COALESCE(r.status, 'UNSET')::"SpanStatus",
         r.error, r.user_id, r.session_id, COALESCE(r.tags, '{}'), r.metadata, r.input, r.output,
         COALESCE(r.input_tokens, 0), COALESCE(r.output_tokens, 0), COALESCE(r.cached_input_tokens, 0),
         COALESCE(r.total_tokens, 0), COALESCE(r.usage_estimated, false), COALESCE(r.text_truncated, false),
         r.input_cost, r.output_cost, r.cached_input_cost, r.total_cost, COALESCE(r.cost_provided, false),
         r.price_source::"PriceSource", now()
       FROM r`;

/** What the text index's queue reads of a written span (text-index.ts queueTextSql). */
const WRITTEN_TEXT = (s: string) =>
  `${s}.id AS span_id, (${s}.input IS NOT NULL OR ${s}.output IS NOT NULL) AS has_text`;

/**
 * Spans of traces this transaction created: nothing to merge with. Adds them to the rollups when
 * `rollups` (config.rollups.enabled; off, the spans alone, as analytics then read spans only).
 */
export async function insertSpans(
  sql: Sql,
  projectId: string,
  spans: SpanRow[],
  rollups: boolean,
): Promise<void> {
  await sql(
    `WITH r AS (SELECT * FROM json_to_recordset($2::json) AS r(${SPAN_COLUMNS})),
     inserted AS (${INSERT_SPANS} RETURNING ${spanFacts('spans')}, ${WRITTEN_TEXT('spans')}),
     ${queueTextSql('inserted')}
     ${rollups ? addContributionSql('inserted') : 'SELECT 1'}`,
    [projectId, jsonParam(spans)],
  );
}

/**
 * Inserts new spans and merges sent fields into existing ones, in one statement: the UPDATE
 * sees the table as it was before the INSERT of the same statement, so it touches old rows only
 * (a data-modifying WITH runs to completion even though nothing reads it). The rollups lose the
 * old values of the updated spans (`old`, read from the same snapshot) and gain the new ones and
 * the inserted spans: the trace rows this transaction locked first keep any other writer of
 * these spans out until it commits.
 */
export async function upsertSpans(
  sql: Sql,
  projectId: string,
  spans: SpanRow[],
  rollups: boolean,
): Promise<void> {
  const contribution = rollups
    ? `old AS (SELECT ${spanFacts('o')} FROM spans o JOIN r ON o.trace_id = r.trace_id AND o.external_id = r.external_id),
       taken AS (${addContributionSql('old', -1)} RETURNING 1)
       ${addContributionSql('(SELECT * FROM inserted UNION ALL SELECT * FROM updated)')}`
    : 'SELECT 1';
  await sql(
    `WITH r AS (SELECT * FROM json_to_recordset($2::json) AS r(${SPAN_COLUMNS})),
     inserted AS (${INSERT_SPANS} ON CONFLICT (trace_id, external_id) DO NOTHING RETURNING ${spanFacts('spans')}, ${WRITTEN_TEXT('spans')}),
     updated AS (UPDATE spans s SET
       parent_external_id = COALESCE(r.parent_external_id, s.parent_external_id),
       kind = COALESCE(r.kind::"SpanKind", s.kind),
       name = COALESCE(r.name, s.name),
       model = COALESCE(r.model, s.model),
       normalized_model = COALESCE(r.normalized_model, s.normalized_model),
       provider = COALESCE(r.provider, s.provider),
       start_time = COALESCE(r.start_time, s.start_time),
       end_time = COALESCE(r.end_time, s.end_time),
       -- A resend may move the start past the end stored before (an input's own end before its
       -- start is refused): such a span's latency is unknown, null, never negative.
       latency_ms = CASE WHEN COALESCE(r.end_time, s.end_time) >= COALESCE(r.start_time, s.start_time)
         THEN (extract(epoch FROM COALESCE(r.end_time, s.end_time) - COALESCE(r.start_time, s.start_time)) * 1000)::int END,
       status = COALESCE(r.status::"SpanStatus", s.status),
       error = COALESCE(r.error, s.error),
       user_id = COALESCE(r.user_id, s.user_id),
       session_id = COALESCE(r.session_id, s.session_id),
       tags = COALESCE(r.tags, s.tags),
       metadata = CASE
         WHEN r.metadata IS NULL THEN s.metadata
         WHEN jsonb_typeof(s.metadata) = 'object' AND jsonb_typeof(r.metadata) = 'object' THEN s.metadata || r.metadata
         ELSE r.metadata END,
       input = COALESCE(r.input, s.input),
       output = COALESCE(r.output, s.output),
       input_tokens = COALESCE(r.input_tokens, s.input_tokens),
       output_tokens = COALESCE(r.output_tokens, s.output_tokens),
       cached_input_tokens = COALESCE(r.cached_input_tokens, s.cached_input_tokens),
       total_tokens = COALESCE(r.total_tokens, s.total_tokens),
       usage_estimated = COALESCE(r.usage_estimated, s.usage_estimated),
       text_truncated = COALESCE(r.text_truncated, s.text_truncated),
       input_cost = COALESCE(r.input_cost, s.input_cost),
       output_cost = COALESCE(r.output_cost, s.output_cost),
       cached_input_cost = COALESCE(r.cached_input_cost, s.cached_input_cost),
       total_cost = COALESCE(r.total_cost, s.total_cost),
       cost_provided = COALESCE(r.cost_provided, s.cost_provided),
       price_source = CASE WHEN r.total_cost IS NULL THEN s.price_source ELSE r.price_source::"PriceSource" END,
       updated_at = now()
     FROM r
     WHERE s.trace_id = r.trace_id AND s.external_id = r.external_id
     RETURNING ${spanFacts('s')}, s.id AS span_id, (r.input IS NOT NULL OR r.output IS NOT NULL) AS has_text),
     ${queueTextSql('(SELECT span_id, has_text FROM inserted UNION ALL SELECT span_id, has_text FROM updated)')}${rollups ? ',' : ''}
     ${contribution}`,
    [projectId, jsonParam(spans)],
  );
}

/**
 * Recomputes the totals of the given traces from all their spans: time range, counts, status,
 * tokens and cost, the root span's name, the first end user and session seen, the union of tags.
 */
export async function refreshTraces(sql: Sql, traceIds: string[]): Promise<void> {
  await sql(
    `UPDATE traces t SET
       name = COALESCE(a.root_name, a.first_name, t.name),
       start_time = a.start_time,
       end_time = a.end_time,
       latency_ms = (extract(epoch FROM a.end_time - a.start_time) * 1000)::int,
       span_count = a.span_count,
       error_count = a.error_count,
       status = (CASE WHEN a.error_count > 0 THEN 'ERROR' WHEN a.ok_count > 0 THEN 'OK' ELSE 'UNSET' END)::"SpanStatus",
       user_id = COALESCE(a.user_id, t.user_id),
       session_id = COALESCE(a.session_id, t.session_id),
       tags = COALESCE((SELECT array_agg(DISTINCT tag ORDER BY tag) FROM (SELECT unnest(s2.tags) COLLATE "C" AS tag FROM spans s2 WHERE s2.trace_id = t.id) x), '{}'),
       metadata = COALESCE(a.root_metadata, t.metadata),
       input_tokens = a.input_tokens,
       output_tokens = a.output_tokens,
       cached_input_tokens = a.cached_input_tokens,
       total_tokens = a.total_tokens,
       -- Sums of the priced spans; null when none was priced and some needed a price (costs/unpriced.ts).
       input_cost = CASE WHEN a.input_priced = 0 AND a.unpriced > 0 THEN NULL ELSE COALESCE(a.input_cost, 0) END,
       output_cost = CASE WHEN a.output_priced = 0 AND a.unpriced > 0 THEN NULL ELSE COALESCE(a.output_cost, 0) END,
       total_cost = CASE WHEN a.total_priced = 0 AND a.unpriced > 0 THEN NULL ELSE COALESCE(a.total_cost, 0) END,
       unpriced_span_count = a.unpriced,
       updated_at = now()
     FROM unnest($1::uuid[]) AS ids(id) CROSS JOIN LATERAL (
       SELECT ids.id AS trace_id,
         min(s.start_time) AS start_time,
         max(COALESCE(s.end_time, s.start_time)) AS end_time,
         count(*)::int AS span_count,
         count(*) FILTER (WHERE s.status = 'ERROR')::int AS error_count,
         count(*) FILTER (WHERE s.status = 'OK')::int AS ok_count,
         (array_agg(s.name ORDER BY s.start_time) FILTER (WHERE s.parent_external_id IS NULL))[1] AS root_name,
         (array_agg(s.name ORDER BY s.start_time))[1] AS first_name,
         (array_agg(s.metadata ORDER BY s.start_time) FILTER (WHERE s.parent_external_id IS NULL AND s.metadata IS NOT NULL))[1] AS root_metadata,
         (array_agg(s.user_id ORDER BY s.start_time) FILTER (WHERE s.user_id IS NOT NULL))[1] AS user_id,
         (array_agg(s.session_id ORDER BY s.start_time) FILTER (WHERE s.session_id IS NOT NULL))[1] AS session_id,
         sum(s.input_tokens) AS input_tokens,
         sum(s.output_tokens) AS output_tokens,
         sum(s.cached_input_tokens) AS cached_input_tokens,
         sum(s.total_tokens) AS total_tokens,
         sum(s.input_cost) AS input_cost,
         sum(s.output_cost) AS output_cost,
         sum(s.total_cost) AS total_cost,
         count(s.input_cost)::int AS input_priced,
         count(s.output_cost)::int AS output_priced,
         count(s.total_cost)::int AS total_priced,
         count(*) FILTER (WHERE ${isUnpricedSql('s')})::int AS unpriced
       FROM spans s WHERE s.trace_id = ids.id
     ) a
     WHERE t.id = a.trace_id AND a.span_count > 0`,
    [traceIds],
  );
}
