// `metrics`: what a dashboard draws, a time series per group of calls, errors, tokens, cost and
// latency quantiles over [from, to), from the rollups (metrics.ts). Needs `read`; the cost fields
// need `costs` (FORBIDDEN on them alone, as Trace.totalCost), and so does ranking by cost. The order of top-N is shared with costSummary (AnalyticsOrder).
// Score series (mean/p50/p95 by score name) are `scoreMetrics` (score-metrics-schema.ts), with the
// same window, interval and limits (checkWindow, MetricsInterval).
import { z } from 'zod';
import { badInput } from '../../errors';
import { builder } from '../../schema/builder';
import { authorize } from '../auth/access';
import { ProjectRef } from '../projects/schema';
import { OrderDirection } from '../traces/queries';
import { costOf, SpanKindEnum, SpanStatusEnum } from '../traces/schema';
import { selectedFields } from '../traces/selection';
import {
  MAX_SERIES,
  MAX_TOTAL_POINTS,
  MetricsLimitError,
  type MetricsSeries,
  readMetrics,
} from './metrics';
import { bucketCount, type MetricsValues } from './series';
import type { Interval } from './query';
import type { Order } from './top';

/** Points in one series at most. */
export const MAX_POINTS = 1_000;
/** Values in one filter list (as costSummary's). */
const MAX_FILTER_VALUES = 100;

export const AnalyticsOrderField = builder.enumType('AnalyticsOrderField', {
  description:
    'A measure over the whole window to rank groups by. A group whose measure is null (no priced call, no latency) comes last in either direction.',
  values: {
    COST: { description: 'USD of the priced calls. Needs the costs right.' },
    CALLS: {},
    TOKENS: { description: 'Total tokens.' },
    LATENCY_P95: {},
    ERROR_RATE: {},
  } as const,
});

/** The order argument of costSummary and metrics, as top-N (analytics/top.ts) takes it. */
export const orderOf = (
  arg: { field: Order['field']; direction?: 'asc' | 'desc' | null } | null,
) => (arg ? { field: arg.field, direction: arg.direction ?? 'desc' } : null);

/** `limit` of a top-N: 1 to MAX_SERIES. */
export function checkLimit(limit: number | null | undefined): number | null {
  if (limit == null) return null;
  if (limit < 1 || limit > MAX_SERIES)
    throw badInput(`limit must be between 1 and ${MAX_SERIES}.`, ['limit']);
  return limit;
}

/** A series query's window: `to` after `from`, and at most MAX_POINTS buckets of the interval. */
export function checkWindow(from: Date, to: Date, interval: Interval): void {
  if (to.getTime() <= from.getTime()) throw badInput('`to` must be after `from`.', ['to']);
  const points = bucketCount(from, to, interval);
  if (points > MAX_POINTS)
    throw badInput(
      `${points} ${interval.toLowerCase()} buckets is more than ${MAX_POINTS} points: use a longer interval or a shorter window.`,
      ['interval'],
    );
}

/** A series query's reading, the limits it hits answered BAD_USER_INPUT. */
export async function withinLimits<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof MetricsLimitError) throw badInput(error.message);
    throw error;
  }
}

const MetricsOrder = builder.inputType('MetricsOrder', {
  fields: (t) => ({
    field: t.field({ type: AnalyticsOrderField, required: true }),
    direction: t.field({ type: OrderDirection, defaultValue: 'desc' }),
  }),
});

export const MetricsIntervalEnum = builder.enumType('MetricsInterval', {
  description:
    'UTC buckets of time, as Postgres date_trunc: a WEEK starts on Monday. MINUTE reads the spans themselves (at most 1,000 minutes); the others read the rollups.',
  values: ['MINUTE', 'HOUR', 'DAY', 'WEEK'] as const,
});

const MetricsGroupByEnum = builder.enumType('MetricsGroupBy', {
  values: {
    MODEL: { description: 'The normalised model name (Span.normalizedModel).' },
    PROVIDER: {},
    SPAN_KIND: {},
    STATUS: {},
    USER: { description: 'End user id.' },
  } as const,
});

const listOf = (max: number) => z.array(z.string().max(max)).max(MAX_FILTER_VALUES);
const MetricsFilter = builder.inputType('MetricsFilter', {
  description: 'All given conditions must hold.',
  fields: (t) => ({
    models: t.stringList({
      description: 'Compared normalised, like the MODEL group.',
      validate: listOf(256),
    }),
    providers: t.stringList({ validate: listOf(256) }),
    userIds: t.stringList({ description: 'End user ids.', validate: listOf(256) }),
    spanKinds: t.field({ type: [SpanKindEnum] }),
    statuses: t.field({ type: [SpanStatusEnum] }),
    sessionIds: t.stringList({
      description: 'Not in the rollups: a filter on sessions reads the spans.',
      validate: listOf(256),
    }),
    tags: t.stringList({
      description: 'Spans carrying every one of these tags. Not in the rollups: reads the spans.',
      validate: listOf(200),
    }),
    callsOnly: t.boolean({
      defaultValue: false,
      description:
        'Count model calls only (spans with a cost, or with a model, or LLM/EMBEDDING spans with tokens), as costSummary does; else every span.',
    }),
  }),
});

const MetricsKeysRef = builder.objectRef<MetricsSeries['keys']>('MetricsKeys').implement({
  description:
    'The group of a series: only the keys grouped by are set (a key grouped by may still be null: spans without a model, say).',
  fields: (t) => ({
    model: t.string({ nullable: true, resolve: (k) => k.MODEL ?? null }),
    provider: t.string({ nullable: true, resolve: (k) => k.PROVIDER ?? null }),
    spanKind: t.field({
      type: SpanKindEnum,
      nullable: true,
      resolve: (k) => (k.SPAN_KIND as never) ?? null,
    }),
    status: t.field({
      type: SpanStatusEnum,
      nullable: true,
      resolve: (k) => (k.STATUS as never) ?? null,
    }),
    userId: t.string({ nullable: true, resolve: (k) => k.USER ?? null }),
  }),
});

/** A point's or totals' values, with their project (whose costs right the cost field asks). */
type Values = MetricsValues & { projectId: string };

/** The fields of a point and of a series' totals. */
type FieldBuilder<Result> = PothosSchemaTypes.ObjectFieldBuilder<
  typeof builder.$inferSchemaTypes,
  Result
>;
const valueFields = (t: FieldBuilder<Values>) => ({
  calls: t.int({
    description: 'Spans counted (model calls only with filter.callsOnly).',
    resolve: (v) => v.calls,
  }),
  errors: t.int({ description: 'Of them, with status ERROR.', resolve: (v) => v.errors }),
  errorRate: t.float({
    nullable: true,
    description: 'errors / calls, 0 to 1; null without calls.',
    resolve: (v) => (v.calls ? v.errors / v.calls : null),
  }),
  inputTokens: t.field({ type: 'SafeInt', resolve: (v) => Number(v.inputTokens) }),
  outputTokens: t.field({ type: 'SafeInt', resolve: (v) => Number(v.outputTokens) }),
  totalTokens: t.field({ type: 'SafeInt', resolve: (v) => Number(v.totalTokens) }),
  cost: t.field({
    type: 'Decimal',
    nullable: true,
    description:
      'USD of the priced spans (see unpricedCalls); null when none was priced, a bucket without calls included. Needs the costs right.',
    resolve: (v, _args, ctx) => costOf(v, v.cost, ctx),
  }),
  unpricedCalls: t.int({
    description: 'Calls that needed a price and have none: not in cost.',
    resolve: (v) => v.unpricedCalls,
  }),
  p50LatencyMs: t.float({
    nullable: true,
    description:
      "Median latency of the spans with an end time, from the rollups' sketch: within 0.9 % of the exact value. Null when none has a latency.",
    resolve: (v) => v.p50LatencyMs,
  }),
  p95LatencyMs: t.float({ nullable: true, resolve: (v) => v.p95LatencyMs }),
  p99LatencyMs: t.float({ nullable: true, resolve: (v) => v.p99LatencyMs }),
});

const MetricsTotalsRef = builder.objectRef<Values>('MetricsTotals').implement({
  description: "A series' values over the whole window.",
  fields: (t) => valueFields(t),
});

const MetricsPointRef = builder.objectRef<Values & { time: Date }>('MetricsPoint').implement({
  fields: (t) => ({
    time: t.field({
      type: 'DateTime',
      description:
        'Start of the bucket. The first and last buckets may be partly outside [from, to): they hold only the spans inside it.',
      resolve: (p) => p.time,
    }),
    // A point is values with a time: the values' resolvers read it as Values.
    ...valueFields(t as unknown as FieldBuilder<Values>),
  }),
});

/** Points counted upfront per series by the rate limit; the answer is charged at its real size. */
export const POINTS_ESTIMATE = 24;

type Series = Omit<MetricsSeries, 'totals' | 'points'> & {
  totals: Values;
  points: (Values & { time: Date })[];
};

const MetricsSeriesRef = builder.objectRef<Series>('MetricsSeries').implement({
  // Sums over spans that keep arriving (ingest drops its project's cached answers): kept 30 s at most.
  extensions: { cacheTtlMs: 30_000 },
  fields: (t) => ({
    keys: t.field({ type: MetricsKeysRef, resolve: (s) => s.keys }),
    totals: t.field({ type: MetricsTotalsRef, resolve: (s) => s.totals }),
    points: t.field({
      type: [MetricsPointRef],
      description:
        'Every bucket of the window in order, zero-filled: a bucket without spans has counts of 0 and null where a value needs spans (errorRate, cost, latency).',
      extensions: { listSize: POINTS_ESTIMATE },
      resolve: (s) => s.points,
    }),
  }),
});

/** The fields answered from a latency sketch: without one selected (or ordered by), none is merged. */
export const LATENCY = ['p50LatencyMs', 'p95LatencyMs', 'p99LatencyMs'];

builder.queryField('metrics', (t) =>
  t.field({
    type: [MetricsSeriesRef],
    // An aggregation over the window: 50 points, and a series per limit (10 without) of
    // POINTS_ESTIMATE points each, charged at the answer's real size after it runs.
    extensions: {
      cost: 50,
      listSize: (args: Record<string, unknown>) =>
        typeof args.limit === 'number' && args.limit > 0 ? Math.min(args.limit, MAX_SERIES) : 10,
    },
    complexity: 50,
    description: `Time series of a project's spans in [from, to): per group (groupBy), a point per bucket of the interval and the totals over the window. Series in the order of their keys, or the top \`limit\` by orderBy. At most ${MAX_POINTS} points per series, ${MAX_SERIES} series and ${MAX_TOTAL_POINTS} points in all. Needs the read right; the cost fields, and ordering by cost, need the costs right too (FORBIDDEN otherwise).`,
    args: {
      projectId: t.arg.globalID({ required: true, for: ProjectRef }),
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
      interval: t.arg({ type: MetricsIntervalEnum, required: true }),
      groupBy: t.arg({ type: [MetricsGroupByEnum], defaultValue: [] }),
      filter: t.arg({ type: MetricsFilter }),
      orderBy: t.arg({ type: MetricsOrder }),
      limit: t.arg.int({ description: `The top N series by orderBy, 1 to ${MAX_SERIES}.` }),
    },
    authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
    resolve: async (_root, args, ctx, info) => {
      const projectId = args.projectId.id;
      checkWindow(args.from, args.to, args.interval);
      const limit = checkLimit(args.limit);
      const order = orderOf(args.orderBy ?? null);
      // Ranking by cost reveals costs as reading them does (traces' authorizeCostFilter).
      if (order?.field === 'COST') await authorize(ctx, projectId, 'costs');
      // Quantiles cost a pass over the sketch: only when some are selected (anywhere in the operation).
      const selected = selectedFields(info);
      const latency =
        order?.field === 'LATENCY_P95' ||
        ['MetricsPoint', 'MetricsTotals'].some((type) =>
          LATENCY.some((f) => selected.get(type)?.has(f)),
        );
      const { callsOnly, ...filter } = args.filter ?? {};
      const series = await withinLimits(() =>
        readMetrics(ctx.deps.db.query, {
          projectId,
          from: args.from,
          to: args.to,
          interval: args.interval,
          groupBy: args.groupBy ?? [],
          filter,
          callsOnly: callsOnly ?? false,
          order,
          limit,
          latency,
          rollups: ctx.deps.config.rollups.enabled,
        }),
      );
      return series.map((s) => ({
        keys: s.keys,
        totals: { ...s.totals, projectId },
        points: s.points.map((point) => ({ ...point, projectId })),
      }));
    },
  }),
);
