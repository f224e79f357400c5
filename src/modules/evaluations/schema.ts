// Evaluations, their items and results (datasets: dataset-schema.ts) (OpenAI Evals vocabulary: testing criteria,
// result counts, per-testing-criteria results). Readable with the `read` action; judge cost
// fields need `costs`.
import {
  EvaluationItemState,
  EvaluationOutputs,
  EvaluationStatus,
} from '../../generated/prisma/enums';
import { found } from '../../errors';
import { builder } from '../../schema/builder';
import { projectScope } from '../auth/permissions';
import { knownCost } from '../costs/unpriced';
import {
  GENERATION_COST,
  GENERATION_UNPRICED_CALLS,
  JUDGE_COST,
  JUDGE_TOKENS,
  JUDGE_UNPRICED_CALLS,
  unpricedCalls,
} from './spend-descriptions';
import { GRADER_TYPES } from '../graders/definitions';
import { ProjectRef } from '../projects/schema';
import { loadersOf } from '../traces/loaders';
import { SpanRef, TraceRef } from '../traces/schema';
import { graderSummaries, passRate, percentDone, type GraderSummary } from './summaries';

export const EvaluationStatusEnum = builder.enumType(EvaluationStatus, {
  name: 'EvaluationStatus',
  description: 'Where an evaluation is.',
});
export const EvaluationItemStateEnum = builder.enumType(EvaluationItemState, {
  name: 'EvaluationItemState',
});
export const EvaluationOutputsEnum = builder.enumType(EvaluationOutputs, {
  name: 'EvaluationOutputs',
  description: 'Where the outputs it grades ({{sample.output_text}}) come from.',
});
export const GraderTypeEnum = builder.enumType('GraderType', {
  values: GRADER_TYPES,
  description: 'Kinds of graders (testing criteria).',
});

const readScope = projectScope('read');
const costScope = projectScope('costs');

export const EvaluationBatchRef = builder.prismaNode('EvaluationBatch', {
  // Loaded with findUnique: a missing node is null (then NOT_FOUND), not a thrown Prisma error.
  nullable: true,
  id: { field: 'id' },
  description: 'Evaluations created together.',
  authScopes: readScope,
  fields: (t) => ({
    name: t.exposeString('name'),
    project: t.relation('project'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    evaluations: t.relation('evaluations', { query: { orderBy: { id: 'asc' } } }),
  }),
});

export const ResultCounts = builder
  .objectRef<{
    total: number;
    completed: number;
    passed: number;
    failed: number;
    errored: number;
    skipped: number;
  }>('EvaluationResultCounts')
  .implement({
    description:
      'Items by outcome (OpenAI Evals `result_counts`). An item passes when every grader passes, errors when a grader could not grade it.',
    fields: (t) => ({
      total: t.exposeInt('total'),
      completed: t.exposeInt('completed'),
      passed: t.exposeInt('passed'),
      failed: t.exposeInt('failed'),
      errored: t.exposeInt('errored'),
      skipped: t.exposeInt('skipped', {
        description:
          'Never graded: the evaluation was closed (closeEvaluation) before their outputs arrived.',
      }),
    }),
  });

export const GraderResults = builder.objectRef<GraderSummary>('TestingCriterionResult').implement({
  description:
    'One grader over the items graded so far (OpenAI Evals `per_testing_criteria_results`).',
  fields: (t) => ({
    name: t.exposeString('name'),
    type: t.field({
      type: GraderTypeEnum,
      resolve: (g) => g.type as (typeof GRADER_TYPES)[number],
    }),
    meanScore: t.exposeFloat('meanScore', { nullable: true }),
    passed: t.exposeInt('passed'),
    failed: t.exposeInt('failed'),
    errored: t.exposeInt('errored'),
    passRate: t.float({
      nullable: true,
      description: 'passed / (passed + failed); null before any is graded.',
      resolve: passRate,
    }),
  }),
});

const ResultFilter = builder.inputType('EvaluationResultFilter', {
  fields: (t) => ({
    passed: t.boolean(),
    grader: t.string({ description: 'Grader name.' }),
    errored: t.boolean(),
  }),
});

export const EvaluationRef = builder.prismaNode('Evaluation', {
  // Dropped from the cache whenever it changes (its events), so kept a minute.
  extensions: { cacheTtlMs: 60_000 },
  // Loaded with findUnique: a missing node is null (then NOT_FOUND), not a thrown Prisma error.
  nullable: true,
  id: { field: 'id' },
  description: 'A run of graders over items. Judge cost fields need the BILLING or ADMIN role.',
  authScopes: readScope,
  fields: (t) => ({
    name: t.exposeString('name'),
    project: t.relation('project'),
    creator: t.relation('creator', { nullable: true }),
    batch: t.relation('batch', { nullable: true }),
    status: t.expose('status', { type: EvaluationStatusEnum }),
    testingCriteria: t.field({
      type: 'JSON',
      description: 'The graders, as stored (G-Eval steps filled in once generated).',
      resolve: (e) => e.testingCriteria,
    }),
    dataSource: t.expose('dataSource', { type: 'JSON' }),
    dataset: t.relation('dataset', {
      nullable: true,
      description: 'The dataset it ran on (a dataset data source).',
    }),
    datasetVersion: t.expose('datasetVersion', {
      type: 'DateTime',
      nullable: true,
      description:
        'The version of the dataset it ran on (one of Dataset.versions): create an evaluation with dataSource { datasetId, datasetVersion } to run on the same items again.',
    }),
    outputs: t.expose('outputs', { type: EvaluationOutputsEnum }),
    resultCounts: t.field({
      type: ResultCounts,
      select: {
        totalCount: true,
        completedCount: true,
        passedCount: true,
        failedCount: true,
        erroredCount: true,
        skippedCount: true,
      },
      resolve: (e) => ({
        total: e.totalCount,
        completed: e.completedCount,
        passed: e.passedCount,
        failed: e.failedCount,
        errored: e.erroredCount,
        skipped: e.skippedCount,
      }),
    }),
    percentDone: t.float({
      select: { totalCount: true, completedCount: true, skippedCount: true },
      resolve: (e) => percentDone(e.totalCount, e.completedCount, e.skippedCount),
    }),
    perTestingCriteriaResults: t.field({
      type: [GraderResults],
      select: { testingCriteria: true },
      resolve: (e, _a, ctx) => graderSummaries(ctx.deps.db.query, e.id, e.testingCriteria),
    }),
    judgeInputTokens: t.field({
      type: 'SafeInt',
      nullable: true,
      authScopes: costScope,
      description: JUDGE_TOKENS,
      resolve: (e) => Number(e.judgeInputTokens),
    }),
    judgeOutputTokens: t.field({
      type: 'SafeInt',
      nullable: true,
      authScopes: costScope,
      description: JUDGE_TOKENS,
      resolve: (e) => Number(e.judgeOutputTokens),
    }),
    judgeCost: t.field({
      type: 'Decimal',
      nullable: true,
      authScopes: costScope,
      description: JUDGE_COST,
      resolve: (e) => knownCost(e.judgeCost.toFixed(), e.judgeCalls, e.judgeUnpricedCalls),
    }),
    judgeUnpricedCalls: t.int({
      nullable: true,
      authScopes: costScope,
      description: JUDGE_UNPRICED_CALLS,
      resolve: (e) => e.judgeUnpricedCalls,
    }),
    generationInputTokens: t.field({
      type: 'SafeInt',
      nullable: true,
      authScopes: costScope,
      description:
        'Tokens of the model generating its outputs (GENERATED), apart from judging, as its provider reported them.',
      resolve: (e) => Number(e.generationInputTokens),
    }),
    generationOutputTokens: t.field({
      type: 'SafeInt',
      nullable: true,
      authScopes: costScope,
      resolve: (e) => Number(e.generationOutputTokens),
    }),
    generationCost: t.field({
      type: 'Decimal',
      nullable: true,
      authScopes: costScope,
      description: GENERATION_COST,
      resolve: (e) =>
        knownCost(e.generationCost.toFixed(), e.generationCalls, e.generationUnpricedCalls),
    }),
    generationUnpricedCalls: t.int({
      nullable: true,
      authScopes: costScope,
      description: GENERATION_UNPRICED_CALLS,
      resolve: (e) => e.generationUnpricedCalls,
    }),
    error: t.exposeString('error', { nullable: true }),
    errorCode: t.exposeString('errorCode', {
      nullable: true,
      description:
        'Why it stopped early: QUOTA_EXCEEDED, INSTANCE_LIMIT_EXCEEDED (the instance’s daily judge budget), INTERNAL_SERVER_ERROR…',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    items: t.relatedConnection('items', {
      cursor: 'id',
      totalCount: true,
      args: { state: t.arg({ type: EvaluationItemStateEnum }) },
      query: (args) => ({
        where: args.state ? { state: args.state } : {},
        orderBy: { position: 'asc' },
      }),
    }),
    results: t.relatedConnection('results', {
      cursor: 'id',
      totalCount: true,
      args: { filter: t.arg({ type: ResultFilter }) },
      query: (args) => ({
        where: {
          ...(args.filter?.passed != null ? { passed: args.filter.passed } : {}),
          ...(args.filter?.grader ? { graderName: args.filter.grader } : {}),
          ...(args.filter?.errored != null
            ? { error: args.filter.errored ? { not: null } : null }
            : {}),
        },
        orderBy: { id: 'asc' },
      }),
    }),
  }),
});

builder.prismaObject('EvaluationItem', {
  // Dropped with its evaluation's responses when it changes.
  extensions: { cacheTtlMs: 60_000 },
  fields: (t) => ({
    id: t.exposeID('id'),
    position: t.exposeInt('position'),
    input: t.expose('input', { type: 'JSON' }),
    expectedOutput: t.expose('expectedOutput', { type: 'JSON', nullable: true }),
    output: t.expose('output', {
      type: 'JSON',
      nullable: true,
      description: 'The output graded: stored with the item, supplied by the caller, or generated.',
    }),
    generationLatencyMs: t.exposeInt('generationLatencyMs', {
      nullable: true,
      description: 'How long generating its output took (GENERATED), retries included.',
    }),
    generationInputTokens: t.exposeInt('generationInputTokens', { nullable: true }),
    generationOutputTokens: t.exposeInt('generationOutputTokens', { nullable: true }),
    generationCost: t.field({
      type: 'Decimal',
      nullable: true,
      select: { generationCost: true, evaluation: { select: { projectId: true } } },
      authScopes: (i) => costScope(i.evaluation),
      description:
        'USD spent generating its output; null when it was not generated, or when its call could not be priced (its model having no price or its provider reporting no usage).',
      resolve: (i) => i.generationCost?.toFixed() ?? null,
    }),
    outputTraceId: t.exposeString('outputTraceId', {
      nullable: true,
      description:
        "The application's own id of the trace that produced a supplied output (Trace.externalId), as submitEvaluationOutputs was given it.",
    }),
    contexts: t.exposeStringList('contexts'),
    metadata: t.expose('metadata', { type: 'JSON', nullable: true }),
    state: t.expose('state', { type: EvaluationItemStateEnum }),
    attempts: t.exposeInt('attempts'),
    lastError: t.exposeString('lastError', { nullable: true }),
    results: t.relation('results'),
    datasetItemId: t.exposeID('datasetItemId', {
      nullable: true,
      description:
        'The dataset item it was made from (DatasetItem.id), for a run on a dataset: runs are compared item by item by it.',
    }),
    span: t.field({
      type: SpanRef,
      nullable: true,
      description:
        'The span the item was taken from (the traces data source); its results score it (Span.scores).',
      select: { sourceSpanId: true },
      resolve: (i, _a, ctx, info) =>
        i.sourceSpanId ? loadersOf(ctx).use(info).span.load(i.sourceSpanId) : null,
    }),
    trace: t.field({
      type: TraceRef,
      nullable: true,
      description: 'The trace of that span.',
      select: { sourceSpanId: true },
      resolve: async (i, _a, ctx, info) => {
        if (!i.sourceSpanId) return null;
        const loaders = loadersOf(ctx).use(info);
        const span = await loaders.span.load(i.sourceSpanId);
        return span ? loaders.trace.load(span.traceId) : null;
      },
    }),
  }),
});

builder.prismaObject('EvaluationResult', {
  // Dropped with its evaluation's responses when it changes.
  extensions: { cacheTtlMs: 60_000 },
  description: 'One grader on one item.',
  fields: (t) => ({
    id: t.exposeID('id'),
    item: t.relation('item'),
    graderName: t.exposeString('graderName'),
    graderType: t.field({
      type: GraderTypeEnum,
      resolve: (r) => r.graderType as (typeof GRADER_TYPES)[number],
    }),
    score: t.exposeFloat('score', { nullable: true }),
    passed: t.exposeBoolean('passed', { nullable: true }),
    reasoning: t.exposeString('reasoning', { nullable: true }),
    inputTokens: t.exposeInt('inputTokens', { description: JUDGE_TOKENS }),
    outputTokens: t.exposeInt('outputTokens', { description: JUDGE_TOKENS }),
    cost: t.field({
      type: 'Decimal',
      nullable: true,
      select: { evaluation: { select: { projectId: true } } },
      authScopes: (r) => costScope(r.evaluation),
      description:
        'USD of the priced judge calls of this grader on this item (see judgeUnpricedCalls); null when it called a judge and none of its calls could be priced; "0" when it called none.',
      resolve: (r) => knownCost(r.cost.toFixed(), r.calls, r.unpricedCalls),
    }),
    judgeUnpricedCalls: t.int({
      nullable: true,
      select: { evaluation: { select: { projectId: true } } },
      authScopes: (r) => costScope(r.evaluation),
      description: unpricedCalls('Judge calls of this grader on this item', 'cost'),
      resolve: (r) => r.unpricedCalls,
    }),
    latencyMs: t.exposeInt('latencyMs', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
    provider: t.exposeString('provider', {
      nullable: true,
      description:
        "The judge provider that answered (EVALGRAPH_JUDGE_PROVIDERS' name; a fallback's when it took over); null for graders that call no judge.",
    }),
  }),
});

const EvaluationFilter = builder.inputType('EvaluationFilter', {
  fields: (t) => ({
    status: t.field({ type: EvaluationStatusEnum }),
    name: t.string({ description: 'Part of the name, any case.' }),
    batchId: t.globalID({ for: EvaluationBatchRef }),
  }),
});

builder.queryFields((t) => ({
  evaluations: t.prismaConnection(
    {
      type: 'Evaluation',
      cursor: 'id',
      description: 'Evaluations of a project, newest first.',
      args: {
        projectId: t.arg.globalID({ required: true, for: ProjectRef }),
        filter: t.arg({ type: EvaluationFilter }),
      },
      authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
      totalCount: (_p, args, ctx) =>
        ctx.deps.db.prisma.evaluation.count({
          where: evaluationWhere(args.projectId.id, args.filter),
        }),
      resolve: (query, _root, args, ctx) =>
        ctx.deps.db.prisma.evaluation.findMany({
          ...query,
          where: evaluationWhere(args.projectId.id, args.filter),
          orderBy: { id: 'desc' },
        }),
    },
    { name: 'EvaluationConnection' },
    { name: 'EvaluationEdge' },
  ),
  evaluation: t.prismaField({
    type: 'Evaluation',
    nullable: true,
    args: { id: t.arg.globalID({ required: true, for: EvaluationRef }) },
    resolve: (query, _root, args, ctx) =>
      ctx.deps.db.prisma.evaluation
        .findUnique({ ...query, where: { id: args.id.id } })
        .then(found('Evaluation')),
  }),
}));

function evaluationWhere(
  projectId: string,
  filter:
    | { status?: EvaluationStatus | null; name?: string | null; batchId?: { id: string } | null }
    | null
    | undefined,
) {
  return {
    projectId,
    ...(filter?.status ? { status: filter.status } : {}),
    ...(filter?.name ? { name: { contains: filter.name, mode: 'insensitive' as const } } : {}),
    ...(filter?.batchId ? { batchId: filter.batchId.id } : {}),
  };
}
