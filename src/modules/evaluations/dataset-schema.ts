// Datasets and their items as the API shows them (readable with the `read` action), and the
// `datasets` / `dataset` queries. Their mutations are with the evaluation mutations.
import { found } from '../../errors';
import { builder } from '../../schema/builder';
import { projectScope } from '../auth/permissions';
import { ProjectRef } from '../projects/schema';

const readScope = projectScope('read');

export const DatasetRef = builder.prismaNode('Dataset', {
  // Loaded with findUnique: a missing node is null (then NOT_FOUND), not a thrown Prisma error.
  nullable: true,
  id: { field: 'id' },
  description: 'Items to evaluate: inputs, expected outputs, recorded outputs and RAG contexts.',
  authScopes: readScope,
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    project: t.relation('project'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    items: t.relatedConnection('items', {
      cursor: 'id',
      totalCount: true,
      query: { orderBy: { id: 'asc' } },
    }),
  }),
});

builder.prismaObject('DatasetItem', {
  fields: (t) => ({
    id: t.exposeID('id'),
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
