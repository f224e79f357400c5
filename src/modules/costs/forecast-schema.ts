// costForecast: a project's (or one end user's) spend to the end of the UTC day or month,
// projected from its recent hourly rate (costs/forecast.ts says how). Needs the costs right.
import { z } from 'zod';
import { builder } from '../../schema/builder';
import { ProjectRef } from '../projects/schema';
import { FORECAST_LEVEL, HISTORY_HOURS, type Forecast } from './forecast';

const HorizonEnum = builder.enumType('CostForecastHorizon', {
  values: {
    DAY: { description: 'To the end of the current UTC day.' },
    MONTH: { description: 'To the end of the current UTC month.' },
  } as const,
});

const MethodEnum = builder.enumType('CostForecastMethod', {
  values: {
    HOURLY_MEAN: {
      description: `The mean hourly spend over the ${HISTORY_HOURS} hours back from now (or back to the hour of the first span of the project, or of the end user, when later: that hour counted whole; hours without calls count as 0) × the hours remaining, added to the spend so far. The interval is a ${FORECAST_LEVEL * 100} % prediction interval for the remaining hours' sum: ± t(0.95, n−1) · s · √(H + H²/n), n hours of history with standard deviation s, H hours remaining (normal hours, Student's t for the estimated spread), its lower end never below the spend so far. It assumes hours alike: spend with a daily cycle or a trend is projected at its weekly average.`,
    },
  } as const,
});

const ReasonEnum = builder.enumType('CostForecastReason', {
  description: 'Why a forecast has no projection.',
  values: {
    TOO_LITTLE_HISTORY: {
      description:
        "The project's (or end user's) first span is under an hour old, or there is none.",
    },
    UNPRICED: {
      description:
        'No call of the history could be priced, or none of the period so far (see CostSummaryRow.unpricedCalls): the rate is unknown, not 0.',
    },
  } as const,
});

const ForecastRef = builder.objectRef<Forecast>('CostForecast').implement({
  description:
    'Projected spend (USD) to the end of the UTC day or month. projected, lower and upper are null, with a reason, when they cannot be computed.',
  // The clock moves and spans keep arriving: kept 30 s at most, like cost summaries.
  extensions: { cacheTtlMs: 30_000 },
  fields: (t) => ({
    horizon: t.field({ type: HorizonEnum, resolve: (f) => f.horizon }),
    periodStart: t.field({ type: 'DateTime', resolve: (f) => f.periodStart }),
    periodEnd: t.field({ type: 'DateTime', resolve: (f) => f.periodEnd }),
    spentSoFar: t.field({
      type: 'Decimal',
      nullable: true,
      description:
        'Priced spend from periodStart to asOf, as costSummary sums it; null when no call was priced and some needed a price.',
      resolve: (f) => f.spentSoFar,
    }),
    projected: t.field({
      type: 'Decimal',
      nullable: true,
      description:
        'Expected spend for the whole period: spentSoFar + ratePerHourUsd × hours remaining.',
      resolve: (f) => f.projected,
    }),
    lower: t.field({
      type: 'Decimal',
      nullable: true,
      description: 'Lower end of the interval (see level); never below spentSoFar.',
      resolve: (f) => f.lower,
    }),
    upper: t.field({
      type: 'Decimal',
      nullable: true,
      description: 'Upper end of the interval (see level).',
      resolve: (f) => f.upper,
    }),
    level: t.float({
      description: "The interval's level: 0.9 (90 %).",
      resolve: (f) => f.level,
    }),
    method: t.field({ type: MethodEnum, resolve: () => 'HOURLY_MEAN' as const }),
    ratePerHourUsd: t.field({
      type: 'Decimal',
      nullable: true,
      description: 'Mean priced spend per hour of the history.',
      resolve: (f) => f.ratePerHourUsd,
    }),
    reason: t.field({
      type: ReasonEnum,
      nullable: true,
      description: 'Why projected, lower and upper are null; null when they are given.',
      resolve: (f) => f.reason,
    }),
    historyHours: t.int({
      description: 'Whole hours of history the rate is based on (basedOnFrom to basedOnTo).',
      resolve: (f) => f.historyHours,
    }),
    basedOnFrom: t.field({ type: 'DateTime', resolve: (f) => f.basedOnFrom }),
    basedOnTo: t.field({ type: 'DateTime', resolve: (f) => f.basedOnTo }),
    unpricedCalls: t.int({
      description: 'Calls of the history that could not be priced: left out of the rate.',
      resolve: (f) => f.unpricedCalls,
    }),
    asOf: t.field({ type: 'DateTime', resolve: (f) => f.asOf }),
  }),
});

builder.queryField('costForecast', (t) =>
  t.field({
    type: ForecastRef,
    // Like costSummary: one statement over the spans of a week or a month.
    extensions: { cost: 50 },
    complexity: 50,
    description:
      "A project's spend to the end of the UTC day or month, projected from its recent hourly rate (CostForecastMethod). Needs the costs right (BILLING or ADMIN).",
    args: {
      projectId: t.arg.globalID({ for: ProjectRef, required: true }),
      horizon: t.arg({ type: HorizonEnum, required: true }),
      userId: t.arg.string({
        description: "One end user's spend (the user id spans record), instead of the project's.",
        validate: z.string().max(256),
      }),
    },
    authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'costs' } }),
    resolve: (_root, args, ctx) =>
      ctx.services.costs.forecast({
        projectId: args.projectId.id,
        userId: args.userId ?? null,
        horizon: args.horizon,
      }),
  }),
);
