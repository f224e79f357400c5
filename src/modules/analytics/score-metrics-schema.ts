// `scoreMetrics`: what a dashboard draws of scores, a time series per score name (or source, data
// type, category) of counts, mean, p50 and p95 over [from, to), from the score rollups
// (score-metrics.ts). The window, interval and limits are those of `metrics` (schema.ts). Needs `read`.
import { z } from 'zod';
import { builder } from '../../schema/builder';
import { ProjectRef } from '../projects/schema';
import { MAX_NAME } from '../scores/input';
import { ScoreDataTypeEnum, ScoreSourceEnum } from '../scores/schema';
import { selectedFields } from '../traces/selection';
import { MAX_SERIES, MAX_TOTAL_POINTS } from './metrics';
import {
  checkWindow,
  MAX_POINTS,
  MetricsIntervalEnum,
  POINTS_ESTIMATE,
  withinLimits,
} from './schema';
import { readScoreMetrics, type ScoreSeries, type ScoreValues } from './score-metrics';

/** Values in one filter list (as metrics'). */
const MAX_FILTER_VALUES = 100;

const ScoreMetricsGroupByEnum = builder.enumType('ScoreMetricsGroupBy', {
  values: {
    NAME: {},
    SOURCE: {},
    DATA_TYPE: {},
    STRING_VALUE: { description: 'The category (or True/False); null for NUMERIC scores.' },
  } as const,
});

const ScoreMetricsFilter = builder.inputType('ScoreMetricsFilter', {
  description: 'All given conditions must hold.',
  fields: (t) => ({
    names: t.stringList({
      validate: z.array(z.string().max(MAX_NAME)).max(MAX_FILTER_VALUES),
    }),
    sources: t.field({ type: [ScoreSourceEnum] }),
    dataTypes: t.field({ type: [ScoreDataTypeEnum] }),
  }),
});

const ScoreMetricsKeysRef = builder.objectRef<ScoreSeries['keys']>('ScoreMetricsKeys').implement({
  description: 'The group of a series: only the keys grouped by are set.',
  fields: (t) => ({
    name: t.string({ nullable: true, resolve: (k) => k.NAME ?? null }),
    source: t.field({
      type: ScoreSourceEnum,
      nullable: true,
      resolve: (k) => (k.SOURCE as never) ?? null,
    }),
    dataType: t.field({
      type: ScoreDataTypeEnum,
      nullable: true,
      resolve: (k) => (k.DATA_TYPE as never) ?? null,
    }),
    stringValue: t.string({ nullable: true, resolve: (k) => k.STRING_VALUE ?? null }),
  }),
});

type FieldBuilder<Result> = PothosSchemaTypes.ObjectFieldBuilder<
  typeof builder.$inferSchemaTypes,
  Result
>;
const valueFields = (t: FieldBuilder<ScoreValues>) => ({
  count: t.exposeInt('count', { description: 'Scores given.' }),
  valueCount: t.exposeInt('valueCount', {
    description:
      'Of them, with a value: NUMERIC, BOOLEAN (1 or 0) and CATEGORICAL ones whose category maps to a value. mean, p50 and p95 are over these.',
  }),
  mean: t.exposeFloat('mean', {
    nullable: true,
    description: 'Exact. Null without values. Of BOOLEAN scores: the share that is true.',
  }),
  p50: t.exposeFloat('p50', {
    nullable: true,
    description:
      "Median, from the rollups' sketch: within 0.9 % of percentile_cont's (scoreSummary's). Null without values.",
  }),
  p95: t.exposeFloat('p95', { nullable: true, description: 'As p50.' }),
});

const ScoreMetricsTotalsRef = builder.objectRef<ScoreValues>('ScoreMetricsTotals').implement({
  description: "A series' values over the whole window.",
  fields: (t) => valueFields(t),
});

const ScoreMetricsPointRef = builder
  .objectRef<ScoreValues & { time: Date }>('ScoreMetricsPoint')
  .implement({
    fields: (t) => ({
      time: t.field({
        type: 'DateTime',
        description:
          'Start of the bucket. The first and last buckets may be partly outside [from, to): they hold only the scores inside it.',
        resolve: (p) => p.time,
      }),
      ...valueFields(t as unknown as FieldBuilder<ScoreValues>),
    }),
  });

const ScoreMetricsSeriesRef = builder.objectRef<ScoreSeries>('ScoreMetricsSeries').implement({
  // Scores keep arriving (their mutations drop the project's cached answers): kept 30 s at most.
  extensions: { cacheTtlMs: 30_000 },
  fields: (t) => ({
    keys: t.field({ type: ScoreMetricsKeysRef, resolve: (s) => s.keys }),
    totals: t.field({ type: ScoreMetricsTotalsRef, resolve: (s) => s.totals }),
    points: t.field({
      type: [ScoreMetricsPointRef],
      description:
        'Every bucket of the window in order, zero-filled: a bucket without scores has counts of 0 and null mean, p50 and p95.',
      extensions: { listSize: POINTS_ESTIMATE },
      resolve: (s) => s.points,
    }),
  }),
});

const QUANTILES = ['p50', 'p95'];

builder.queryField('scoreMetrics', (t) =>
  t.field({
    type: [ScoreMetricsSeriesRef],
    // As `metrics`: 50 points, and 10 series of POINTS_ESTIMATE points each, charged at the
    // answer's real size after it runs.
    extensions: { cost: 50, listSize: 10 },
    complexity: 50,
    description: `Time series of a project's scores given in [from, to): per group (groupBy), a point per bucket of the interval and the totals over the window, in the order of their keys. At most ${MAX_POINTS} points per series, ${MAX_SERIES} series and ${MAX_TOTAL_POINTS} points in all. Needs the read right.`,
    args: {
      projectId: t.arg.globalID({ required: true, for: ProjectRef }),
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
      interval: t.arg({ type: MetricsIntervalEnum, required: true }),
      groupBy: t.arg({ type: [ScoreMetricsGroupByEnum], defaultValue: ['NAME'] }),
      filter: t.arg({ type: ScoreMetricsFilter }),
    },
    authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
    resolve: async (_root, args, ctx, info) => {
      checkWindow(args.from, args.to, args.interval);
      // Quantiles cost a pass over the sketch: only when some are selected (anywhere in the operation).
      const selected = selectedFields(info);
      const quantiles = ['ScoreMetricsPoint', 'ScoreMetricsTotals'].some((type) =>
        QUANTILES.some((f) => selected.get(type)?.has(f)),
      );
      return withinLimits(() =>
        readScoreMetrics(ctx.deps.db.query, {
          projectId: args.projectId.id,
          from: args.from,
          to: args.to,
          interval: args.interval,
          groupBy: args.groupBy ?? [],
          filter: args.filter ?? {},
          quantiles,
        }),
      );
    },
  }),
);
