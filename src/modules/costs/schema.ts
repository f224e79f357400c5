// Cost summaries: `costSummary`, tokens, cost, calls, errors and latency of model calls grouped
// by model, user, project, day, hour or span kind. Model prices are in price-schema.ts.
import { z } from 'zod';
import { appError } from '../../errors';
import { builder } from '../../schema/builder';
import { AnalyticsOrderField, checkLimit, LATENCY, orderOf } from '../analytics/schema';
import { selectedFields } from '../traces/selection';
import { topN } from '../analytics/top';
import { allows } from '../auth/access';
import { visibleProjects } from '../auth/permissions';
import { ProjectRef } from '../projects/schema';
import { ALL_PROJECTS } from '../response-cache/service';
import { OrderDirection } from '../traces/queries';
import { SpanKindEnum } from '../traces/schema';
import { TooManyGroupsError, type CostGroupBy, type CostRow } from './repo';

const CostGroupByEnum = builder.enumType('CostGroupBy', {
  values: ['MODEL', 'USER', 'PROJECT', 'DAY', 'HOUR', 'SPAN_KIND'] as const,
  description: 'DAY and HOUR are UTC.',
});

const CostKeysRef = builder.objectRef<CostRow['keys']>('CostSummaryKeys').implement({
  description: 'The group of a row: only the keys grouped by are set.',
  fields: (t) => ({
    model: t.string({
      nullable: true,
      description:
        'The normalised model name (Span.normalizedModel): gpt-4o-mini, openai/gpt-4o-mini and GPT-4o-Mini are one row.',
      resolve: (k) => k.MODEL ?? null,
    }),
    userId: t.string({
      nullable: true,
      description: 'End user id.',
      resolve: (k) => k.USER ?? null,
    }),
    projectId: t.globalID({
      nullable: true,
      resolve: (k) => (k.PROJECT ? { type: 'Project', id: k.PROJECT } : null),
    }),
    day: t.string({
      nullable: true,
      description: 'YYYY-MM-DD (UTC).',
      resolve: (k) => k.DAY ?? null,
    }),
    hour: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.HOUR ?? null }),
    spanKind: t.field({
      type: SpanKindEnum,
      nullable: true,
      resolve: (k) => (k.SPAN_KIND as never) ?? null,
    }),
  }),
});

const CostRowRef = builder.objectRef<CostRow>('CostSummaryRow').implement({
  // Sums over spans that keep arriving: kept 30 s at most.
  extensions: { cacheTtlMs: 30_000 },
  fields: (t) => ({
    keys: t.field({ type: CostKeysRef, resolve: (r) => r.keys }),
    inputTokens: t.field({ type: 'SafeInt', resolve: (r) => Number(r.inputTokens) }),
    outputTokens: t.field({ type: 'SafeInt', resolve: (r) => Number(r.outputTokens) }),
    cachedInputTokens: t.field({ type: 'SafeInt', resolve: (r) => Number(r.cachedInputTokens) }),
    totalTokens: t.field({ type: 'SafeInt', resolve: (r) => Number(r.totalTokens) }),
    cost: t.field({
      type: 'Decimal',
      nullable: true,
      description:
        'USD of the priced calls (see unpricedCalls); null when none of the calls could be priced.',
      resolve: (r) => r.cost,
    }),
    calls: t.exposeInt('calls', {
      description:
        'Model calls: spans with a cost, or with a model, or LLM/EMBEDDING spans with tokens.',
    }),
    unpricedCalls: t.exposeInt('unpricedCalls', {
      description:
        'Calls that could not be priced (no known price for the model, or usage without the input/output split), left out of cost.',
    }),
    defaultPricedCalls: t.exposeInt('defaultPricedCalls', {
      description:
        'Calls of models the price table does not know, priced by EVALGRAPH_DEFAULT_MODEL_PRICE (Span.priceSource DEFAULT): in cost, and neither unpriced nor priced by the table. 0 while no default price is set.',
    }),
    errorRate: t.float({
      description: 'Share of calls that failed, 0 to 1.',
      resolve: (r) => (r.calls ? r.errors / r.calls : 0),
    }),
    p50LatencyMs: t.float({
      nullable: true,
      description:
        "Median latency of the calls with an end time, from the rollups' sketch: within 0.9 % of the exact value. Null when no call has a latency.",
      resolve: (r) => r.p50LatencyMs,
    }),
    p95LatencyMs: t.float({ nullable: true, resolve: (r) => r.p95LatencyMs }),
    p99LatencyMs: t.float({ nullable: true, resolve: (r) => r.p99LatencyMs }),
  }),
});

/** Values in one filter list. */
const MAX_FILTER_VALUES = 100;

const CostFilterRef = builder.inputType('CostFilter', {
  fields: (t) => ({
    models: t.stringList({
      description:
        'Compared normalised, like the MODEL group: gpt-4o finds gpt-4o-2024-08-06 and azure/gpt-4o.',
      validate: z.array(z.string().max(256)).max(MAX_FILTER_VALUES),
    }),
    userIds: t.stringList({
      description: 'End user ids.',
      validate: z.array(z.string().max(256)).max(MAX_FILTER_VALUES),
    }),
    sessionIds: t.stringList({ validate: z.array(z.string().max(256)).max(MAX_FILTER_VALUES) }),
    spanKinds: t.field({ type: [SpanKindEnum] }),
    tags: t.stringList({
      description: 'Calls carrying every one of these tags.',
      validate: z.array(z.string().max(200)).max(MAX_FILTER_VALUES),
    }),
  }),
});

const MAX_COST_ROWS = 10_000;

const CostOrder = builder.inputType('CostOrder', {
  fields: (t) => ({
    field: t.field({ type: AnalyticsOrderField, required: true }),
    direction: t.field({ type: OrderDirection, defaultValue: 'desc' }),
  }),
});

builder.queryField('costSummary', (t) =>
  t.field({
    type: [CostRowRef],
    // An aggregation over the spans of the window: 50 points, and up to 100 rows of 1.
    extensions: { cost: 50, listSize: 100 },
    description: `Tokens, cost, calls, error rate and latency of model calls in [from, to), grouped. Without projectId, over every project whose costs you may read. At most ${MAX_COST_ROWS} groups.`,
    args: {
      projectId: t.arg.globalID({ for: ProjectRef }),
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
      groupBy: t.arg({ type: [CostGroupByEnum], defaultValue: [] }),
      filter: t.arg({ type: CostFilterRef }),
      orderBy: t.arg({
        type: CostOrder,
        description: 'Rows by this measure (ties in the order of their keys); without it, by keys.',
      }),
      limit: t.arg.int({ description: 'The first N rows (the top N by orderBy), 1 to 1000.' }),
    },
    complexity: 50,
    authScopes: (_root, args) =>
      args.projectId
        ? { project: { id: args.projectId.id, action: 'costs' } }
        : { authenticated: true },
    resolve: async (_root, args, ctx, info) => {
      if (args.to.getTime() <= args.from.getTime())
        throw appError('BAD_USER_INPUT', '`to` must be after `from`.', {
          extensions: { path: ['to'] },
        });
      const limit = checkLimit(args.limit);
      const selected = selectedFields(info).get('CostSummaryRow');
      const latency =
        args.orderBy?.field === 'LATENCY_P95' || LATENCY.some((f) => selected?.has(f));
      const principal = ctx.principal!;
      const visible = visibleProjects(principal);
      const projectIds = args.projectId
        ? [args.projectId.id]
        : (visible === 'all'
            ? (await ctx.deps.db.prisma.project.findMany({ select: { id: true } })).map((p) => p.id)
            : visible
          ).filter((id) => allows(ctx, id, 'costs'));
      // Over every project: a project created later is in it too.
      if (!args.projectId && visible === 'all') ctx.touchedProjects.add(ALL_PROJECTS);
      try {
        const rows = await ctx.services.costs.summarise({
          projectIds,
          from: args.from,
          to: args.to,
          groupBy: (args.groupBy ?? []) as CostGroupBy[],
          filter: args.filter,
          maxRows: MAX_COST_ROWS,
          latency,
        });
        return topN(rows, orderOf(args.orderBy ?? null), limit);
      } catch (error) {
        if (error instanceof TooManyGroupsError)
          throw appError(
            'BAD_USER_INPUT',
            `More than ${error.limit} groups: narrow the time range or group by fewer keys.`,
          );
        throw error;
      }
    },
  }),
);
