// Score configs: how scores of one name are validated (data type, range, categories). Reading
// needs `read` on the project, creating and changing them `write`. A config is never deleted:
// archived, it takes no new scores (those stored stay).
import type { Context } from '../../context';
import { badInput } from '../../errors';
import { Prisma } from '../../generated/prisma/client';
import { builder } from '../../schema/builder';
import { authorizeRow } from '../auth/access';
import { projectScope } from '../auth/permissions';
import { ProjectRef } from '../projects/schema';
import { checkConfig, MAX_CATEGORIES, type ScoreCategory, type ScoreConfigInput } from './input';
import { ScoreDataTypeEnum } from './schema';

const CategoryRef = builder.objectRef<ScoreCategory>('ScoreConfigCategory').implement({
  fields: (t) => ({
    label: t.exposeString('label', { description: 'What CATEGORICAL scores send as stringValue.' }),
    value: t.exposeFloat('value', {
      nullable: true,
      description: 'The number stored as the value of scores of this category.',
    }),
  }),
});

export const ScoreConfigRef = builder.prismaNode('ScoreConfig', {
  // Loaded with findUnique: a missing node is null (then NOT_FOUND), not a thrown Prisma error.
  nullable: true,
  id: { field: 'id' },
  description:
    'How scores of one name are checked: their data type, and a NUMERIC range or the CATEGORICAL categories. An archived config refuses new scores.',
  authScopes: projectScope('read'),
  fields: (t) => ({
    project: t.relation('project'),
    name: t.exposeString('name'),
    dataType: t.expose('dataType', { type: ScoreDataTypeEnum }),
    minValue: t.exposeFloat('minValue', { nullable: true, description: 'Inclusive.' }),
    maxValue: t.exposeFloat('maxValue', { nullable: true, description: 'Inclusive.' }),
    categories: t.field({
      type: [CategoryRef],
      nullable: true,
      extensions: { listSize: MAX_CATEGORIES },
      resolve: (c) => c.categories as unknown as ScoreCategory[] | null,
    }),
    description: t.exposeString('description', { nullable: true }),
    archived: t.exposeBoolean('archived'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  scoreConfigs: t.prismaConnection(
    {
      type: 'ScoreConfig',
      cursor: 'id',
      description: "A project's score configs, by name.",
      args: {
        projectId: t.arg.globalID({ required: true, for: ProjectRef }),
        includeArchived: t.arg.boolean({ defaultValue: false }),
      },
      authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
      totalCount: (_p, args, ctx) =>
        ctx.deps.db.prisma.scoreConfig.count({ where: configWhere(args) }),
      resolve: (query, _root, args, ctx) =>
        ctx.deps.db.prisma.scoreConfig.findMany({
          ...query,
          where: configWhere(args),
          orderBy: [{ name: 'asc' }, { id: 'asc' }],
        }),
    },
    { name: 'ScoreConfigConnection' },
    { name: 'ScoreConfigEdge' },
  ),
}));

const configWhere = (args: { projectId: { id: string }; includeArchived?: boolean | null }) => ({
  projectId: args.projectId.id,
  ...(args.includeArchived ? {} : { archived: false }),
});

const CategoryInput = builder.inputType('ScoreConfigCategoryInput', {
  fields: (t) => ({
    label: t.string({ required: true, description: 'Up to 500 characters.' }),
    value: t.float({ description: 'A number scores of this category get as their value.' }),
  }),
});

/** BAD_USER_INPUT for the config's first problem, naming its input field. */
function check(config: ScoreConfigInput) {
  const [problem] = checkConfig(config);
  if (problem) {
    const [field, message] = problem;
    throw badInput(`${field} ${message}.`, ['input', ...field.split('.').map(pathPart)]);
  }
}
const pathPart = (p: string) => (/^\d+$/.test(p) ? Number(p) : p);

const categoriesJson = (categories: ScoreConfigInput['categories']) =>
  categories == null
    ? Prisma.DbNull
    : categories.map((c) => ({ label: c.label, value: c.value ?? null }));

builder.relayMutationField(
  'createScoreConfig',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      name: t.string({ required: true, description: 'The score name it checks (up to 200).' }),
      dataType: t.field({ type: ScoreDataTypeEnum, required: true }),
      minValue: t.float({ description: 'NUMERIC: the least value (inclusive).' }),
      maxValue: t.float({ description: 'NUMERIC: the greatest value (inclusive).' }),
      categories: t.field({
        type: [CategoryInput],
        description: `CATEGORICAL: the allowed categories (1 to ${MAX_CATEGORIES}).`,
      }),
      description: t.string(),
    }),
  },
  {
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'write' } }),
    resolve: async (_root, { input }, ctx) => {
      const { projectId, ...config } = input;
      check(config);
      const taken = () =>
        badInput(`A score config named "${config.name}" exists.`, ['input', 'name']);
      return ctx.deps.db.prisma.scoreConfig
        .create({
          data: {
            projectId: projectId.id,
            name: config.name,
            dataType: config.dataType,
            minValue: config.minValue ?? null,
            maxValue: config.maxValue ?? null,
            categories: categoriesJson(config.categories),
            description: config.description ?? null,
          },
        })
        .catch((error: { code?: string }) => {
          throw error.code === 'P2002' ? taken() : error;
        });
    },
  },
  {
    outputFields: (t) => ({ scoreConfig: t.field({ type: ScoreConfigRef, resolve: (c) => c }) }),
  },
);

async function writableConfig(ctx: Context, id: string) {
  return authorizeRow(
    ctx,
    await ctx.deps.db.prisma.scoreConfig.findUnique({ where: { id } }),
    'write',
    'Score config',
    ['input', 'id'],
  );
}

builder.relayMutationField(
  'updateScoreConfig',
  {
    inputFields: (t) => ({
      id: t.globalID({ required: true, for: ScoreConfigRef }),
      minValue: t.float({ description: 'null clears it.' }),
      maxValue: t.float({ description: 'null clears it.' }),
      categories: t.field({ type: [CategoryInput] }),
      description: t.string({ description: 'null clears it.' }),
      archived: t.boolean({ description: 'true: no new scores of this name are accepted.' }),
    }),
  },
  {
    description:
      'Changes the fields given (name and data type stay). Scores stored before are not checked again.',
    resolve: async (_root, { input }, ctx) => {
      const current = await writableConfig(ctx, input.id.id);
      const pick = <K extends 'minValue' | 'maxValue' | 'description'>(key: K) =>
        input[key] === undefined ? current[key] : input[key];
      const next = {
        name: current.name,
        dataType: current.dataType,
        minValue: pick('minValue'),
        maxValue: pick('maxValue'),
        description: pick('description'),
        categories: input.categories ?? (current.categories as unknown as ScoreCategory[] | null),
      };
      check(next);
      return ctx.deps.db.prisma.scoreConfig.update({
        where: { id: current.id },
        data: {
          minValue: next.minValue,
          maxValue: next.maxValue,
          description: next.description,
          categories: categoriesJson(next.categories),
          ...(input.archived != null ? { archived: input.archived } : {}),
        },
      });
    },
  },
  {
    outputFields: (t) => ({ scoreConfig: t.field({ type: ScoreConfigRef, resolve: (c) => c }) }),
  },
);
