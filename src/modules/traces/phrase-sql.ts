// A phrase in span input or output: `ILIKE '%phrase%'` (what a pg_trgm index answers, once one is
// maintained off the ingest path: docs/SCALING.md; today the spans of the range are read). Used by
// the `spans` root (search-sql.ts) and TraceFilter.text (read-sql.ts).

/** Shorter phrases have no trigram to look up in a trigram index. */
export const MIN_PHRASE = 3;
export const MAX_PHRASE = 1000;
/**
 * Cost points a phrase search declares (the `spans` root, `traces` with filter.text), as the other
 * reads of a whole window (metrics, costSummary): it reads every span of the range, so its price
 * cannot be the page it returns (an empty page would cost 1 point for a scan of the project).
 */
export const PHRASE_SEARCH_COST = 50;

/** An ILIKE pattern matching `text` literally anywhere: LIKE's own characters (% _ \) escaped. */
export const containsPattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Span `alias` has the phrase in its input or output; pushes its one parameter. */
export function spanTextSql(alias: string, phrase: string, params: unknown[]): string {
  const pattern = `$${params.push(containsPattern(phrase))}`;
  return `(${alias}.input ILIKE ${pattern} OR ${alias}.output ILIKE ${pattern})`;
}
