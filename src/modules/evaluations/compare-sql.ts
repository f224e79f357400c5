// Run-against-run comparison (compareEvaluations), in SQL: two evaluations on one dataset, their
// items matched by the dataset item they were made from (evaluation_items.dataset_item_id). The
// summary is one statement of aggregates per grader over the matched pairs; only the paired score
// differences (one float per pair) come back as rows' worth of data, for the bootstrap.
import type { Sql } from '../../storage/db';
import { knownCostSql } from '../costs/unpriced';

/**
 * The change from base to candidate on one item for one grader: 1 improved, -1 regressed, 0
 * unchanged. By score when both have one and they differ; otherwise by pass when both have one
 * and they differ; otherwise unchanged. (`<>` of a null is null: the CASE falls through.)
 */
const changeSql = (bs: string, cs: string, bp: string, cp: string) =>
  `CASE WHEN ${bs} <> ${cs} THEN sign(${cs} - ${bs})::int WHEN ${bp} <> ${cp} THEN CASE WHEN ${cp} THEN 1 ELSE -1 END ELSE 0 END`;

/** One run's graded results (errored ones left out: they are not comparable), by dataset item. */
const gradedSql = (evaluationId: string) =>
  `SELECT i.dataset_item_id AS item, r.grader_name AS grader, r.score, r.passed
   FROM evaluation_results r JOIN evaluation_items i ON i.id = r.evaluation_item_id
   WHERE r.evaluation_id = ${evaluationId} AND r.error IS NULL AND i.dataset_item_id IS NOT NULL`;

/**
 * The summary of base ($1) against candidate ($2). Per grader, over its pairs (a dataset item
 * graded by it without error in both runs): means (over pairs where both have a score), pass rates
 * (where both have a pass), the mean of the paired differences, the change counts, and the paired
 * differences ordered by dataset item (what the bootstrap resamples). A result with no graded
 * partner in the other run is counted only in its own. Then items: matched, and in one run only.
 * One statement; bench/compare.js runs this same text by hand.
 */
export const COMPARISON_SUMMARY_SQL = `WITH b AS (${gradedSql('$1::uuid')}), c AS (${gradedSql('$2::uuid')}),
  p AS (
    SELECT coalesce(b.grader, c.grader) AS grader, coalesce(b.item, c.item) AS item,
      b.item IS NOT NULL AS in_base, c.item IS NOT NULL AS in_candidate,
      b.score AS bs, c.score AS cs, b.passed AS bp, c.passed AS cp,
      ${changeSql('b.score', 'c.score', 'b.passed', 'c.passed')} AS change
    FROM b FULL JOIN c ON c.item = b.item AND c.grader = b.grader),
  g AS (
    SELECT grader,
      count(*) FILTER (WHERE in_base AND in_candidate)::int AS pairs,
      count(*) FILTER (WHERE NOT in_candidate)::int AS only_in_base,
      count(*) FILTER (WHERE NOT in_base)::int AS only_in_candidate,
      avg(bs) FILTER (WHERE cs IS NOT NULL) AS base_mean,
      avg(cs) FILTER (WHERE bs IS NOT NULL) AS candidate_mean,
      avg(cs - bs) AS mean_difference,
      avg(bp::int) FILTER (WHERE cp IS NOT NULL)::float8 AS base_pass_rate,
      avg(cp::int) FILTER (WHERE bp IS NOT NULL)::float8 AS candidate_pass_rate,
      count(*) FILTER (WHERE in_base AND in_candidate AND change > 0)::int AS improved,
      count(*) FILTER (WHERE in_base AND in_candidate AND change < 0)::int AS regressed,
      count(*) FILTER (WHERE in_base AND in_candidate AND change = 0)::int AS unchanged,
      array_agg(cs - bs ORDER BY item) FILTER (WHERE cs IS NOT NULL AND bs IS NOT NULL) AS differences
    FROM p GROUP BY grader),
  items AS (
    SELECT count(*) FILTER (WHERE bi.id IS NOT NULL AND ci.id IS NOT NULL)::int AS matched,
      count(*) FILTER (WHERE ci.id IS NULL)::int AS only_in_base,
      count(*) FILTER (WHERE bi.id IS NULL)::int AS only_in_candidate
    FROM (SELECT id, dataset_item_id FROM evaluation_items WHERE evaluation_id = $1::uuid) bi
      FULL JOIN (SELECT id, dataset_item_id FROM evaluation_items WHERE evaluation_id = $2::uuid) ci
      ON ci.dataset_item_id = bi.dataset_item_id)
SELECT items.*, (SELECT coalesce(json_agg(g), '[]') FROM g) AS graders FROM items`;

export interface GraderComparisonRow {
  grader: string;
  pairs: number;
  only_in_base: number;
  only_in_candidate: number;
  base_mean: number | null;
  candidate_mean: number | null;
  mean_difference: number | null;
  base_pass_rate: number | null;
  candidate_pass_rate: number | null;
  improved: number;
  regressed: number;
  unchanged: number;
  /** candidate − base per pair with both scores, in dataset item order; null without any. */
  differences: number[] | null;
}

export interface ComparisonSummaryRow {
  matched: number;
  only_in_base: number;
  only_in_candidate: number;
  graders: GraderComparisonRow[];
}

export async function summariseComparison(
  sql: Sql,
  baseId: string,
  candidateId: string,
): Promise<ComparisonSummaryRow> {
  const [row] = await sql<ComparisonSummaryRow>(COMPARISON_SUMMARY_SQL, [baseId, candidateId]);
  return row;
}

/** What the comparison needs of each run: its project and dataset (checks), graders, spending, times. */
export interface ComparedEvaluationRow {
  id: string;
  projectId: string;
  datasetId: string | null;
  testingCriteria: unknown;
  judgeInputTokens: string;
  judgeOutputTokens: string;
  /** USD of the priced judge calls, as a decimal string; null when there were some and none could be priced. */
  judgeCost: string | null;
  judgeUnpricedCalls: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** STORED, SUPPLIED or GENERATED: only a GENERATED run has generation figures. */
  outputs: string;
  generationInputTokens: string;
  generationOutputTokens: string;
  /** As judgeCost, of the calls generating its outputs. */
  generationCost: string | null;
  generationUnpricedCalls: number;
}

/** The evaluations among $1 (uuid[]) that exist. */
export const COMPARED_EVALUATIONS_SQL = `SELECT id::text, project_id::text AS "projectId", data_source->>'datasetId' AS "datasetId",
    testing_criteria AS "testingCriteria", judge_input_tokens::text AS "judgeInputTokens", judge_output_tokens::text AS "judgeOutputTokens",
    ${knownCostSql('judge_cost', 'judge_calls', 'judge_unpriced_calls')} AS "judgeCost", judge_unpriced_calls AS "judgeUnpricedCalls",
    started_at AS "startedAt", finished_at AS "finishedAt", outputs::text AS "outputs", generation_input_tokens::text AS "generationInputTokens",
    generation_output_tokens::text AS "generationOutputTokens",
    ${knownCostSql('generation_cost', 'generation_calls', 'generation_unpriced_calls')} AS "generationCost",
    generation_unpriced_calls AS "generationUnpricedCalls"
  FROM evaluations WHERE id = ANY($1::uuid[])`;

/** The evaluations among `ids` that exist, by id. */
export async function loadComparedEvaluations(
  sql: Sql,
  ids: string[],
): Promise<Map<string, ComparedEvaluationRow>> {
  const rows = await sql<ComparedEvaluationRow>(COMPARED_EVALUATIONS_SQL, [ids]);
  return new Map(rows.map((r) => [r.id, r]));
}

export interface ItemLatencyRow {
  evaluation_id: string;
  items: number;
  mean: number;
  p50: number;
  p95: number;
}

/**
 * Per run of $1 (uuid[]), the grading latency of its items: an item's graders run side by side,
 * so an item's latency is its slowest grader's. Runs without any recorded latency have no row.
 */
export const ITEM_LATENCY_SQL = `SELECT evaluation_id::text, count(*)::int AS items, avg(ms)::float8 AS mean,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95
  FROM (SELECT evaluation_id, max(latency_ms) AS ms FROM evaluation_results
        WHERE evaluation_id = ANY($1::uuid[]) AND latency_ms IS NOT NULL GROUP BY evaluation_id, evaluation_item_id) x
  GROUP BY evaluation_id`;

export const itemLatencies = (sql: Sql, ids: string[]) =>
  sql<ItemLatencyRow>(ITEM_LATENCY_SQL, [ids]);

/** Per run of $1 (uuid[]), the latency of generating its items' outputs (runs that generated them). */
export const GENERATION_LATENCY_SQL = `SELECT evaluation_id::text, count(*)::int AS items, avg(generation_latency_ms)::float8 AS mean,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY generation_latency_ms) AS p50,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY generation_latency_ms) AS p95
  FROM evaluation_items WHERE evaluation_id = ANY($1::uuid[]) AND generation_latency_ms IS NOT NULL
  GROUP BY evaluation_id`;

export const generationLatencies = (sql: Sql, ids: string[]) =>
  sql<ItemLatencyRow>(GENERATION_LATENCY_SQL, [ids]);

export type Change = 'IMPROVED' | 'REGRESSED' | 'UNCHANGED';
const CHANGE_VALUE: Record<Change, number> = { IMPROVED: 1, REGRESSED: -1, UNCHANGED: 0 };

export interface ItemFilter {
  change?: Change | null;
  grader?: string | null;
}

/**
 * The WHERE condition over a pair `p` (base_item, candidate_item) for the filter. `compared(cond)`:
 * some grader graded both sides without error and `cond` holds of it (its name `rb.grader_name`,
 * its change `ch`). A change without a grader: on any grader, and for UNCHANGED on every grader
 * that compared the item.
 */
function filterSql(filter: ItemFilter, params: unknown[]): string {
  const compared = (cond: string) =>
    `EXISTS (SELECT 1 FROM evaluation_results rb JOIN evaluation_results rc
       ON rc.evaluation_item_id = p.candidate_item AND rc.grader_name = rb.grader_name AND rc.error IS NULL,
       LATERAL (SELECT ${changeSql('rb.score', 'rc.score', 'rb.passed', 'rc.passed')} AS ch) x
     WHERE rb.evaluation_item_id = p.base_item AND rb.error IS NULL AND ${cond})`;
  const grader = filter.grader != null ? `rb.grader_name = $${params.push(filter.grader)}` : null;
  if (!filter.change) return grader ? compared(grader) : 'true';
  const change = CHANGE_VALUE[filter.change];
  if (grader) return compared(`${grader} AND x.ch = ${change}`);
  if (change !== 0) return compared(`x.ch = ${change}`);
  return `${compared('true')} AND NOT ${compared('x.ch <> 0')}`;
}

/** The matched pairs of base ($1) and candidate ($2), by dataset item. */
const PAIRS_SQL = `SELECT bi.dataset_item_id AS item, bi.id AS base_item, ci.id AS candidate_item
  FROM evaluation_items bi JOIN evaluation_items ci ON ci.evaluation_id = $2::uuid AND ci.dataset_item_id = bi.dataset_item_id
  WHERE bi.evaluation_id = $1::uuid`;

export interface ComparedGradeJson {
  score: number | null;
  passed: boolean | null;
  reasoning: string | null;
  error: string | null;
  latency_ms: number | null;
  /** The judge provider that answered; null for graders that call none. */
  provider: string | null;
}

export interface ComparisonItemRow {
  dataset_item_id: string;
  base_item_id: string;
  candidate_item_id: string;
  input: unknown;
  expected_output: unknown;
  base_output: unknown;
  candidate_output: unknown;
  /** Per grader of either side, by name. */
  results: {
    grader: string;
    base: ComparedGradeJson | null;
    candidate: ComparedGradeJson | null;
    /** null unless both sides graded it without error. */
    change: number | null;
  }[];
}

const gradeJson = (r: string) =>
  `CASE WHEN ${r}.id IS NOT NULL THEN json_build_object('score', ${r}.score, 'passed', ${r}.passed, 'reasoning', ${r}.reasoning,
     'error', ${r}.error, 'latency_ms', ${r}.latency_ms, 'provider', ${r}.provider) END`;

/** A page of matched items in dataset item order, after the dataset item `after`; `limit` rows. */
export function listComparisonItems(
  sql: Sql,
  q: {
    baseId: string;
    candidateId: string;
    filter: ItemFilter;
    after: string | null;
    limit: number;
  },
) {
  const params: unknown[] = [q.baseId, q.candidateId];
  const where = [filterSql(q.filter, params)];
  if (q.after) where.push(`p.item > $${params.push(q.after)}::uuid`);
  return sql<ComparisonItemRow>(
    `SELECT p.item::text AS dataset_item_id, p.base_item::text AS base_item_id, p.candidate_item::text AS candidate_item_id,
       ci.input, ci.expected_output, bi.output AS base_output, ci.output AS candidate_output,
       (SELECT coalesce(json_agg(json_build_object('grader', coalesce(rb.grader_name, rc.grader_name),
          'base', ${gradeJson('rb')}, 'candidate', ${gradeJson('rc')},
          'change', CASE WHEN rb.id IS NOT NULL AND rc.id IS NOT NULL AND rb.error IS NULL AND rc.error IS NULL THEN ${changeSql('rb.score', 'rc.score', 'rb.passed', 'rc.passed')} END)
          ORDER BY coalesce(rb.grader_name, rc.grader_name)), '[]')
        FROM (SELECT * FROM evaluation_results WHERE evaluation_item_id = p.base_item) rb
          FULL JOIN (SELECT * FROM evaluation_results WHERE evaluation_item_id = p.candidate_item) rc ON rc.grader_name = rb.grader_name) AS results
     FROM (${PAIRS_SQL}) p JOIN evaluation_items bi ON bi.id = p.base_item JOIN evaluation_items ci ON ci.id = p.candidate_item
     WHERE ${where.join(' AND ')}
     ORDER BY p.item LIMIT ${q.limit}`,
    params,
  );
}

/** How many matched items the filter keeps, over every page. */
export async function countComparisonItems(
  sql: Sql,
  q: { baseId: string; candidateId: string; filter: ItemFilter },
): Promise<number> {
  const params: unknown[] = [q.baseId, q.candidateId];
  const [row] = await sql<{ n: number }>(
    `SELECT count(*)::int AS n FROM (${PAIRS_SQL}) p WHERE ${filterSql(q.filter, params)}`,
    params,
  );
  return row.n;
}
