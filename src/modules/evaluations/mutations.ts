// Mutations of datasets and evaluations. Writes need the `write` action on the project.
import type { Context } from '../../context';
import { badInput } from '../../errors';
import { authorizeId, authorizeRow } from '../auth/access';
import { builder } from '../../schema/builder';
import { ProjectRef } from '../projects/schema';
import { authorizeCostFilter, TraceFilter } from '../traces/queries';
import { SpanKindEnum } from '../traces/schema';
import { DatasetRef } from './dataset-schema';
import { EvaluationBatchRef, EvaluationOutputsEnum, EvaluationRef } from './schema';
import type { DataSourceInput } from './data-source';
import type { OutputsInput } from './outputs';
import { MAX_OUTPUTS_PER_CALL } from './supplied';

const ItemInput = builder.inputType('EvaluationItemInput', {
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

const TracesSource = builder.inputType('EvaluationTracesSource', {
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
  description:
    'Exactly one of: a dataset, items given inline, or spans selected from traces; and, for a dataset or items, where the outputs to grade come from.',
  fields: (t) => ({
    datasetId: t.globalID({ for: DatasetRef }),
    items: t.field({ type: [ItemInput] }),
    traces: t.field({ type: TracesSource }),
    outputs: t.field({
      type: EvaluationOutputsEnum,
      description:
        "STORED (default): the items' own outputs. SUPPLIED: the items wait for outputs sent with submitEvaluationOutputs (their own are not used).",
    }),
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
    items?: unknown[] | null;
    traces?: { filter?: { minCost?: unknown } | null } | null;
    outputs?: OutputsInput['outputs'];
  },
): Promise<DataSourceInput & OutputsInput> {
  // Spans chosen by their traces' cost: as in the traces query, that needs the costs right.
  await authorizeCostFilter(ctx, projectId, input.traces?.filter);
  return {
    datasetId: input.datasetId?.id ?? null,
    items: (input.items as DataSourceInput['items']) ?? null,
    traces: (input.traces as DataSourceInput['traces']) ?? null,
    outputs: input.outputs ?? null,
  };
}

/** The evaluation's project, when the principal may write to it. */
async function writableEvaluation(ctx: Context, id: string) {
  return authorizeId(ctx, 'Evaluation', id, 'write');
}

builder.relayMutationField(
  'createDataset',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      name: t.string({ required: true }),
      description: t.string(),
      items: t.field({ type: [ItemInput], required: true, defaultValue: [] }),
    }),
  },
  {
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'write' } }),
    resolve: async (_root, { input }, ctx) => {
      const name = input.name.trim();
      if (!name || name.length > 200)
        throw badInput('The name must be 1 to 200 characters.', ['input', 'name']);
      return {
        dataset: await ctx.services.evaluations.createDataset({
          projectId: input.projectId.id,
          name,
          description: input.description,
          items: input.items,
        }),
      };
    },
  },
  { outputFields: (t) => ({ dataset: t.field({ type: DatasetRef, resolve: (r) => r.dataset }) }) },
);

builder.relayMutationField(
  'addDatasetItems',
  {
    inputFields: (t) => ({
      datasetId: t.globalID({ required: true, for: DatasetRef }),
      items: t.field({ type: [ItemInput], required: true }),
    }),
  },
  {
    resolve: async (_root, { input }, ctx) => {
      const dataset = authorizeRow(
        ctx,
        await ctx.deps.db.prisma.dataset.findUnique({ where: { id: input.datasetId.id } }),
        'write',
        'Dataset',
      );
      return {
        dataset,
        addedCount: await ctx.services.evaluations.addDatasetItems(dataset.id, input.items),
      };
    },
  },
  {
    outputFields: (t) => ({
      dataset: t.field({ type: DatasetRef, resolve: (r) => r.dataset }),
      addedCount: t.exposeInt('addedCount'),
    }),
  },
);

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

const SuppliedOutput = builder.inputType('EvaluationOutputInput', {
  description: "One item's output, from the caller's own run of the application under test.",
  fields: (t) => ({
    itemId: t.id({
      required: true,
      description:
        'The EvaluationItem id, or (for a run on a dataset) the id of the DatasetItem it was made from.',
    }),
    output: t.field({
      type: 'JSON',
      required: true,
      description: 'The output to grade ({{sample.output_text}}).',
    }),
    traceId: t.string({
      description:
        "Your application's own id of the trace that produced it (Trace.externalId), kept with the item.",
    }),
  }),
});

builder.relayMutationField(
  'submitEvaluationOutputs',
  {
    inputFields: (t) => ({
      evaluationId: t.globalID({ required: true, for: EvaluationRef }),
      outputs: t.field({
        type: [SuppliedOutput],
        required: true,
        description: `Up to ${MAX_OUTPUTS_PER_CALL.toLocaleString('en')} outputs.`,
      }),
    }),
  },
  {
    // Cost: a point per 10 outputs (and at least 10, as every mutation).
    extensions: {
      cost: (args: { input?: { outputs?: unknown[] } }) =>
        Math.ceil((args.input?.outputs?.length ?? 0) / 10),
    },
    description:
      'Gives waiting items of an evaluation created with outputs: SUPPLIED their outputs; they are graded as they arrive, all or none of the batch.',
    resolve: async (_root, { input }, ctx) => {
      await writableEvaluation(ctx, input.evaluationId.id);
      return {
        id: input.evaluationId.id,
        acceptedCount: await ctx.services.evaluations.submitEvaluationOutputs(
          input.evaluationId.id,
          input.outputs.map((o) => ({
            itemId: String(o.itemId),
            output: o.output,
            traceId: o.traceId,
          })),
        ),
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
      acceptedCount: t.exposeInt('acceptedCount'),
    }),
  },
);

builder.relayMutationField(
  'closeEvaluation',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: EvaluationRef }) }) },
  {
    description:
      'No more outputs will be submitted: the items still waiting for theirs are skipped, and the evaluation completes once those already given are graded.',
    resolve: async (_root, { input }, ctx) => {
      await writableEvaluation(ctx, input.id.id);
      return {
        id: input.id.id,
        skippedCount: await ctx.services.evaluations.closeEvaluation(input.id.id),
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
      skippedCount: t.exposeInt('skippedCount'),
    }),
  },
);
