// Every statement that writes score_rollups. A score contributes to two rows, at the UTC hour and
// the UTC day of its timestamp, under its name, source, data type and string value (the category,
// or True/False: so counts per category come from the rollups too; null for NUMERIC scores): a
// count, the count with a value, their exact sum and a sketch of the values (signed keys,
// sketch.ts). Writers of scores (scores/repo.ts) add a contribution in the statement that writes
// the scores and take back the old values of those they update or delete, like span ingest; the
// compactor merges them with the same statement as span rollups (rollup-sql.ts compactRollups).
import { type Dim, groupedPart, mergeSql, type RollupTable, rowColumns } from './rollup-sql';
import { signedKeySql } from './sketch';

export const SCORE_ROLLUPS: RollupTable = {
  table: 'score_rollups',
  dims: ['project_id', 'grain', 'bucket', 'name', 'source', 'data_type', 'string_value'],
  bucketDims: ['project_id', 'grain', 'bucket'],
  measures: ['scores', 'with_value', 'value_sum'],
  numeric: ['value_sum'],
  sketch: ['value_keys', 'value_counts'],
};

/** The score columns a contribution reads (a source relation must have them), of scores aliased `s`. */
export const scoreFacts = (s: string) =>
  ['project_id', 'scored_at', 'name', 'source', 'data_type', 'string_value', 'value']
    .map((c) => `${s}.${c}`)
    .join(', ');

/**
 * The rows of scores aliased `s` (in `from`) grouped by `dims` and value key, in the shape of
 * rollup-sql.ts spanPart: the dims, `k`, `lat_n` (scores with a value at k) and the measures, with
 * `sign` (−1 takes a contribution back). A value's sum is of value::numeric: float8's 15
 * significant digits, exactly.
 */
export function scorePart(from: string, dims: readonly Dim[], where = 'true', sign: 1 | -1 = 1) {
  const m = (expr: string) => (sign === 1 ? expr : `-(${expr})`);
  const groups = [...dims.map((_, i) => `${i + 1}`), `${dims.length + 1}`].join(', ');
  return `SELECT ${dims.map(([e, n]) => `${e} AS ${n}, `).join('')}${signedKeySql('s.value')} AS k,
      ${m('count(s.value)')} AS lat_n, ${m('count(*)')} AS scores, ${m('count(s.value)')} AS with_value,
      ${m('COALESCE(sum(s.value::numeric), 0)')} AS value_sum
    FROM ${from} WHERE ${where} GROUP BY ${groups}`;
}

/** A stored row's dims from scores aliased `s`, crossed with `g(grain, unit)`. */
const SCORE_ROW_DIMS: readonly Dim[] = [
  ['s.project_id', 'project_id'],
  ['g.grain', 'grain'],
  [`date_trunc(g.unit, s.scored_at, 'UTC')`, 'bucket'],
  ['s.name', 'name'],
  ['s.source', 'source'],
  ['s.data_type', 'data_type'],
  ['s.string_value', 'string_value'],
];

const GRAINS = `CROSS JOIN (VALUES ('HOUR'::"RollupGrain", 'hour'), ('DAY'::"RollupGrain", 'day')) AS g(grain, unit)`;

/**
 * The INSERT of the contribution of the scores in relation `source` (columns scoreFacts): added,
 * or taken back with sign −1. Ends a statement whose WITH defines `source` (or names a table).
 */
export function addScoreContributionSql(source: string, sign: 1 | -1 = 1): string {
  return `INSERT INTO score_rollups (${rowColumns(SCORE_ROLLUPS)})
    ${mergeSql(
      SCORE_ROLLUPS.dims,
      [groupedPart(SCORE_ROLLUPS.dims, 'contribution', SCORE_ROLLUPS)],
      SCORE_ROLLUPS,
      [`contribution AS (${scorePart(`${source} s ${GRAINS}`, SCORE_ROW_DIMS, 'true', sign)})`],
    )}`;
}
