// The phrase search's index, kept behind ingest. A trigram index on span input and output costs ten
// times the span's own insert (docs/SCALING.md), so ingest only queues the ids of the spans it
// wrote with text (one row per statement, in the statement that writes them), and the worker copies
// their text into span_texts, whose GIN trigram index the search reads. Until then the search
// reads the queued spans themselves (phrase-sql.ts), so an answer never depends on the worker.
import { setTimeout } from 'node:timers/promises';
import type { Deps } from '../../deps';
import type { Sql } from '../../storage/db';
import type { Job } from '../../worker/job';
import { periodicJob } from '../../worker/periodic';

/**
 * A CTE of an ingest statement queueing the spans of `source` that carry text: `source` has
 * `span_id` and `has_text`; `$1` is the project.
 */
export const queueTextSql = (source: string) =>
  `queued AS (INSERT INTO span_text_queue (project_id, span_ids)
     SELECT $1::uuid, array_agg(w.span_id) FROM ${source} w WHERE w.has_text HAVING count(*) > 0 RETURNING 1)`;

/**
 * Queue rows per pass: each holds the spans of one ingest statement (up to a batch's), and the index
 * costs about 0.5 ms per span of text, so a pass of a few seconds at most (a stopping worker
 * finishes it).
 */
const ROWS_PER_PASS = 5;
/** One indexer at a time, whatever the processes: see indexTexts. */
const LOCK = "hashtext('evalgraph:span_texts')";

/**
 * Copies the text of the spans of up to `rows` queue rows into span_texts (or removes a span's
 * when it has none now), and deletes those queue rows, in one statement: a kill leaves the rows
 * queued. One indexer runs at a time (a transaction-level advisory lock): two could read a span's
 * text at different snapshots and the older write win. A span written again after this
 * statement's snapshot has a queue row of its own that this pass does not see. Returns the queue
 * rows taken, or null when another process is indexing.
 */
export async function indexTexts(deps: Pick<Deps, 'db'>, rows: number): Promise<number | null> {
  return deps.db.transaction(async (sql: Sql) => {
    const [lock] = await sql<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(${LOCK}) AS ok`);
    if (!lock.ok) return null;
    const [row] = await sql<{ taken: number }>(
      `WITH taken AS (
         DELETE FROM span_text_queue WHERE id IN (SELECT id FROM span_text_queue ORDER BY id LIMIT $1)
         RETURNING span_ids),
       ids AS (SELECT DISTINCT unnest(span_ids) AS id FROM taken),
       copied AS (
         INSERT INTO span_texts (span_id, project_id, body)
         SELECT s.id, s.project_id, concat_ws(E'\\n', s.input, s.output)
         FROM spans s JOIN ids ON ids.id = s.id WHERE s.input IS NOT NULL OR s.output IS NOT NULL
         ON CONFLICT (span_id) DO UPDATE SET body = EXCLUDED.body
         RETURNING 1),
       cleared AS (
         DELETE FROM span_texts t USING ids, spans s
         WHERE t.span_id = ids.id AND s.id = ids.id AND s.input IS NULL AND s.output IS NULL
         RETURNING 1)
       SELECT count(*)::int AS taken FROM taken`,
      [rows],
    );
    return row.taken;
  });
}

export function createTextIndexJob(deps: Deps): Job<'pass', null> {
  return periodicJob(deps, {
    name: 'span-texts',
    idleMs: deps.config.textIndex.everyMs,
    due: async () => (await deps.db.query('SELECT 1 FROM span_text_queue LIMIT 1')).length > 0,
    pass: async (signal) => {
      const taken = await indexTexts(deps, ROWS_PER_PASS);
      // Another process is indexing: rest rather than claim again at once.
      if (taken === null)
        await setTimeout(deps.config.textIndex.everyMs, undefined, { signal }).catch(() => {});
      return { taken };
    },
    onStop: 'finish',
  });
}
