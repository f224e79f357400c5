// Every statement that writes span_rollups, and the one aggregation they and the analytics queries
// share. A span contributes to four rows: with and without its end user as a dimension, at the UTC
// hour and the UTC day of its start. Ingest adds the contribution of the spans it writes in the same
// transaction (and subtracts the old contribution of spans it updates), so a row set is exact at
// every commit; the compactor merges a bucket's partial rows in one statement, so a kill at any
// moment leaves either the partial rows or their merge, never both.
import type { Sql } from '../../storage/db';
import { isUnpricedSql, needsPriceSql } from '../costs/unpriced';
import { mergeSketches, type Sketch, sketchKeySql } from './sketch';

/** The sums of a rollup row, in the order of its columns. */
export const MEASURES = [
  'spans',
  'errors',
  'input_tokens',
  'output_tokens',
  'cached_input_tokens',
  'total_tokens',
  'cost',
  'priced',
  'unpriced',
  'default_priced',
] as const;

/** The span columns a contribution reads (a source relation must have them), of spans aliased `s`. */
export const spanFacts = (s: string) =>
  [
    'project_id',
    'start_time',
    'model',
    'normalized_model',
    'provider',
    'kind',
    'status',
    'user_id',
    'latency_ms',
    'input_tokens',
    'output_tokens',
    'cached_input_tokens',
    'total_tokens',
    'total_cost',
    'price_source',
  ]
    .map((c) => `${s}.${c}`)
    .join(', ');

/** The measures of spans aliased `s`, grouped: one expression per MEASURES entry. */
const spanMeasures = (sign: 1 | -1) => {
  const m = (expr: string) => (sign === 1 ? expr : `-(${expr})`);
  return [
    m('count(*)'),
    m(`count(*) FILTER (WHERE s.status = 'ERROR')`),
    m('sum(s.input_tokens)'),
    m('sum(s.output_tokens)'),
    m('sum(s.cached_input_tokens)'),
    m('sum(s.total_tokens)'),
    m('COALESCE(sum(s.total_cost), 0)'),
    m('count(s.total_cost)'),
    m(`count(*) FILTER (WHERE ${isUnpricedSql('s')})`),
    m(`count(*) FILTER (WHERE s.price_source = 'DEFAULT')`),
  ];
};

/** A span is a model call when it has a cost or needed one (costs/unpriced.ts). */
export const isCallSql = (s: string) => `(${s}.total_cost IS NOT NULL OR ${needsPriceSql(s)})`;

export type Dim = readonly [expression: string, name: string];

/**
 * The rows of spans aliased `s` (in `from`) grouped by `dims` and latency key: the dims, `k`,
 * `lat_n` (spans with a latency) and the measures, with `sign` (−1 takes a contribution back).
 */
export function spanPart(
  from: string,
  dims: readonly Dim[],
  where = 'true',
  sign: 1 | -1 = 1,
  sketch = true,
) {
  // Without the sketch, one group per dims instead of one per dims and latency key.
  const k = sketch ? sketchKeySql('s.latency_ms') : 'NULL::int';
  const lat = sketch ? (sign === 1 ? 'count(s.latency_ms)' : '-count(s.latency_ms)') : '0::bigint';
  const groups = [
    ...dims.map((_, i) => `${i + 1}`),
    ...(sketch ? [`${dims.length + 1}`] : []),
  ].join(', ');
  return `SELECT ${dims.map(([e, n]) => `${e} AS ${n}, `).join('')}${k} AS k, ${lat} AS lat_n,
      ${spanMeasures(sign)
        .map((e, i) => `${e} AS ${MEASURES[i]}`)
        .join(', ')}
    FROM ${from} WHERE ${where}${groups ? ` GROUP BY ${groups}` : ''}`;
}

/**
 * A relation's share of a merge: `sums`, its rows of (dims, measures), and `keys`, its rows of
 * (dims, k, lat_n: the count at sketch key k), when it carries a sketch. Apart, so the many sketch
 * rows stay narrow: carrying the measures beside every key made a merge sort wide rows (spilling
 * to disk at a few tens of thousands) and add numeric zeros.
 */
export interface Part {
  sums: string;
  keys: string | null;
  /**
   * The same sketch as it is stored: (dims, sk_keys, sk_counts) rows, for readers (readMerged);
   * the arrays as comma-separated text, which the driver hands over without parsing an array.
   */
  arrays: string | null;
}

/**
 * The Part of a grouped relation `rel` (spanPart, scorePart: dims, k, lat_n and the measures per
 * dims and key). `rel` is usually a CTE name, so the spans are read once for both.
 */
export function groupedPart(
  dims: readonly string[],
  rel: string,
  t: RollupTable = SPAN_ROLLUPS,
): Part {
  const d = dims.map((name) => `${name}, `).join('');
  return {
    sums: `SELECT ${d}${t.measures.join(', ')} FROM ${rel}`,
    keys: `SELECT ${d}k, lat_n FROM ${rel} WHERE k IS NOT NULL`,
    arrays: `SELECT ${d}string_agg(k::text, ',') AS sk_keys, string_agg(lat_n::text, ',') AS sk_counts FROM ${rel} WHERE k IS NOT NULL
      ${dims.length ? `GROUP BY ${dims.join(', ')}` : ''}`,
  };
}

/**
 * The Part of a rollup table aliased `r` (filtered by `where`): its sums and, when the sketch is
 * wanted, its sketch's keys. `from` names the relation holding the rows when it is not the table.
 */
export function rollupPart(
  dims: readonly Dim[],
  where: string,
  sketch: boolean,
  from?: string,
  t: RollupTable = SPAN_ROLLUPS,
): Part {
  const d = dims.map(([e, n]) => `${e} AS ${n}, `).join('');
  const [keys, counts] = t.sketch;
  return {
    sums: `SELECT ${d}${t.measures.map((m) => `r.${m}`).join(', ')}
      FROM ${from ?? t.table} r WHERE ${where}`,
    keys: sketch
      ? `SELECT ${d}unnest(r.${keys}) AS k, unnest(r.${counts}) AS lat_n
      FROM ${from ?? t.table} r WHERE ${where}`
      : null,
    arrays: sketch
      ? `SELECT ${d}array_to_string(r.${keys}, ',') AS sk_keys, array_to_string(r.${counts}, ',') AS sk_counts
      FROM ${from ?? t.table} r WHERE ${where}`
      : null,
  };
}

/**
 * Sums parts per `dims` (their names): the measures of table `t`, and the sketch as ascending keys
 * with their counts, named as t's columns (keys whose count sums to 0 left out). The keys are
 * merged on their own, one array pair per group, and joined to the sums by a second grouping in
 * which each group has one row with arrays (max() picks it). `ctes` are definitions the parts read.
 */
export function mergeSql(
  dims: readonly string[],
  parts: readonly Part[],
  t: RollupTable = SPAN_ROLLUPS,
  ctes: readonly string[] = [],
): string {
  const d = dims.map((name) => `${name}, `).join('');
  const groupBy = dims.length ? `GROUP BY ${dims.join(', ')}` : '';
  const [keys, counts] = t.sketch;
  const nulls = t.measures
    .map((m) => `NULL::${t.numeric.includes(m) ? 'numeric' : 'bigint'} AS ${m}`)
    .join(', ');
  const totals = t.measures
    .map((m) => `COALESCE(sum(${m}), 0)${t.numeric.includes(m) ? '' : '::bigint'} AS ${m}`)
    .join(', ');
  const keyParts = parts.flatMap((p) => (p.keys ? [p.keys] : []));
  const branches = [
    `SELECT ${d}${t.measures.join(', ')}, NULL::int[] AS ${keys}, NULL::bigint[] AS ${counts}
      FROM (${parts.map((p) => p.sums).join('\n UNION ALL\n')}) s`,
    ...(keyParts.length
      ? [
          `SELECT ${d}${nulls}, array_agg(k ORDER BY k) AS ${keys}, array_agg(lat_n ORDER BY k) AS ${counts}
      FROM (SELECT ${d}k, sum(lat_n)::bigint AS lat_n FROM (${keyParts.join('\n UNION ALL\n')}) x
            GROUP BY ${d}k HAVING sum(lat_n) <> 0) y ${groupBy}`,
        ]
      : []),
  ];
  return `${ctes.length ? `WITH ${ctes.join(', ')} ` : ''}SELECT ${d}${totals},
      COALESCE(max(${keys}), '{}') AS ${keys}, COALESCE(max(${counts}), '{}') AS ${counts}
    FROM (${branches.join('\n UNION ALL\n')}) z ${groupBy}`;
}

/**
 * What a query reads of parts: its groups' summed measures (`t`'s, plus `extra` expressions over
 * them), ordered by `dims`, those whose `nonZero` measure sums to 0 left out, at most `limit`; and
 * per group the merged sketch. The sums are merged in SQL; the sketches are read as stored (a
 * rollup row's arrays; the raw parts' keys as one array pair per group) and merged here, where
 * adding up a few hundred arrays costs less than unnesting tens of thousands of keys into a
 * grouping. Rows come as the sums row (measures by name, dims by name) and its sketch.
 */
export async function readMerged(
  sql: Sql,
  params: unknown[],
  q: {
    dims: readonly string[];
    parts: readonly Part[];
    t: RollupTable;
    ctes: readonly string[];
    extra: string;
    nonZero: string;
    limit: number;
  },
): Promise<{ row: Record<string, unknown>; sketch: Sketch }[]> {
  const d = q.dims.map((name) => `${name}, `).join('');
  const totals = q.t.measures
    .map((m) => `sum(${m})${q.t.numeric.includes(m) ? '' : '::bigint'} AS ${m}`)
    .join(', ');
  const order = q.dims.length ? `ORDER BY ${q.dims.join(', ')}` : '';
  const arrays = q.parts.flatMap((p) => (p.arrays ? [p.arrays] : []));
  const ctes = [
    ...q.ctes,
    `sums AS (SELECT ${d}${totals} FROM (${q.parts.map((p) => p.sums).join('\n UNION ALL\n')}) s
      ${q.dims.length ? `GROUP BY ${q.dims.join(', ')}` : ''} HAVING sum(${q.nonZero}) <> 0 ${order} LIMIT ${q.limit})`,
  ];
  const text = `WITH ${ctes.join(', ')}
    SELECT true AS sums_row, sums.*${q.extra ? `, ${q.extra}` : ''}, NULL::text AS sk_keys, NULL::text AS sk_counts FROM sums
    ${arrays.map((a) => `UNION ALL SELECT false, ${d}${q.t.measures.map(() => 'NULL').join(', ')}${q.extra ? ', NULL' : ''}, sk_keys, sk_counts FROM (${a}) a`).join('\n')}`;
  const rows = await sql<Record<string, unknown>>(text, params);
  const groupKey = (row: Record<string, unknown>) =>
    JSON.stringify(
      q.dims.map((name) => (row[name] instanceof Date ? (row[name] as Date).getTime() : row[name])),
    );
  const groups = new Map<string, { row: Record<string, unknown>; sketches: Sketch[] }>();
  for (const row of rows) if (row.sums_row) groups.set(groupKey(row), { row, sketches: [] });
  for (const row of rows) {
    if (row.sums_row || !row.sk_keys) continue;
    groups.get(groupKey(row))?.sketches.push({
      keys: (row.sk_keys as string).split(',').map(Number),
      counts: (row.sk_counts as string).split(',').map(Number),
    });
  }
  return [...groups.values()].map(({ row, sketches }) => ({
    row,
    sketch: mergeSketches(sketches),
  }));
}

/** The dimensions of a stored row, named as its columns. */
const ROW_DIMS = [
  'project_id',
  'by_user',
  'grain',
  'bucket',
  'is_call',
  'model',
  'provider',
  'kind',
  'status',
  'user_id',
] as const;

/** What the merge and the compactor need to know of a rollup table. */
export interface RollupTable {
  table: string;
  /** A stored row's dimensions, as its columns. */
  dims: readonly string[];
  /** The dimensions that name a bucket: the compactor merges all of a bucket's rows at once. */
  bucketDims: readonly string[];
  measures: readonly string[];
  /** The measures that are exact numerics; the others are bigint counts. */
  numeric: readonly string[];
  /** The sketch's columns: keys, and their counts. */
  sketch: readonly [keys: string, counts: string];
}

export const SPAN_ROLLUPS: RollupTable = {
  table: 'span_rollups',
  dims: ROW_DIMS,
  bucketDims: ['project_id', 'by_user', 'grain', 'bucket'],
  measures: MEASURES,
  numeric: ['cost'],
  sketch: ['latency_keys', 'latency_counts'],
};

/** A table's columns as an INSERT writes them: dims, measures, sketch. */
export const rowColumns = (t: RollupTable) => [...t.dims, ...t.measures, ...t.sketch].join(', ');

/** A stored row's dims from spans aliased `s`, crossed with `g(by_user, grain, unit)`. */
const SPAN_ROW_DIMS: readonly Dim[] = [
  ['s.project_id', 'project_id'],
  ['g.by_user', 'by_user'],
  ['g.grain', 'grain'],
  [`date_trunc(g.unit, s.start_time, 'UTC')`, 'bucket'],
  [isCallSql('s'), 'is_call'],
  ['CASE WHEN NOT g.by_user THEN s.normalized_model END', 'model'],
  ['CASE WHEN NOT g.by_user THEN s.provider END', 'provider'],
  ['CASE WHEN NOT g.by_user THEN s.kind END', 'kind'],
  ['CASE WHEN NOT g.by_user THEN s.status END', 'status'],
  ['CASE WHEN g.by_user THEN s.user_id END', 'user_id'],
];

/**
 * The rows a span adds to: at its UTC hour and its UTC day, once by its model, provider, kind and
 * status (user_id null), and once by its end user alone (model, provider, kind and status null).
 * The rows by user carry no other dimension: with them, the rows of an application's end users
 * were about as many as its spans (3.3 M hour rows for 5 M spans of 1,000 users) and their day
 * rows alone 310,000 for 2 M spans; alone, a user has one row per hour and day in which they made
 * calls (and one more for other spans). A query by user and another dimension reads spans.
 */
const CROSSED = `CROSS JOIN (VALUES (false, 'HOUR'::"RollupGrain", 'hour'), (false, 'DAY'::"RollupGrain", 'day'),
    (true, 'HOUR'::"RollupGrain", 'hour'), (true, 'DAY'::"RollupGrain", 'day')) AS g(by_user, grain, unit)`;

/**
 * The INSERT of the contribution of the spans in relation `source` (columns spanFacts): added, or
 * taken back with sign −1. Ends a statement whose WITH defines `source` (or names a table).
 * mergeSql's shape with one part, except that a row's latency keys come in no particular order
 * (keys and counts in the same one): without ORDER BY in the aggregates, Postgres hashes both
 * groupings instead of sorting every crossed span on eleven keys, which took this statement from
 * about 150 to about 100 ms per 1,000 spans (bench/README.md, ingest). Readers unnest the arrays;
 * the compactor writes its rows sorted.
 */
export function addContributionSql(source: string, sign: 1 | -1 = 1): string {
  const dims = ROW_DIMS.join(', ');
  const sums = MEASURES.map((m) => `sum(${m})${m === 'cost' ? '' : '::bigint'} AS ${m}`).join(', ');
  const kept = 'k IS NOT NULL AND lat_n <> 0';
  return `INSERT INTO span_rollups (${rowColumns(SPAN_ROLLUPS)})
    SELECT ${dims}, ${sums},
      COALESCE(array_agg(k) FILTER (WHERE ${kept}), '{}') AS latency_keys,
      COALESCE(array_agg(lat_n::bigint) FILTER (WHERE ${kept}), '{}') AS latency_counts
    FROM (${spanPart(`${source} s ${CROSSED}`, SPAN_ROW_DIMS, 'true', sign)}) parts
    GROUP BY ${dims}`;
}

/**
 * Merges up to `rows` partial rows (written by ingest or a score writer, not yet compacted) into
 * their groups' merged rows, in one statement: what it deletes it adds to the merged row of the
 * same group (one per group: the oldest, when two compactors once made two), or inserts as that
 * row; so a kill leaves either, and a pass costs what arrived since the last, not the whole
 * bucket. A merged row whose sums come to zero (its spans all moved or deleted) is deleted: every
 * measure 0 means its sketch is empty too. Concurrent compactors take disjoint rows (SKIP LOCKED)
 * and add to a merged row one after the other (the second UPDATE adds to what the first wrote).
 * Returns the partial rows removed, and the merged rows updated, written or emptied.
 */
export async function compactRollups(sql: Sql, rows: number, t: RollupTable = SPAN_ROLLUPS) {
  const dims = t.dims.map((d) => [`r.${d}`, d] as const);
  const match = (a: string, b: string) =>
    t.dims
      .map((d) =>
        t.bucketDims.includes(d)
          ? `${a}.${d} = ${b}.${d}`
          : `${a}.${d} IS NOT DISTINCT FROM ${b}.${d}`,
      )
      .join(' AND ');
  const nonZero = [
    ...t.measures.map((m) => `m.${m} <> 0`),
    `cardinality(m.${t.sketch[0]}) > 0`,
  ].join(' OR ');
  const [keys, counts] = t.sketch;
  const [row] = await sql<{ removed: number; written: number }>(
    `WITH picked AS (
       SELECT id FROM ${t.table} WHERE NOT compacted ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED),
     gone AS (
       DELETE FROM ${t.table} d USING picked p WHERE d.id = p.id RETURNING d.*),
     m AS (${mergeSql(t.dims, [rollupPart(dims, 'true', true, 'gone', t)], t)}),
     target AS (
       SELECT DISTINCT ON (${t.dims.map((d) => `m.${d}`).join(', ')}) c.id AS target_id,
         (${t.measures.map((x) => `c.${x} + m.${x} = 0`).join(' AND ')}) AS emptied, m.*
       FROM m JOIN ${t.table} c ON c.compacted AND ${match('c', 'm')}
       ORDER BY ${t.dims.map((d) => `m.${d}`).join(', ')}, c.id),
     emptied AS (
       DELETE FROM ${t.table} c USING target WHERE c.id = target.target_id AND target.emptied
       RETURNING 1),
     updated AS (
       UPDATE ${t.table} c SET ${t.measures.map((x) => `${x} = c.${x} + target.${x}`).join(', ')},
         (${keys}, ${counts}) = (
           SELECT COALESCE(array_agg(k ORDER BY k), '{}'), COALESCE(array_agg(n ORDER BY k), '{}')
           FROM (SELECT u.k, sum(u.n)::bigint AS n
                 FROM unnest(c.${keys} || target.${keys}, c.${counts} || target.${counts}) AS u(k, n)
                 GROUP BY u.k HAVING sum(u.n) <> 0) x)
       FROM target WHERE c.id = target.target_id AND NOT target.emptied
       RETURNING 1),
     inserted AS (
       INSERT INTO ${t.table} (${rowColumns(t)}, compacted)
       SELECT m.*, true FROM m
       WHERE (${nonZero}) AND NOT EXISTS (SELECT 1 FROM target x WHERE ${match('x', 'm')})
       RETURNING 1)
     SELECT (SELECT count(*) FROM gone)::int AS removed,
       ((SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted)
         + (SELECT count(*) FROM emptied))::int AS written`,
    [rows],
  );
  return row;
}
