// Mutations of evaluations (datasets': dataset-mutations.ts). Writes need the `write` action on the project.
import type { Context } from '../../context';
import { badInput } from '../../errors';
import { authorizeId } from '../auth/access';
import { builder } from '../../schema/builder';
import { ProjectRef } from '../projects/schema';
import { authorizeCostFilter, TraceFilter } from '../traces/queries';
import { SpanKindEnum } from '../traces/schema';
import { DatasetRef } from './dataset-schema';
import { EvaluationBatchRef, EvaluationRef } from './schema';
import type { DataSourceInput } from './data-source';

export const ItemInput = builder.inputType('EvaluationItemInput', {
  description:
    'One item: the input, what was expected, and the output of the application under test.',
  fields: (t) => ({
    input: t.field({ type: 'JSON', required: true }),
    expectedOutput: t.field({ type: 'JSON' }),
    output: t.field({ type: 'JSON', description: 'The output to grade ({{sample.output_text}}).' }),
    contexts: t.stringList({ description: 'Retrieved contexts in rank order, for RAG graders.' }),
    metadata: t.field({ type: 'JSON' }),
  }),
});

export const TracesSource = builder.inputType('EvaluationTracesSource', {
  description:
    "Production traffic: the spans (with an output) of a project's traces matching the filter, newest traces first.",
  fields: (t) => ({
    filter: t.field({ type: TraceFilter }),
    spanKind: t.field({ type: SpanKindEnum }),
    spanName: t.string(),
    limit: t.int({ description: 'Items taken, at most 10,000.', defaultValue: 1000 }),
  }),
});

const DataSource = builder.inputType('EvaluationDataSourceInput', {
  description: 'Exactly one of: a dataset, items given inline, or spans selected from traces.',
  fields: (t) => ({
    datasetId: t.globalID({ for: DatasetRef }),
    datasetVersion: t.field({
      type: 'DateTime',
      description:
        'With datasetId: run on the items as they were at this version (one of Dataset.versions; another time names the version then). Default: the latest.',
    }),
    items: t.field({ type: [ItemInput] }),
    traces: t.field({ type: TracesSource }),
  }),
});

const EvaluationSpec = builder.inputType('EvaluationSpecInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    testingCriteria: t.field({
      type: ['JSON'],
      required: true,
      description:
        'Graders. OpenAI Evals grader JSON (string_check, text_similarity, score_model, label_model) is accepted as is; also regex, json_schema, g_eval, faithfulness, answer_relevancy, context_precision, context_recall.',
    }),
    dataSource: t.field({ type: DataSource, required: true }),
  }),
});

async function dataSourceOf(
  ctx: Context,
  projectId: string,
  input: {
    datasetId?: { id: string } | null;
    datasetVersion?: Date | null;
    items?: unknown[] | null;
    traces?: { filter?: { minCost?: unknown } | null } | null;
  },
): Promise<DataSourceInput> {
  // Spans chosen by their traces' cost: as in the traces query, that needs the costs right.
  await authorizeCostFilter(ctx, projectId, input.traces?.filter);
  return {
    datasetId: input.datasetId?.id ?? null,
    datasetVersion: input.datasetVersion ?? null,
    items: (input.items as DataSourceInput['items']) ?? null,
    traces: (input.traces as DataSourceInput['traces']) ?? null,
  };
}

/** The evaluation's project, when the principal may write to it. */
async function writableEvaluation(ctx: Context, id: string) {
  return authorizeId(ctx, 'Evaluation', id, 'write');
}

builder.relayMutationField(
  'createEvaluation',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      name: t.string({ required: true }),
      testingCriteria: t.field({
        type: ['JSON'],
        required: true,
        description: 'Graders (see EvaluationSpecInput.testingCriteria).',
      }),
      dataSource: t.field({ type: DataSource, required: true }),
      batchId: t.globalID({ for: EvaluationBatchRef }),
    }),
  },
  {
    description: 'Validates and queues an evaluation; workers grade it. Returns at once, QUEUED.',
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'write' } }),
    resolve: async (_root, { input }, ctx) => {
      const id = await ctx.services.evaluations.createEvaluation({
        projectId: input.projectId.id,
        creatorId: ctx.principal!.userId,
        name: input.name,
        testingCriteria: input.testingCriteria,
        dataSource: await dataSourceOf(ctx, input.projectId.id, input.dataSource),
        batchId: input.batchId?.id ?? null,
      });
      return { id };
    },
  },
  {
    outputFields: (t) => ({
      evaluation: t.prismaField({
        type: 'Evaluation',
        resolve: (query, r, _a, ctx) =>
          ctx.deps.db.prisma.evaluation.findUniqueOrThrow({ ...query, where: { id: r.id } }),
      }),
    }),
  },
);

builder.relayMutationField(
  'createEvaluationBatch',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      name: t.string({ required: true }),
      evaluations: t.field({ type: [EvaluationSpec], required: true }),
    }),
  },
  {
    description:
      'Creates a batch and queues its evaluations. Every evaluation is validated before any is stored.',
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'write' } }),
    resolve: async (_root, { input }, ctx) => {
      if (input.evaluations.length === 0 || input.evaluations.length > 50)
        throw badInput('A batch holds 1 to 50 evaluations.', ['input', 'evaluations']);
      const batchId = await ctx.services.evaluations.createEvaluationBatch({
        projectId: input.projectId.id,
        name: input.name.trim().slice(0, 200) || 'batch',
        evaluations: await Promise.all(
          input.evaluations.map(async (spec) => ({
            projectId: input.projectId.id,
            creatorId: ctx.principal!.userId,
            name: spec.name,
            testingCriteria: spec.testingCriteria,
            dataSource: await dataSourceOf(ctx, input.projectId.id, spec.dataSource),
          })),
        ),
      });
      const batch = await ctx.deps.db.prisma.evaluationBatch.findUniqueOrThrow({
        where: { id: batchId },
      });
      return { batch };
    },
  },
  {
    outputFields: (t) => ({
      batch: t.field({ type: EvaluationBatchRef, resolve: (r) => r.batch }),
    }),
  },
);

builder.relayMutationField(
  'cancelEvaluation',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: EvaluationRef }) }) },
  {
    description: 'Stops an evaluation: workers stop within a second; finished results are kept.',
    resolve: async (_root, { input }, ctx) => {
      await writableEvaluation(ctx, input.id.id);
      await ctx.services.evaluations.cancelEvaluation(input.id.id);
      return { id: input.id.id };
    },
  },
  {
    outputFields: (t) => ({
      evaluation: t.prismaField({
        type: 'Evaluation',
        resolve: (query, r, _a, ctx) =>
          ctx.deps.db.prisma.evaluation.findUniqueOrThrow({ ...query, where: { id: r.id } }),
      }),
    }),
  },
);

builder.relayMutationField(
  'rerunEvaluation',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: EvaluationRef }) }) },
  {
    description: 'Queues again the items that errored (and those a stop left ungraded).',
    resolve: async (_root, { input }, ctx) => {
      await writableEvaluation(ctx, input.id.id);
      return {
        id: input.id.id,
        requeuedCount: await ctx.services.evaluations.rerunEvaluation(input.id.id),
      };
    },
  },
  {
    outputFields: (t) => ({
      evaluation: t.prismaField({
        type: 'Evaluation',
        resolve: (query, r, _a, ctx) =>
          ctx.deps.db.prisma.evaluation.findUniqueOrThrow({ ...query, where: { id: r.id } }),
      }),
      requeuedCount: t.exposeInt('requeuedCount'),
    }),
  },
);
