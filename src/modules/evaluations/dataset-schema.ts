// Datasets, their versions and their items as the API shows them (readable with the `read`
// action), and the `datasets` / `dataset` queries. Their mutations are in dataset-mutations.ts.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { found } from '../../errors';
import { builder } from '../../schema/builder';
import { projectScope } from '../auth/permissions';
import { ProjectRef } from '../projects/schema';
import { loadersOf } from '../traces/loaders';
import { SpanRef } from '../traces/schema';
import { itemsAsOf } from './dataset-sql';

const readScope = projectScope('read');

export const DatasetRef = builder.prismaNode('Dataset', {
  // Loaded with findUnique: a missing node is null (then NOT_FOUND), not a thrown Prisma error.
  nullable: true,
  id: { field: 'id' },
  description:
    'Items to evaluate: inputs, expected outputs, recorded outputs and RAG contexts. Every change of its items (added, edited, archived) is a new version, and any version reads as it was.',
  authScopes: readScope,
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    project: t.relation('project'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    version: t.expose('version', {
      type: 'DateTime',
      description:
        'Its latest version: when its items last changed. A run records the version it used (Evaluation.datasetVersion).',
    }),
    versions: t.relatedConnection('versions', {
      cursor: 'datasetId_version',
      totalCount: true,
      description: 'Its versions, newest first.',
      query: { orderBy: { version: 'desc' } },
    }),
    items: t.relatedConnection('itemVersions', {
      cursor: 'datasetItemId_validFrom',
      totalCount: true,
      description: 'Its items in the order they were added, as of a version (default: the latest).',
      args: {
        version: t.arg({
          type: 'DateTime',
          description:
            'The items as they were at this time: at one of `versions`, exactly that version.',
        }),
        includeArchived: t.arg.boolean({
          defaultValue: false,
          description: 'Archived items too (archived: true).',
        }),
      },
      query: (args) => ({
        where: itemsAsOf(args.version ?? null, args.includeArchived ?? false),
        orderBy: { datasetItemId: 'asc' },
      }),
    }),
    runs: t.relatedConnection('evaluations', {
      cursor: 'id',
      totalCount: true,
      description:
        'The evaluations run on it, newest first; each with its per-grader results (perTestingCriteriaResults) and the version it ran on, for a quality trend over runs.',
      query: { orderBy: { id: 'desc' } },
    }),
  }),
});

builder.prismaObject('DatasetVersion', {
  description: 'A version of a dataset: one change of its items.',
  fields: (t) => ({
    version: t.expose('version', {
      type: 'DateTime',
      description:
        'When it was made; names it (Dataset.items(version:), createEvaluation dataSource.datasetVersion).',
    }),
    itemCount: t.exposeInt('itemCount', { description: 'Items in it, archived ones not counted.' }),
    addedCount: t.exposeInt('addedCount'),
    updatedCount: t.exposeInt('updatedCount'),
    archivedCount: t.exposeInt('archivedCount'),
  }),
});

// A row of dataset_item_versions: an item as of one version (dataset-sql.ts).
builder.prismaObject('DatasetItemVersion', {
  name: 'DatasetItem',
  description: 'An item of a dataset, as of a version of it.',
  fields: (t) => ({
    id: t.exposeID('datasetItemId', {
      description:
        "The item's id: kept when it is edited, and what runs are compared by (EvaluationItem.datasetItemId).",
    }),
    input: t.expose('input', { type: 'JSON' }),
    expectedOutput: t.expose('expectedOutput', { type: 'JSON', nullable: true }),
    output: t.expose('output', {
      type: 'JSON',
      nullable: true,
      description: 'The output of the application under test, when recorded with the item.',
    }),
    contexts: t.exposeStringList('contexts', {
      description: 'Retrieved contexts, in rank order (RAG graders).',
    }),
    metadata: t.expose('metadata', { type: 'JSON', nullable: true }),
    archived: t.exposeBoolean('archived', {
      description: 'Archived: left out of new runs (and of items unless includeArchived).',
    }),
    version: t.expose('validFrom', {
      type: 'DateTime',
      description: 'The version of the dataset that gave the item this content.',
    }),
    sourceSpanId: t.id({
      nullable: true,
      description: 'The id of the span it was copied from (addDatasetItemsFromSpans).',
      select: { item: { select: { sourceSpanId: true } } },
      resolve: (i) => (i.item.sourceSpanId ? encodeGlobalID('Span', i.item.sourceSpanId) : null),
    }),
    sourceSpan: t.field({
      type: SpanRef,
      nullable: true,
      description: 'The span it was copied from, while that span is kept.',
      select: { item: { select: { sourceSpanId: true } } },
      resolve: (i, _a, ctx, info) =>
        i.item.sourceSpanId ? loadersOf(ctx).use(info).span.load(i.item.sourceSpanId) : null,
    }),
  }),
});

builder.queryFields((t) => ({
  datasets: t.prismaConnection(
    {
      type: 'Dataset',
      cursor: 'id',
      description: 'Datasets of a project, newest first.',
      args: { projectId: t.arg.globalID({ required: true, for: ProjectRef }) },
      authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
      totalCount: (_p, args, ctx) =>
        ctx.deps.db.prisma.dataset.count({ where: { projectId: args.projectId.id } }),
      resolve: (query, _root, args, ctx) =>
        ctx.deps.db.prisma.dataset.findMany({
          ...query,
          where: { projectId: args.projectId.id },
          orderBy: { id: 'desc' },
        }),
    },
    { name: 'DatasetConnection' },
    { name: 'DatasetEdge' },
  ),
  dataset: t.prismaField({
    type: 'Dataset',
    nullable: true,
    args: { id: t.arg.globalID({ required: true, for: DatasetRef }) },
    resolve: (query, _root, args, ctx) =>
      ctx.deps.db.prisma.dataset
        .findUnique({ ...query, where: { id: args.id.id } })
        .then(found('Dataset')),
  }),
}));
