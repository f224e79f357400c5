// scoreSummary's aggregation: one statement over a project's scores in [from, to), grouped by the
// keys asked, giving per group the count, the statistics of the values, and the count of each
// string value (one grouping set for the statistics, one more by string value).
import type { Sql } from '../../storage/db';
import { END_USER_SQL, scoreFilterSql, type ScoreListFilter } from './read-sql';

export type ScoreGroupBy = 'NAME' | 'SOURCE' | 'DAY' | 'HOUR' | 'MODEL' | 'USER' | 'STRING_VALUE';

/**
 * The model of a score: for a span score, the span's normalised model; for a trace score, the
 * trace's main model: of its spans with a model, LLM spans first, then the most tokens, then the
 * earliest. Session and evaluation-item scores have none.
 */
export const MODEL_SQL = `CASE WHEN sc.span_id IS NOT NULL
    THEN (SELECT sp.normalized_model FROM spans sp WHERE sp.id = sc.span_id)
  WHEN sc.trace_id IS NOT NULL
    THEN (SELECT sp.normalized_model FROM spans sp WHERE sp.trace_id = sc.trace_id AND sp.normalized_model IS NOT NULL
          ORDER BY (sp.kind = 'LLM') DESC, sp.total_tokens DESC, sp.start_time, sp.id LIMIT 1)
  END`;

const KEY_SQL: Record<ScoreGroupBy, string> = {
  NAME: 'sc.name',
  SOURCE: 'sc.source::text',
  DAY: `to_char(sc.scored_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  HOUR: `to_char(date_trunc('hour', sc.scored_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:00:00.000"Z"')`,
  MODEL: MODEL_SQL,
  USER: END_USER_SQL,
  STRING_VALUE: 'sc.string_value',
};

export interface ScoreSummaryRow {
  keys: Partial<Record<ScoreGroupBy, string | null>>;
  count: number;
  /** Scores with a value: what mean, min, max and the percentiles are over. */
  valueCount: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  p50: number | null;
  p95: number | null;
  /** Per string value (categories, True/False), most frequent first. */
  categoryCounts: { category: string; count: number }[];
}

export class TooManyGroupsError extends Error {
  constructor(public readonly limit: number) {
    super(`more than ${limit} groups`);
  }
}

/** String values kept per group (the most frequent). */
export const MAX_CATEGORIES_PER_GROUP = 100;

export async function summariseScores(
  sql: Sql,
  query: {
    projectId: string;
    from: Date;
    to: Date;
    filter: ScoreListFilter;
    groupBy: ScoreGroupBy[];
    maxRows: number;
  },
): Promise<ScoreSummaryRow[]> {
  const groupBy = [...new Set(query.groupBy)];
  const params: unknown[] = [];
  const where = scoreFilterSql(
    query.projectId,
    // The window narrows the filter's own from/to, if any.
    {
      ...query.filter,
      from: latest(query.from, query.filter.from),
      to: earliest(query.to, query.filter.to),
    },
    params,
  );
  const keys = groupBy.map((g, i) => `${KEY_SQL[g]} AS k${i}`);
  const keyList = groupBy.map((_, i) => `k${i}`);
  const sets = `GROUPING SETS ((${keyList.join(', ')}), (${[...keyList, 'sv'].join(', ')}))`;
  // Rows: one per group (whole), and one per group and string value, the most frequent first
  // (at most MAX_CATEGORIES_PER_GROUP of them).
  const partition = [...keyList, 'GROUPING(sv)'].join(', ');
  const rows = await sql<Record<string, unknown>>(
    `SELECT * FROM (
       SELECT ${[...keyList, ''].join(', ')} sv, GROUPING(sv) = 1 AS whole, count(*)::int AS n,
         count(value)::int AS nv, avg(value)::float8 AS mean, min(value) AS min, max(value) AS max,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY value)::float8 AS p50,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY value)::float8 AS p95,
         row_number() OVER (PARTITION BY ${partition} ORDER BY count(*) DESC, sv) AS rank
       FROM (SELECT ${[...keys, ''].join(', ')} sc.string_value AS sv, sc.value FROM scores sc WHERE ${where}) s
       GROUP BY ${sets}) g
     WHERE whole OR (sv IS NOT NULL AND rank <= ${MAX_CATEGORIES_PER_GROUP})
     ORDER BY ${[...keyList.map((k) => `${k} NULLS LAST`), 'whole DESC', 'n DESC', 'sv'].join(', ')}
     LIMIT ${(query.maxRows + 1) * (MAX_CATEGORIES_PER_GROUP + 1)}`,
    params,
  );
  const groups = new Map<string, ScoreSummaryRow>();
  const keyOf = (row: Record<string, unknown>) => JSON.stringify(keyList.map((k) => row[k]));
  for (const row of rows) {
    if (!row.whole) continue;
    if (groups.size === query.maxRows) throw new TooManyGroupsError(query.maxRows);
    groups.set(keyOf(row), {
      keys: Object.fromEntries(groupBy.map((g, i) => [g, row[`k${i}`] as string | null])),
      count: row.n as number,
      valueCount: row.nv as number,
      mean: row.mean as number | null,
      min: row.min as number | null,
      max: row.max as number | null,
      p50: row.p50 as number | null,
      p95: row.p95 as number | null,
      categoryCounts: [],
    });
  }
  for (const row of rows) {
    if (row.whole || row.sv === null) continue;
    groups
      .get(keyOf(row))
      ?.categoryCounts.push({ category: row.sv as string, count: row.n as number });
  }
  // No scores and no grouping: nothing to show, rather than a row of nulls.
  return [...groups.values()].filter((g) => g.count > 0);
}

const latest = (a: Date, b: Date | null | undefined) => (b && b > a ? b : a);
const earliest = (a: Date, b: Date | null | undefined) => (b && b < a ? b : a);
