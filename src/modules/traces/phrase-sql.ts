// A phrase in span input or output: `ILIKE '%phrase%'`, answered by the trigram index of span_texts
// (kept by the worker: text-index.ts) and by the spans still queued for it, then checked on the
// spans themselves (a copy may be older than its span until the worker catches up). Used by the
// `spans` root (search-sql.ts) and TraceFilter.text (read-sql.ts).

/** Shorter phrases have no trigram to look up in a trigram index. */
export const MIN_PHRASE = 3;
export const MAX_PHRASE = 1000;
/**
 * Cost points a phrase search declares (the `spans` root, `traces` with filter.text), as the other
 * reads of a whole window (metrics, costSummary): its price cannot be the page it returns (an
 * empty page may have checked every candidate of the index and the queue).
 */
export const PHRASE_SEARCH_COST = 50;

/** An ILIKE pattern matching `text` literally anywhere: LIKE's own characters (% _ \) escaped. */
export const containsPattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * Span `alias` of project `project` (a placeholder) has the phrase in its input or output: its id
 * among the index's candidates and the queued spans, and the phrase in its own text. Pushes its
 * one parameter.
 */
export function spanTextSql(
  alias: string,
  project: string,
  phrase: string,
  params: unknown[],
): string {
  const pattern = `$${params.push(containsPattern(phrase))}`;
  return `(${alias}.id IN (SELECT x.span_id FROM span_texts x WHERE x.project_id = ${project} AND x.body ILIKE ${pattern}
      UNION ALL SELECT unnest(q.span_ids) FROM span_text_queue q WHERE q.project_id = ${project})
    AND (${alias}.input ILIKE ${pattern} OR ${alias}.output ILIKE ${pattern}))`;
}
