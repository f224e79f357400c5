// serviceStatus (instance admins): each SLO over the last 1 h, 6 h and day, from every API process's counts.
import { builder } from '../../schema/builder';
import type { SloStatus } from './service-levels';
import type { SloWindow } from './slo';

const SloWindowRef = builder.objectRef<SloWindow>('SloWindow').implement({
  fields: (t) => ({
    window: t.exposeString('window', { description: '1h, 6h or 24h, ending now.' }),
    good: t.exposeInt('good'),
    total: t.exposeInt('total'),
    value: t.exposeFloat('value', {
      nullable: true,
      description: 'good / total (null without events).',
    }),
    errorBudgetRemaining: t.exposeFloat('errorBudgetRemaining', {
      nullable: true,
      description: 'Share of the error budget left in the window; negative when overspent.',
    }),
    burnRate: t.exposeFloat('burnRate', {
      nullable: true,
      description:
        'How many times faster than the objective allows the budget is being spent (1: exactly on budget).',
    }),
  }),
});

const SloRef = builder.objectRef<SloStatus>('ServiceLevelObjective').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    objective: t.exposeFloat('objective', {
      description: 'The share of good events aimed for (0.999 = 99.9 %).',
    }),
    thresholdMs: t.exposeInt('thresholdMs', {
      nullable: true,
      description: 'A latency SLO: queries answered within this many ms are good. Null for others.',
    }),
    windows: t.field({ type: [SloWindowRef], resolve: (s) => s.windows }),
  }),
});

const ServiceStatusRef = builder
  .objectRef<{ at: Date; slos: SloStatus[] }>('ServiceStatus')
  .implement({
    fields: (t) => ({
      at: t.expose('at', { type: 'DateTime' }),
      slos: t.field({ type: [SloRef], resolve: (s) => s.slos }),
    }),
  });

builder.queryField('serviceStatus', (t) =>
  t.field({
    type: ServiceStatusRef,
    description:
      'Service level objectives (availability, error rate, query latency p95 and p99, webhook success) over the last 1 h, 6 h and day: value, error budget left and burn rate. Instance admins only.',
    authScopes: { instanceAdmin: true },
    // Never from the response cache: the counts of the last seconds are the point.
    extensions: { free: true, cacheTtlMs: 0 },
    resolve: async (_root, _args, ctx) => ({
      at: ctx.deps.clock.now(),
      slos: await ctx.services.serviceLevels.status(),
    }),
  }),
);
