// Model prices: the ModelPrice type, `modelPrices` (built-in and a project's own), and
// upsertModelPrice / deleteModelPrice (the `manage` action). Apart from schema.ts, the cost
// summary, which reads spans already priced and never these rows.
import { resolveOffsetConnection } from '@pothos/plugin-relay';
import safeRegex from 'safe-regex2';
import { z } from 'zod';
import { notFound } from '../../errors';
import type { Prisma } from '../../generated/prisma/client';
import { uuidOfGlobalId } from '../../lib/ids';
import { parseInput } from '../../lib/validate';
import { builder } from '../../schema/builder';
import { authorize } from '../auth/access';
import { ProjectRef } from '../projects/schema';
import { builtinPrices } from './builtin-prices';
import type { Price } from './pricing';
import { recordAudit } from '../audit/record';

interface PriceRow extends Price {
  id: string;
  provider: string | null;
  sourceDate: Date | null;
}

const ModelPriceRef = builder.objectRef<PriceRow>('ModelPrice').implement({
  description:
    'USD per 1M tokens for a model from a start date. Project prices win over built-in ones.',
  fields: (t) => ({
    id: t.globalID({ resolve: (p) => ({ type: 'ModelPrice', id: p.id }) }),
    builtIn: t.boolean({
      resolve: (p) => p.projectId === null,
      description: 'Shipped with Evalgraph (otherwise set by a project).',
    }),
    projectId: t.globalID({
      nullable: true,
      resolve: (p) => (p.projectId ? { type: 'Project', id: p.projectId } : null),
    }),
    provider: t.exposeString('provider', { nullable: true }),
    modelName: t.exposeString('modelName', {
      description: 'Normalised model name, e.g. gpt-4o for gpt-4o-2024-08-06.',
    }),
    matchPattern: t.exposeString('matchPattern', {
      nullable: true,
      description: 'Regular expression over model names, when set.',
    }),
    startDate: t.expose('startDate', { type: 'DateTime' }),
    inputPrice: t.string({ resolve: (p) => String(p.inputPrice) }),
    outputPrice: t.string({ resolve: (p) => String(p.outputPrice) }),
    cachedInputPrice: t.string({
      nullable: true,
      resolve: (p) => (p.cachedInputPrice === null ? null : String(p.cachedInputPrice)),
    }),
    sourceDate: t.expose('sourceDate', {
      type: 'DateTime',
      nullable: true,
      description: 'When the price was read from the provider.',
    }),
  }),
});

const ModelPriceFilter = builder.inputType('ModelPriceFilter', {
  fields: (t) => ({
    projectId: t.globalID({
      for: ProjectRef,
      description: "Include this project's prices (they come first).",
    }),
    model: t.string({ description: 'Model names containing this text (case-insensitive).' }),
    provider: t.string(),
    builtIn: t.boolean({ description: 'Only built-in (true) or only project (false) prices.' }),
  }),
});

builder.queryFields((t) => ({
  modelPrices: t.connection(
    {
      type: ModelPriceRef,
      description: "Built-in prices, and a project's own when filter.projectId is given.",
      authScopes: { authenticated: true },
      args: { filter: t.arg({ type: ModelPriceFilter }) },
      resolve: async (_root, args, ctx) => {
        const f = args.filter ?? {};
        const projectId = f.projectId?.id ?? null;
        if (projectId) await authorize(ctx, projectId, 'view');
        const own: PriceRow[] = projectId
          ? await ctx.services.costs.listProjectPrices(projectId)
          : [];
        const needle = f.model?.toLowerCase();
        const rows = [...own, ...builtinPrices()].filter(
          (p) =>
            (!needle || p.modelName.includes(needle)) &&
            (f.provider == null || p.provider === f.provider.toLowerCase()) &&
            (f.builtIn == null || f.builtIn === (p.projectId === null)),
        );
        const connection = await resolveOffsetConnection({ args }, ({ limit, offset }) =>
          rows.slice(offset, offset + limit),
        );
        return Object.assign(connection, { totalCount: rows.length });
      },
    },
    {
      name: 'ModelPriceConnection',
      fields: (c) => ({
        totalCount: c.int({
          resolve: (conn) => (conn as unknown as { totalCount: number }).totalCount,
        }),
      }),
    },
    { name: 'ModelPriceEdge' },
  ),
}));

const priceInputSchema = z
  .object({
    modelName: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .transform((s) => s.toLowerCase()),
    matchPattern: z
      .string()
      .max(200)
      .nullish()
      .refine((p) => p == null || compiles(p), { message: 'is not a valid regular expression' })
      .refine((p) => p == null || safeRegex(p), {
        message: 'may backtrack catastrophically; simplify it',
      }),
    provider: z.string().trim().max(100).nullish(),
    // A negative price would pay the project for its calls (and shrink its judge spend below its quota).
    inputPrice: z.string().refine((v) => Number(v) >= 0, { message: 'must not be negative' }),
    outputPrice: z.string().refine((v) => Number(v) >= 0, { message: 'must not be negative' }),
    cachedInputPrice: z
      .string()
      .refine((v) => Number(v) >= 0, { message: 'must not be negative' })
      .nullish(),
    startDate: z.date().nullish(),
  })
  .refine(
    (p) =>
      [p.inputPrice, p.outputPrice, p.cachedInputPrice].every(
        (v) => v == null || Number(v) < 1_000_000,
      ),
    {
      message: 'prices must be below 1,000,000 USD per 1M tokens',
      path: ['inputPrice'],
    },
  );

function compiles(pattern: string) {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

builder.relayMutationField(
  'upsertModelPrice',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      modelName: t.string({
        required: true,
        description: 'Exact (normalised) model name, or a label when matchPattern is set.',
      }),
      matchPattern: t.string({
        description: 'Regular expression over model names, e.g. ^ft:gpt-4o-mini.',
      }),
      provider: t.string(),
      startDate: t.field({
        type: 'DateTime',
        description: 'From when the price applies (default: always).',
      }),
      inputPrice: t.field({
        type: 'Decimal',
        required: true,
        description: 'USD per 1M input tokens.',
      }),
      outputPrice: t.field({ type: 'Decimal', required: true }),
      cachedInputPrice: t.field({
        type: 'Decimal',
        description: 'USD per 1M cached input tokens (default: the input price).',
      }),
    }),
  },
  {
    description:
      "Adds or replaces a project's price for a model from a start date. Applies to spans ingested afterwards.",
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'manage' } }),
    resolve: async (_root, { input }, ctx) => {
      const p = parseInput(priceInputSchema, input);
      const row: PriceRow = await ctx.services.costs.upsertPrice({
        projectId: input.projectId.id,
        modelName: p.modelName,
        matchPattern: p.matchPattern ?? null,
        provider: p.provider?.toLowerCase() ?? null,
        startDate: p.startDate ?? new Date(0),
        inputPrice: p.inputPrice,
        outputPrice: p.outputPrice,
        cachedInputPrice: p.cachedInputPrice ?? null,
      });
      return { modelPrice: row };
    },
  },
  {
    outputFields: (t) => ({
      modelPrice: t.field({ type: ModelPriceRef, resolve: (r) => r.modelPrice }),
    }),
  },
);

builder.relayMutationField(
  'deleteModelPrice',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      id: t.id({ required: true }),
    }),
  },
  {
    description:
      "Removes one of a project's prices (built-in prices cannot be removed; override them instead).",
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'manage' } }),
    resolve: async (_root, { input }, ctx) => {
      const id = uuidOfGlobalId(String(input.id), 'ModelPrice');
      const audit = (tx: Prisma.TransactionClient) =>
        recordAudit(
          ctx,
          {
            action: 'modelPrice.delete',
            projectId: input.projectId.id,
            targetType: 'ModelPrice',
            targetId: id!,
          },
          tx,
        );
      if (!id || !(await ctx.services.costs.deletePrice(input.projectId.id, id, audit)))
        throw notFound('That price');
      return { deletedId: String(input.id) };
    },
  },
  { outputFields: (t) => ({ deletedId: t.id({ resolve: (r) => r.deletedId }) }) },
);
