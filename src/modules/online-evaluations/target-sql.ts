// What a task judges, read when it is judged (its trace complete by then): the span (a SPAN
// rule's, or a TRACE rule's root span) and the trace's RETRIEVER spans, whose outputs are the
// contexts of RAG graders.
import type { Sql } from '../../storage/db';
import type { LoadedSpan } from './variables';

/** Retrievers read per trace at most (their outputs become contexts, in the order they started). */
export const MAX_RETRIEVERS = 50;

export interface Target {
  /** The span judged (a TRACE rule's: the trace's root span). */
  subject: LoadedSpan & { id: string };
  retrievers: LoadedSpan[];
}

const COLUMNS = `id::text, external_id, kind::text, name, input, output, metadata`;

type Row = LoadedSpan & { id: string; part: number };

/**
 * The target of a task, or null when its span is gone. A trace's root is its earliest span with
 * no parent, else its earliest span.
 */
export async function loadTarget(
  sql: Sql,
  traceId: string,
  spanExternalId: string,
): Promise<Target | null> {
  const subjectWhere = spanExternalId ? 'external_id = $2' : 'parent_external_id IS NULL';
  const rows = await sql<Row>(
    `(SELECT ${COLUMNS}, 0 AS part, start_time FROM spans WHERE trace_id = $1::uuid AND ${subjectWhere}
        ORDER BY start_time, id LIMIT 1)
     UNION ALL
     (SELECT ${COLUMNS}, 1, start_time FROM spans WHERE trace_id = $1::uuid AND kind = 'RETRIEVER'
        ORDER BY start_time, id LIMIT ${MAX_RETRIEVERS})
     ORDER BY part, start_time, id`,
    spanExternalId ? [traceId, spanExternalId] : [traceId],
  );
  let subject: Row | undefined = rows.find((r) => r.part === 0);
  if (!subject && !spanExternalId)
    [subject] = await sql<Row>(
      `SELECT ${COLUMNS}, 0 AS part FROM spans WHERE trace_id = $1::uuid ORDER BY start_time, id LIMIT 1`,
      [traceId],
    );
  if (!subject) return null;
  return { subject, retrievers: rows.filter((r) => r.part === 1) };
}
