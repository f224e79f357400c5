// The scores table: the one write of scores (writeScores, for every writer: the API, evaluations,
// online rules), deletion, and the look-ups that validation needs (targets, configs). Reads for
// the API are in read-sql.ts and summary-sql.ts. Both writes keep score_rollups exact in the same
// statement (analytics/score-rollup-sql.ts).
import type { ScoreDataType, ScoreSource } from '../../generated/prisma/enums';
import { addScoreContributionSql, scoreFacts } from '../analytics/score-rollup-sql';
import type { Sql } from '../../storage/db';
import { jsonParam } from '../../storage/json-param';
import type { Emit } from '../events/emitter';
import type { ScoreCategory, ScoreConfigRow } from './input';

/** A stored score, as the API and events see it (raw ids). */
export interface ScoreRow {
  id: string;
  projectId: string;
  clientId: string | null;
  /** Set for trace scores and span scores (a span's trace). */
  traceId: string | null;
  spanId: string | null;
  sessionId: string | null;
  evaluationItemId: string | null;
  name: string;
  dataType: ScoreDataType;
  value: number | null;
  stringValue: string | null;
  comment: string | null;
  source: ScoreSource;
  authorUserId: string | null;
  authorApiKeyId: string | null;
  /** The end user who gave it. */
  userId: string | null;
  evaluationId: string | null;
  evaluationRuleId: string | null;
  graderName: string | null;
  timestamp: Date;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * A score ready to store: validated (input.ts checkScore, against its name's config), its
 * target known to be in its project (findTargets), a span score with its trace. `id` is a fresh
 * uuid (uuidv7) used when the score is new; a row whose (projectId, clientId) exists updates it.
 */
export type ScoreWrite = Omit<ScoreRow, 'createdAt' | 'updatedAt'>;

/** Every column, as ScoreRow names it. */
export const SCORE_COLUMNS = `sc.id::text AS "id", sc.project_id::text AS "projectId", sc.client_id AS "clientId",
  sc.trace_id::text AS "traceId", sc.span_id::text AS "spanId", sc.session_id AS "sessionId",
  sc.evaluation_item_id::text AS "evaluationItemId", sc.name, sc.data_type::text AS "dataType", sc.value,
  sc.string_value AS "stringValue", sc.comment, sc.source::text AS "source", sc.author_user_id::text AS "authorUserId",
  sc.author_api_key_id::text AS "authorApiKeyId", sc.user_id AS "userId", sc.evaluation_id::text AS "evaluationId",
  sc.evaluation_rule_id::text AS "evaluationRuleId", sc.grader_name AS "graderName", sc.scored_at AS "timestamp",
  sc.created_at AS "createdAt", sc.updated_at AS "updatedAt"`;

// The columns a write sets, with their SQL types. A batch goes as one JSON array of rows (each an
// array of these values, in this order): one native stringify on our side and one parse on the
// database's, where arrays per column cost an escape per value in the driver.
export const WRITE_COLUMNS: [keyof ScoreWrite, string, string][] = [
  ['id', 'id', 'uuid'],
  ['projectId', 'project_id', 'uuid'],
  ['clientId', 'client_id', 'text'],
  ['traceId', 'trace_id', 'uuid'],
  ['spanId', 'span_id', 'uuid'],
  ['sessionId', 'session_id', 'text'],
  ['evaluationItemId', 'evaluation_item_id', 'uuid'],
  ['name', 'name', 'text'],
  ['dataType', 'data_type', '"ScoreDataType"'],
  ['value', 'value', 'float8'],
  ['stringValue', 'string_value', 'text'],
  ['comment', 'comment', 'text'],
  ['source', 'source', '"ScoreSource"'],
  ['authorUserId', 'author_user_id', 'uuid'],
  ['authorApiKeyId', 'author_api_key_id', 'uuid'],
  ['userId', 'user_id', 'text'],
  ['evaluationId', 'evaluation_id', 'uuid'],
  ['evaluationRuleId', 'evaluation_rule_id', 'uuid'],
  ['graderName', 'grader_name', 'text'],
  ['timestamp', 'scored_at', 'timestamptz'],
];

const UPSERT = `INSERT INTO scores AS sc (${WRITE_COLUMNS.map((c) => c[1]).join(', ')}, created_at, updated_at)
  SELECT ${WRITE_COLUMNS.map((c, i) => `(r->>${i})::${c[2]}`).join(', ')}, now(), now()
  FROM jsonb_array_elements($1::jsonb) AS r
  ON CONFLICT (project_id, client_id) DO UPDATE SET
  ${WRITE_COLUMNS.filter((c) => !['id', 'project_id', 'client_id'].includes(c[1]))
    .map((c) => `${c[1]} = EXCLUDED.${c[1]}`)
    .join(', ')}, updated_at = now()
  -- A score keeps its source: feedback never overwrites an evaluation's score, nor the reverse.
  -- Only scores LOCK_EXISTING locked ($2) are updated: the rollups know their old values.
  WHERE sc.source = EXCLUDED.source AND sc.id = ANY($2::uuid[])
  RETURNING sc.id::text AS "id", sc.project_id::text AS "projectId", sc.client_id AS "clientId",
    (extract(epoch FROM sc.created_at) * 1000)::float8 AS "createdAt",
    (extract(epoch FROM sc.updated_at) * 1000)::float8 AS "updatedAt", (sc.xmax = 0) AS "created",
    ${scoreFacts('sc')}`;

// The upsert, and the rollups: the scores it updates lose their old values (`old`, read from the
// statement's snapshot: current, as LOCK_EXISTING locked them), what it wrote adds its new ones.
const WRITE = `WITH old AS (
    SELECT o.id::text AS old_id, ${scoreFacts('o')} FROM scores o
    JOIN jsonb_array_elements($1::jsonb) AS r ON o.project_id = (r->>1)::uuid AND o.client_id = r->>2),
  written AS (${UPSERT}),
  taken AS (${addScoreContributionSql('(SELECT old.* FROM old JOIN written w ON w.id = old.old_id AND NOT w.created)', -1)} RETURNING 1),
  added AS (${addScoreContributionSql('written')} RETURNING 1)
  SELECT "id", "projectId", "clientId", "createdAt", "updatedAt", "created" FROM written`;

// Locks the stored scores of a batch's client ids (in id order: two batches do not deadlock on
// them) to the end of the transaction, so that nobody changes them between the snapshot that
// reads their old values and the update. (Row locks live in the rows: a batch of 1,000 costs no
// shared lock table entries, as advisory locks would.)
const LOCK_EXISTING = `SELECT o.id::text AS id, o.project_id::text AS "projectId", o.client_id AS "clientId"
  FROM scores o JOIN jsonb_array_elements($1::jsonb) AS r ON o.project_id = (r->>1)::uuid AND o.client_id = r->>2
  ORDER BY o.id FOR UPDATE OF o`;

/** Rounds of writeScores for rows whose score another writer stored after the lock. */
const MAX_ROUNDS = 3;

/** A row's values in the order of WRITE_COLUMNS (written out: it runs a thousand times a batch). */
export const valuesOf = (r: ScoreWrite) => [
  r.id,
  r.projectId,
  r.clientId,
  r.traceId,
  r.spanId,
  r.sessionId,
  r.evaluationItemId,
  r.name,
  r.dataType,
  r.value,
  r.stringValue,
  r.comment,
  r.source,
  r.authorUserId,
  r.authorApiKeyId,
  r.userId,
  r.evaluationId,
  r.evaluationRuleId,
  r.graderName,
  r.timestamp.toISOString(),
];

interface Decision {
  id: string;
  projectId: string;
  clientId: string | null;
  // Milliseconds since the epoch: a thousand dates parse much faster as numbers.
  createdAt: number;
  updatedAt: number;
  created: boolean;
}

const clientKey = (s: { projectId: string; clientId: string | null }) =>
  `${s.projectId}\u0000${s.clientId}`;

/**
 * Stores scores in one statement (new ones inserted, those whose client id exists in their
 * project updated; scores with client ids first locked by LOCK_EXISTING, and written again in a
 * round of their own if another writer stored one meanwhile) and emits `score.created` for each
 * new one. Call it inside
 * `events.transaction((sql, emit) => writeScores(sql, emit, rows))`; the rows must be checked
 * first (ScoreWrite says how). A client id repeated in `rows` is written once, the last one
 * winning. Returns the stored scores in the order of `rows`, null for a row whose client id is
 * that of a score of another source (a score keeps its source: that row is not written).
 */
export async function writeScores(
  sql: Sql,
  emit: Emit,
  rows: ScoreWrite[],
): Promise<(ScoreRow | null)[]> {
  if (!rows.length) return [];
  const last = new Map<string, ScoreWrite>();
  for (const row of rows) if (row.clientId !== null) last.set(clientKey(row), row);
  const unique = rows.filter((row) => row.clientId === null || last.get(clientKey(row)) === row);
  const keyOf = (s: { id: string; projectId: string; clientId: string | null }) =>
    s.clientId === null ? s.id : clientKey(s);
  // What the statement decided (the id kept, the times); the rest is what was sent.
  const decisions = new Map<string, Decision>();
  let pending = unique;
  for (let round = 0; round < MAX_ROUNDS && pending.length; round++) {
    const batch = jsonParam(pending.map(valuesOf));
    const locked = last.size
      ? await sql<{ id: string; projectId: string; clientId: string }>(LOCK_EXISTING, [batch])
      : [];
    const stored = await sql<Decision>(WRITE, [batch, locked.map((l) => l.id)]);
    for (const s of stored) decisions.set(keyOf(s), s);
    // Not written: another source's client id (it was locked and kept its source), or a score
    // another transaction stored under it after the lock (the upsert waited for it and left it):
    // locked next round.
    const held = new Set(locked.map(keyOf));
    pending = pending.filter((row) => !decisions.has(keyOf(row)) && !held.has(keyOf(row)));
  }
  const written = new Set<ScoreWrite>();
  for (const row of unique) {
    const decided = decisions.get(keyOf(row));
    if (!decided) continue; // its client id is another source's
    // The row becomes the stored score (filled in, not copied: a batch is a thousand of them).
    const score = row as ScoreRow;
    score.id = decided.id;
    score.createdAt = new Date(decided.createdAt);
    score.updatedAt = new Date(decided.updatedAt);
    written.add(row);
    if (decided.created) emit('score.created', score);
  }
  return rows.map((row) => {
    const kept = row.clientId === null ? row : last.get(clientKey(row))!;
    return written.has(kept) ? (kept as ScoreRow) : null;
  });
}

/**
 * Deletes a score of the project, and its values from the rollups (those of the row it deleted,
 * whoever wrote it last); false when there is none.
 */
export async function deleteScore(sql: Sql, projectId: string, id: string): Promise<boolean> {
  const rows = await sql<{ n: number }>(
    `WITH gone AS (DELETE FROM scores WHERE id = $1::uuid AND project_id = $2::uuid RETURNING ${scoreFacts('scores')}),
     taken AS (${addScoreContributionSql('gone', -1)} RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    [id, projectId],
  );
  return rows[0].n > 0;
}

export interface TargetIds {
  traces: string[];
  spans: string[];
  evaluationItems: string[];
  /** Traces by the ids their clients gave them, and spans by theirs within such a trace. */
  externalTraces: string[];
  externalSpans: { trace: string; span: string }[];
}

/** The key of a span by its trace's and its own external ids. */
export const externalSpanKey = (trace: string, span: string) => `${trace}\u0000${span}`;

/**
 * Which of these ids name a trace, span or evaluation item of the project (any other id, another
 * project's included, is simply absent), and each span's trace.
 */
export type Targets = Awaited<ReturnType<typeof findTargets>>;

export async function findTargets(sql: Sql, projectId: string, ids: TargetIds) {
  // One after another: a transaction's connection runs one statement at a time anyway.
  const traces = ids.traces.length
    ? await sql<{ id: string }>(
        `SELECT id::text FROM traces WHERE project_id = $1::uuid AND id = ANY($2::uuid[])`,
        [projectId, ids.traces],
      )
    : [];
  const spans = ids.spans.length
    ? await sql<{ id: string; traceId: string }>(
        `SELECT id::text, trace_id::text AS "traceId" FROM spans WHERE project_id = $1::uuid AND id = ANY($2::uuid[])`,
        [projectId, ids.spans],
      )
    : [];
  const items = ids.evaluationItems.length
    ? await sql<{ id: string }>(
        `SELECT i.id::text FROM evaluation_items i JOIN evaluations e ON e.id = i.evaluation_id
            WHERE e.project_id = $1::uuid AND i.id = ANY($2::uuid[])`,
        [projectId, ids.evaluationItems],
      )
    : [];
  const externalTraces = ids.externalTraces.length
    ? await sql<{ id: string; externalId: string }>(
        `SELECT id::text, external_id AS "externalId" FROM traces
          WHERE project_id = $1::uuid AND external_id = ANY($2::text[])`,
        [projectId, ids.externalTraces],
      )
    : [];
  const externalSpans = ids.externalSpans.length
    ? await sql<{ id: string; traceId: string; trace: string; span: string }>(
        `SELECT s.id::text, s.trace_id::text AS "traceId", t.external_id AS "trace", s.external_id AS "span"
           FROM unnest($2::text[], $3::text[]) AS k(trace, span)
           JOIN traces t ON t.project_id = $1::uuid AND t.external_id = k.trace
           JOIN spans s ON s.trace_id = t.id AND s.external_id = k.span`,
        [projectId, ids.externalSpans.map((k) => k.trace), ids.externalSpans.map((k) => k.span)],
      )
    : [];
  return {
    traces: new Set(traces.map((t) => t.id)),
    spanTraces: new Map(spans.map((s) => [s.id, s.traceId])),
    evaluationItems: new Set(items.map((i) => i.id)),
    externalTraces: new Map(externalTraces.map((t) => [t.externalId, t.id])),
    externalSpans: new Map(
      externalSpans.map((s) => [
        externalSpanKey(s.trace, s.span),
        { id: s.id, traceId: s.traceId },
      ]),
    ),
  };
}

const CONFIG_COLUMNS = `id::text, project_id::text AS "projectId", name, data_type::text AS "dataType",
  min_value AS "minValue", max_value AS "maxValue", categories, description, archived,
  created_at AS "createdAt", updated_at AS "updatedAt"`;

/** The project's configs of these score names, by name. */
export async function configsByName(
  sql: Sql,
  projectId: string,
  names: string[],
): Promise<Map<string, ScoreConfigRow>> {
  if (!names.length) return new Map();
  const rows = await sql<ScoreConfigRow>(
    `SELECT ${CONFIG_COLUMNS} FROM score_configs WHERE project_id = $1::uuid AND name = ANY($2::text[])`,
    [projectId, [...new Set(names)]],
  );
  return new Map(rows.map((row) => [row.name, row]));
}

export type { ScoreCategory };
