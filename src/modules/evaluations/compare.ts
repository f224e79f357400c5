// compareEvaluations: a candidate run against a base run on the same dataset (any versions), item
// by item (matched by dataset item). Both are checked first (readable by the caller, one project,
// one dataset); the summary is read once, when first asked for, and the graders' bootstrap
// intervals (all at once: they share their draws) only when one is.
import type { Context } from '../../context';
import { badInput } from '../../errors';
import { authorizeRow } from '../auth/access';
import { bootstrapIntervals } from './bootstrap';
import {
  type ComparedEvaluationRow,
  type GraderComparisonRow,
  type ItemLatencyRow,
  generationLatencies,
  itemLatencies,
  loadComparedEvaluations,
  summariseComparison,
} from './compare-sql';

export const DEFAULT_SEED = 1;
export const DEFAULT_RESAMPLES = 1_000;
export const MIN_RESAMPLES = 100;
export const MAX_RESAMPLES = 10_000;
/** The interval's coverage (the issue asks for 95 %). */
export const LEVEL = 0.95;

export interface Interval {
  lower: number;
  upper: number;
  level: number;
  resamples: number;
  seed: number;
}

export interface GraderComparison extends Omit<GraderComparisonRow, 'differences'> {
  /** The bootstrap interval of the mean difference, computed when asked for; null without pairs. */
  interval(): Promise<Interval | null>;
}

export interface ComparedRun extends ComparedEvaluationRow {
  /** Grading latency of its items, or null when none was recorded. */
  latency(): Promise<ItemLatencyRow | null>;
  /** Latency of generating its items' outputs, or null when it did not generate them. */
  generationLatency(): Promise<ItemLatencyRow | null>;
}

export interface EvaluationComparison {
  projectId: string;
  datasetId: string;
  baseId: string;
  candidateId: string;
  seed: number;
  resamples: number;
  base: ComparedRun;
  candidate: ComparedRun;
  summary(): Promise<{
    matched: number;
    onlyInBase: number;
    onlyInCandidate: number;
    graders: GraderComparison[];
  }>;
}

const once = <T>(f: () => Promise<T>) => {
  let p: Promise<T> | null = null;
  return () => (p ??= f());
};

const graderNames = (testingCriteria: unknown): string[] =>
  Array.isArray(testingCriteria)
    ? testingCriteria.map((g) => String((g as { name?: unknown }).name))
    : [];

export async function compareEvaluations(
  ctx: Context,
  baseId: string,
  candidateId: string,
  options: { seed: number; resamples: number },
): Promise<EvaluationComparison> {
  if (
    !Number.isInteger(options.resamples) ||
    options.resamples < MIN_RESAMPLES ||
    options.resamples > MAX_RESAMPLES
  )
    throw badInput(`resamples must be ${MIN_RESAMPLES} to ${MAX_RESAMPLES}.`, ['resamples']);
  const sql = ctx.deps.db.query;
  const rows = await loadComparedEvaluations(sql, [baseId, candidateId]);
  // Missing and unreadable answer alike (NOT_FOUND), each at its argument.
  const base = await authorizeRow(ctx, rows.get(baseId), 'read', 'Evaluation', ['baseId']);
  const candidate = await authorizeRow(ctx, rows.get(candidateId), 'read', 'Evaluation', [
    'candidateId',
  ]);
  if (base.projectId !== candidate.projectId)
    throw badInput('The two evaluations are in different projects.', ['candidateId']);
  for (const [row, path] of [
    [base, 'baseId'],
    [candidate, 'candidateId'],
  ] as const) {
    if (!row.datasetId)
      throw badInput(
        'Only evaluations run on a dataset can be compared (their items are matched by dataset item); this one was not.',
        [path],
      );
  }
  if (base.datasetId !== candidate.datasetId)
    throw badInput('The two evaluations were run on different datasets.', ['candidateId']);

  const latencies = once(
    async () =>
      new Map((await itemLatencies(sql, [baseId, candidateId])).map((r) => [r.evaluation_id, r])),
  );
  const generation = once(
    async () =>
      new Map(
        (await generationLatencies(sql, [baseId, candidateId])).map((r) => [r.evaluation_id, r]),
      ),
  );
  const run = (row: ComparedEvaluationRow): ComparedRun => ({
    ...row,
    latency: async () => (await latencies()).get(row.id) ?? null,
    generationLatency: async () => (await generation()).get(row.id) ?? null,
  });

  const summary = once(async () => {
    const row = await summariseComparison(sql, baseId, candidateId);
    // Graders by name: the base's in its order, then the candidate's own; a grader with results
    // but in neither list (never, as written) last.
    const names = new Set([
      ...graderNames(base.testingCriteria),
      ...graderNames(candidate.testingCriteria),
      ...row.graders.map((g) => g.grader),
    ]);
    const byName = new Map(row.graders.map((g) => [g.grader, g]));
    const graders = [...names].map((name) => byName.get(name) ?? ungraded(name));
    const settings = { seed: options.seed, resamples: options.resamples, level: LEVEL };
    // Every grader's interval, when the first is asked for: they share their draws.
    const intervals = once(() =>
      bootstrapIntervals(
        graders.map((g) => g.differences ?? []),
        settings,
      ),
    );
    return {
      matched: row.matched,
      onlyInBase: row.only_in_base,
      onlyInCandidate: row.only_in_candidate,
      graders: graders.map(
        ({ differences: _, ...g }, i): GraderComparison => ({
          ...g,
          interval: async () => {
            const bounds = (await intervals())[i];
            return bounds && { ...bounds, ...settings };
          },
        }),
      ),
    };
  });

  return {
    projectId: base.projectId,
    datasetId: base.datasetId!,
    baseId,
    candidateId,
    seed: options.seed,
    resamples: options.resamples,
    base: run(base),
    candidate: run(candidate),
    summary,
  };
}

/** A grader with no graded result in either run: no pairs, so no numbers. */
const ungraded = (grader: string): GraderComparisonRow => ({
  grader,
  pairs: 0,
  only_in_base: 0,
  only_in_candidate: 0,
  base_mean: null,
  candidate_mean: null,
  mean_difference: null,
  base_pass_rate: null,
  candidate_pass_rate: null,
  improved: 0,
  regressed: 0,
  unchanged: 0,
  differences: null,
});
