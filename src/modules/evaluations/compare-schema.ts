// `compareEvaluations(baseId, candidateId)`: did the candidate run do better than the base run on
// the same dataset? Per grader, the means, pass rates, their difference with a bootstrap interval
// and the items improved, regressed and unchanged; the items side by side; both runs' cost and
// latency. Needs the `read` action on the evaluations' project (judge costs: `costs`).
import { badInput } from '../../errors';
import { isUuid } from '../../lib/ids';
import { keysetPage } from '../../lib/cursors';
import { pageSize } from '../../lib/pages';
import { builder } from '../../schema/builder';
import { projectScope } from '../auth/permissions';
import {
  type ComparedRun,
  compareEvaluations,
  DEFAULT_RESAMPLES,
  DEFAULT_SEED,
  type EvaluationComparison,
  type GraderComparison,
  type Interval,
  LEVEL,
  MAX_RESAMPLES,
  MIN_RESAMPLES,
} from './compare';
import {
  type Change,
  type ComparedGradeJson,
  type ComparisonItemRow,
  countComparisonItems,
  listComparisonItems,
} from './compare-sql';
import { EvaluationRef } from './schema';
import {
  GENERATION_COST,
  JUDGE_COST,
  JUDGE_TOKENS,
  JUDGE_UNPRICED_CALLS,
  unpricedCalls,
} from './spend-descriptions';
import { MAX_GRADERS } from '../graders/definitions';

const costScope = projectScope('costs');

const ChangeEnum = builder.enumType('ComparisonChange', {
  description:
    'How a grader judged the candidate against the base on one item: by score when both have one and they differ, else by pass when both have one and they differ, else unchanged.',
  values: {
    IMPROVED: { description: 'A higher score (or, scores equal, passed where the base failed).' },
    REGRESSED: { description: 'A lower score (or, scores equal, failed where the base passed).' },
    UNCHANGED: { description: 'The same score and pass.' },
  } as const,
});

const CHANGE_OF: Record<number, Change> = { 1: 'IMPROVED', [-1]: 'REGRESSED', 0: 'UNCHANGED' };

const IntervalRef = builder.objectRef<Interval>('BootstrapInterval').implement({
  description: `A paired bootstrap interval of the mean difference (candidate − base): the items' score differences resampled with replacement, \`resamples\` times, by mulberry32 seeded with \`seed\` (every grader draws the same items), and the quantiles (1 − level)/2 and (1 + level)/2 of the resampled means (linear interpolation). The same seed gives the same interval.`,
  fields: (t) => ({
    lower: t.exposeFloat('lower'),
    upper: t.exposeFloat('upper'),
    level: t.exposeFloat('level', { description: `Its coverage: ${LEVEL}.` }),
    resamples: t.exposeInt('resamples'),
    seed: t.exposeInt('seed'),
  }),
});

const GraderComparisonRef = builder.objectRef<GraderComparison>('GraderComparison').implement({
  description:
    'One grader (by name) over the pairs: dataset items it graded without error in both runs. Means are over the pairs where both have a score, pass rates where both have a pass; without pairs they are null.',
  fields: (t) => ({
    name: t.exposeString('grader'),
    pairs: t.exposeInt('pairs', { description: 'Items graded by it in both runs.' }),
    baseMeanScore: t.exposeFloat('base_mean', { nullable: true }),
    candidateMeanScore: t.exposeFloat('candidate_mean', { nullable: true }),
    meanDifference: t.exposeFloat('mean_difference', {
      nullable: true,
      description: 'candidateMeanScore − baseMeanScore: the mean of the paired differences.',
    }),
    meanDifferenceInterval: t.field({
      type: IntervalRef,
      nullable: true,
      description: 'Its 95 % paired bootstrap interval.',
      resolve: (g) => g.interval(),
    }),
    basePassRate: t.exposeFloat('base_pass_rate', { nullable: true }),
    candidatePassRate: t.exposeFloat('candidate_pass_rate', { nullable: true }),
    improved: t.exposeInt('improved', { description: 'Pairs IMPROVED (ComparisonChange).' }),
    regressed: t.exposeInt('regressed'),
    unchanged: t.exposeInt('unchanged'),
    onlyInBase: t.exposeInt('only_in_base', {
      description:
        'Items it graded (without error) in the base run only: not in the candidate run, or not graded by it there (errored, not yet, or not one of its graders).',
    }),
    onlyInCandidate: t.exposeInt('only_in_candidate', {
      description: 'Items it graded in the candidate run only (as onlyInBase).',
    }),
  }),
});

const ComparedGradeRef = builder.objectRef<ComparedGradeJson>('ComparedGrade').implement({
  description: "One run's result of one grader on one item.",
  fields: (t) => ({
    score: t.exposeFloat('score', { nullable: true }),
    passed: t.exposeBoolean('passed', { nullable: true }),
    reasoning: t.exposeString('reasoning', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
    latencyMs: t.exposeInt('latency_ms', { nullable: true }),
    provider: t.exposeString('provider', {
      nullable: true,
      description: 'The judge provider that answered; null for graders that call no judge.',
    }),
  }),
});

type ItemResult = ComparisonItemRow['results'][number];

const ItemResultRef = builder.objectRef<ItemResult>('ComparisonItemResult').implement({
  description: 'One grader on one item, both runs side by side.',
  fields: (t) => ({
    grader: t.exposeString('grader'),
    change: t.field({
      type: ChangeEnum,
      nullable: true,
      description: 'Null unless both runs graded it without error.',
      resolve: (r) => (r.change === null ? null : CHANGE_OF[r.change]),
    }),
    base: t.field({ type: ComparedGradeRef, nullable: true, resolve: (r) => r.base }),
    candidate: t.field({ type: ComparedGradeRef, nullable: true, resolve: (r) => r.candidate }),
  }),
});

const ComparisonItemRef = builder.objectRef<ComparisonItemRow>('ComparisonItem').implement({
  description:
    "A dataset item in both runs: the candidate run's input and expected output, both outputs, and every grader side by side.",
  fields: (t) => ({
    datasetItemId: t.exposeID('dataset_item_id', { description: 'DatasetItem.id.' }),
    baseItemId: t.exposeID('base_item_id', { description: "The base run's EvaluationItem.id." }),
    candidateItemId: t.exposeID('candidate_item_id'),
    input: t.field({ type: 'JSON', resolve: (i) => i.input }),
    expectedOutput: t.field({ type: 'JSON', nullable: true, resolve: (i) => i.expected_output }),
    baseOutput: t.field({ type: 'JSON', nullable: true, resolve: (i) => i.base_output }),
    candidateOutput: t.field({ type: 'JSON', nullable: true, resolve: (i) => i.candidate_output }),
    results: t.field({
      type: [ItemResultRef],
      extensions: { listSize: 2 * MAX_GRADERS },
      description: 'Per grader of either run, by name.',
      resolve: (i) => i.results,
    }),
  }),
});

type ItemPage = ReturnType<typeof keysetPage<ComparisonItemRow>> & { count(): Promise<number> };

const ComparisonItemConnection = builder.connectionObject(
  {
    type: ComparisonItemRef,
    name: 'ComparisonItemConnection',
    fields: (c) => ({
      totalCount: c.int({
        description: 'Items matching, over every page.',
        resolve: (conn) => (conn as unknown as ItemPage).count(),
      }),
    }),
  },
  { name: 'ComparisonItemEdge' },
);

const ComparisonItemFilter = builder.inputType('ComparisonItemFilter', {
  fields: (t) => ({
    change: t.field({
      type: ChangeEnum,
      description:
        'With a grader, its change; without, IMPROVED and REGRESSED on any grader, UNCHANGED on every grader that graded the item in both runs.',
    }),
    grader: t.string({ description: 'A grader name: items it graded in both runs.' }),
  }),
});

const LatencyRef = builder
  .objectRef<{ items: number; mean: number; p50: number; p95: number }>('ItemLatency')
  .implement({
    description: 'Milliseconds per item, over the items that recorded one.',
    fields: (t) => ({
      items: t.exposeInt('items'),
      meanMs: t.exposeFloat('mean'),
      p50Ms: t.exposeFloat('p50'),
      p95Ms: t.exposeFloat('p95'),
    }),
  });

const ComparedRunRef = builder.objectRef<ComparedRun>('ComparedRun').implement({
  description:
    "One run's cost and latency, as a whole (matched or not). A figure that was not recorded is null.",
  fields: (t) => ({
    evaluation: t.prismaField({
      type: 'Evaluation',
      resolve: (query, r, _a, ctx) =>
        ctx.deps.db.prisma.evaluation.findUniqueOrThrow({ ...query, where: { id: r.id } }),
    }),
    durationMs: t.float({
      nullable: true,
      description: 'From startedAt to finishedAt; null until it has both.',
      resolve: (r) =>
        r.startedAt && r.finishedAt
          ? new Date(r.finishedAt).getTime() - new Date(r.startedAt).getTime()
          : null,
    }),
    judgeInputTokens: t.field({
      type: 'SafeInt',
      nullable: true,
      authScopes: costScope,
      description: JUDGE_TOKENS,
      resolve: (r) => Number(r.judgeInputTokens),
    }),
    judgeOutputTokens: t.field({
      type: 'SafeInt',
      nullable: true,
      authScopes: costScope,
      description: JUDGE_TOKENS,
      resolve: (r) => Number(r.judgeOutputTokens),
    }),
    judgeCost: t.field({
      type: 'Decimal',
      nullable: true,
      authScopes: costScope,
      description: JUDGE_COST,
      resolve: (r) => r.judgeCost,
    }),
    judgeUnpricedCalls: t.int({
      nullable: true,
      authScopes: costScope,
      description: JUDGE_UNPRICED_CALLS,
      resolve: (r) => r.judgeUnpricedCalls,
    }),
    // Only a run whose outputs were generated (the completions data source) has these.
    generationInputTokens: t.field({
      type: 'SafeInt',
      nullable: true,
      authScopes: costScope,
      description: 'Tokens of output generation; null when the run did not generate its outputs.',
      resolve: (r) => (r.outputs === 'GENERATED' ? Number(r.generationInputTokens) : null),
    }),
    generationOutputTokens: t.field({
      type: 'SafeInt',
      nullable: true,
      authScopes: costScope,
      resolve: (r) => (r.outputs === 'GENERATED' ? Number(r.generationOutputTokens) : null),
    }),
    generationCost: t.field({
      type: 'Decimal',
      nullable: true,
      authScopes: costScope,
      description: `${GENERATION_COST} Null too when the run did not generate them.`,
      resolve: (r) => (r.outputs === 'GENERATED' ? r.generationCost : null),
    }),
    generationUnpricedCalls: t.int({
      nullable: true,
      authScopes: costScope,
      description: unpricedCalls(
        'Calls generating its outputs',
        'generationCost',
        'without the right to read costs, or when the run did not generate its outputs',
      ),
      resolve: (r) => (r.outputs === 'GENERATED' ? r.generationUnpricedCalls : null),
    }),
    generationLatency: t.field({
      type: LatencyRef,
      nullable: true,
      description: 'Per item, generating its output; null when the run did not generate them.',
      resolve: (r) => r.generationLatency(),
    }),
    gradingLatency: t.field({
      type: LatencyRef,
      nullable: true,
      description:
        "Per item, grading it: its slowest grader's time (graders run side by side). Null when none was recorded.",
      resolve: (r) => r.latency(),
    }),
  }),
});

const EvaluationComparisonRef = builder
  .objectRef<EvaluationComparison>('EvaluationComparison')
  .implement({
    // Results arrive while a run is graded; its start and end drop the project's answers.
    extensions: { cacheTtlMs: 5_000 },
    description:
      'A candidate run against a base run on the same dataset (any versions), items matched by dataset item.',
    fields: (t) => ({
      dataset: t.prismaField({
        type: 'Dataset',
        nullable: true,
        resolve: (query, c, _a, ctx) =>
          ctx.deps.db.prisma.dataset.findUnique({ ...query, where: { id: c.datasetId } }),
      }),
      matchedItems: t.int({
        description: 'Dataset items in both runs.',
        resolve: async (c) => (await c.summary()).matched,
      }),
      onlyInBase: t.int({
        description: 'Items of the base run whose dataset item the candidate run does not have.',
        resolve: async (c) => (await c.summary()).onlyInBase,
      }),
      onlyInCandidate: t.int({
        description: 'Items of the candidate run whose dataset item the base run does not have.',
        resolve: async (c) => (await c.summary()).onlyInCandidate,
      }),
      graders: t.field({
        type: [GraderComparisonRef],
        extensions: { listSize: 2 * MAX_GRADERS },
        description:
          "Every grader of either run, by name: the base's in order, then the candidate's.",
        resolve: async (c) => (await c.summary()).graders,
      }),
      items: t.connection(
        {
          type: ComparisonItemRef,
          description: 'The matched items side by side, in dataset item order (first/after).',
          args: { filter: t.arg({ type: ComparisonItemFilter }) },
          resolve: async (c, args, ctx): Promise<ItemPage> => {
            if (args.last != null || args.before != null)
              throw badInput('Items page forward only: use first and after.', ['last']);
            if (args.after && !isUuid(args.after))
              throw badInput('`after` is not a cursor of this list.', ['after']);
            const limit = pageSize(args);
            const sql = ctx.deps.db.query;
            const q = {
              baseId: c.baseId,
              candidateId: c.candidateId,
              filter: { change: args.filter?.change ?? null, grader: args.filter?.grader ?? null },
            };
            const rows = await listComparisonItems(sql, {
              ...q,
              after: args.after ?? null,
              limit: limit + 1,
            });
            return {
              ...keysetPage(rows, limit, args.after != null, (i) => i.dataset_item_id),
              count: () => countComparisonItems(sql, q),
            };
          },
        },
        ComparisonItemConnection,
      ),
      baseRun: t.field({ type: ComparedRunRef, resolve: (c) => c.base }),
      candidateRun: t.field({ type: ComparedRunRef, resolve: (c) => c.candidate }),
    }),
  });

builder.queryField('compareEvaluations', (t) =>
  t.field({
    type: EvaluationComparisonRef,
    // Aggregations over both runs' results, priced as scoreSummary, and the bootstrap, whose work
    // grows with its resamples: 1 more per 100.
    extensions: {
      cost: (args: { resamples?: unknown }) =>
        50 + Math.ceil((Number(args.resamples) || DEFAULT_RESAMPLES) / 100),
    },
    complexity: 50,
    description:
      'Compares a candidate evaluation with a base evaluation run on the same dataset (any versions), item by item. Both must be readable, in one project, on one dataset.',
    args: {
      baseId: t.arg.globalID({ required: true, for: EvaluationRef }),
      candidateId: t.arg.globalID({ required: true, for: EvaluationRef }),
      seed: t.arg.int({
        defaultValue: DEFAULT_SEED,
        description: 'Seeds the bootstrap: the same seed, the same interval.',
      }),
      resamples: t.arg.int({
        defaultValue: DEFAULT_RESAMPLES,
        description: `Bootstrap resamples, ${MIN_RESAMPLES} to ${MAX_RESAMPLES}.`,
      }),
    },
    resolve: (_root, args, ctx) =>
      compareEvaluations(ctx, args.baseId.id, args.candidateId.id, {
        seed: args.seed ?? DEFAULT_SEED,
        resamples: args.resamples ?? DEFAULT_RESAMPLES,
      }),
  }),
);
