// A phrase in span input or output: `ILIKE '%phrase%'`, which the trigram indexes on spans.input
// and spans.output (pg_trgm, GIN: prisma/schema.prisma) answer. Each index yields the spans that
// hold the phrase's trigrams, Postgres rechecks only those rows, and no other span is read. Used by
// the `spans` root (search-sql.ts) and TraceFilter.text (read-sql.ts).

/** Shorter phrases have no trigram to look up: the index would be read whole. */
export const MIN_PHRASE = 3;
export const MAX_PHRASE = 1000;

/** An ILIKE pattern matching `text` literally anywhere: LIKE's own characters (% _ \) escaped. */
export const containsPattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Span `alias` has the phrase in its input or output; pushes its one parameter. */
export function spanTextSql(alias: string, phrase: string, params: unknown[]): string {
  const pattern = `$${params.push(containsPattern(phrase))}`;
  return `(${alias}.input ILIKE ${pattern} OR ${alias}.output ILIKE ${pattern})`;
}
