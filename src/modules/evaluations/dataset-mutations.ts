// Mutations of datasets: create one, add items (given, or copied from spans), edit and archive
// items. Each change of items is a new version of the dataset (dataset-sql.ts). Writes need the
// `write` action on the dataset's project; a dataset, item or span of a project the caller cannot
// see answers NOT_FOUND, as a missing one.
import { z } from 'zod';
import type { Context } from '../../context';
import { badInput } from '../../errors';
import { authorizeId, authorizeRow } from '../auth/access';
import { builder } from '../../schema/builder';
import { ProjectRef } from '../projects/schema';
import { authorizeCostFilter } from '../traces/queries';
import { SpanRef } from '../traces/schema';
import { DatasetRef } from './dataset-schema';
import type { DataSourceInput } from './data-source';
import { spansAsItems } from './dataset-spans';
import { ItemInput, TracesSource } from './mutations';

/** The dataset, when the principal may change it. */
async function writableDataset(ctx: Context, id: string) {
  return authorizeRow(
    ctx,
    await ctx.deps.db.prisma.dataset.findUnique({ where: { id } }),
    'write',
    'Dataset',
    ['input', 'datasetId'],
  );
}

type FieldBuilder<Result> = PothosSchemaTypes.ObjectFieldBuilder<
  typeof builder.$inferSchemaTypes,
  Result
>;

/** The changed dataset, read after the change (its version, its items). */
const changedDataset = (t: FieldBuilder<{ datasetId: string }>) =>
  t.prismaField({
    type: 'Dataset',
    resolve: (query, r, _a, ctx) =>
      ctx.deps.db.prisma.dataset.findUniqueOrThrow({ ...query, where: { id: r.datasetId } }),
  });

/** What a change of one item answers: the item and its dataset, as they are now. */
const itemChange = {
  outputFields: (t: FieldBuilder<{ id: string; datasetId: string }>) => ({
    datasetItem: t.prismaField({
      type: 'DatasetItemVersion',
      resolve: (query, r, _a, ctx) =>
        ctx.deps.db.prisma.datasetItemVersion.findFirstOrThrow({
          ...query,
          where: { datasetItemId: r.id, validTo: null },
        }),
    }),
    dataset: changedDataset(t),
  }),
};

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
      const dataset = await writableDataset(ctx, input.datasetId.id);
      return {
        datasetId: dataset.id,
        addedCount: await ctx.services.evaluations.addDatasetItems(dataset.id, input.items),
      };
    },
  },
  {
    outputFields: (t) => ({
      dataset: changedDataset(t),
      addedCount: t.exposeInt('addedCount'),
    }),
  },
);

const OutputAs = builder.enumType('DatasetItemOutputAs', {
  description: "Where a span's output goes in the item copied from it.",
  values: {
    EXPECTED_OUTPUT: { description: 'The expected output ({{item.expected_output}}).' },
    METADATA: { description: 'The metadata, under metadataKey ({{item.metadata.<key>}}).' },
  } as const,
});

builder.relayMutationField(
  'addDatasetItemsFromSpans',
  {
    inputFields: (t) => ({
      datasetId: t.globalID({ required: true, for: DatasetRef }),
      spanIds: t.globalIDList({
        for: SpanRef,
        description: 'The spans to copy, at most 10,000 (or give filter).',
      }),
      filter: t.field({
        type: TracesSource,
        description: 'The spans to copy, chosen as the traces data source of an evaluation does.',
      }),
      outputAs: t.field({ type: OutputAs, required: true }),
      metadataKey: t.string({
        defaultValue: 'output',
        description: "With METADATA: the metadata key the span's output is kept under.",
        validate: z.string().min(1).max(200),
      }),
    }),
  },
  {
    description:
      "Copies spans into the dataset as new items (one new version): each span's input, its output (as the expected output or in the metadata, as outputAs says), the outputs of its trace's RETRIEVER spans as contexts (at most 100), and a link back to the span (DatasetItem.sourceSpan).",
    resolve: async (_root, { input }, ctx) => {
      const dataset = await writableDataset(ctx, input.datasetId.id);
      // Spans chosen by their traces' cost: as in the traces query, that needs the costs right.
      await authorizeCostFilter(ctx, dataset.projectId, input.filter?.filter);
      const items = await spansAsItems(ctx.deps.db, dataset.projectId, {
        spanIds: input.spanIds?.map((s) => s.id) ?? null,
        filter: input.filter as DataSourceInput['traces'],
        outputAs: input.outputAs,
        metadataKey: input.metadataKey ?? 'output',
      });
      return {
        datasetId: dataset.id,
        addedCount: await ctx.services.evaluations.addDatasetItems(dataset.id, items, [
          'input',
          input.spanIds ? 'spanIds' : 'filter',
        ]),
      };
    },
  },
  {
    outputFields: (t) => ({
      dataset: changedDataset(t),
      addedCount: t.exposeInt('addedCount'),
    }),
  },
);

builder.relayMutationField(
  'updateDatasetItem',
  {
    inputFields: (t) => ({
      id: t.id({ required: true, description: 'DatasetItem.id' }),
      input: t.field({ type: 'JSON', description: 'Left out: unchanged (it cannot be null).' }),
      expectedOutput: t.field({ type: 'JSON', description: 'Left out: unchanged; null clears.' }),
      output: t.field({ type: 'JSON', description: 'Left out: unchanged; null clears.' }),
      contexts: t.stringList({ description: 'Left out: unchanged; null clears.' }),
      metadata: t.field({ type: 'JSON', description: 'Left out: unchanged; null clears.' }),
    }),
  },
  {
    description:
      'Edits an item: a new version of its dataset (none when nothing changes). Its id stays; past versions keep its old content.',
    resolve: async (_root, { input }, ctx) => {
      const id = String(input.id);
      await authorizeId(ctx, 'DatasetItem', id, 'write', ['input', 'id']);
      const { id: _id, ...changes } = input;
      return { id, datasetId: await ctx.services.evaluations.updateDatasetItem(id, changes) };
    },
  },
  itemChange,
);

builder.relayMutationField(
  'archiveDatasetItem',
  { inputFields: (t) => ({ id: t.id({ required: true, description: 'DatasetItem.id' }) }) },
  {
    description:
      'Archives an item: a new version of its dataset without it. New runs leave it out; past versions keep it.',
    resolve: async (_root, { input }, ctx) => {
      const id = String(input.id);
      await authorizeId(ctx, 'DatasetItem', id, 'write', ['input', 'id']);
      return { id, datasetId: await ctx.services.evaluations.archiveDatasetItem(id) };
    },
  },
  itemChange,
);
