// Alert events: `alertFired(projectId)` (state changes as they happen) and their history
// (`alertEvents`, `AlertRule.events`). Reading needs the `read` action on the rule's project.
import { DEFAULT_PAGE, MAX_PAGE } from '../../lib/pages';
import {
  encodeGlobalID,
  resolveCursorConnection,
  type ResolveCursorConnectionArgs,
} from '@pothos/plugin-relay';
import type { Context } from '../../context';
import { badInput, forbidden } from '../../errors';
import { AlertGroupBy, AlertState, type AlertMetric } from '../../generated/prisma/enums';
import { boundedQueue } from '../../lib/channel';
import { isUuid } from '../../lib/ids';
import { builder } from '../../schema/builder';
import { allows, authorizeId } from '../auth/access';
import { ProjectRef } from '../projects/schema';
import { topics, type EventMessage } from '../events/catalogue';
import type { Baseline } from './anomaly';
import { notificationOf, type AlertNotification } from './events';
import { METRICS } from './metrics';

export const AlertStateEnum = builder.enumType(AlertState, {
  name: 'AlertState',
  description: 'OK → WARNING → FIRING → RESOLVED (and back to WARNING or FIRING).',
});

/** A measured value; FORBIDDEN (null in its place) when it is money and the caller may not read costs. */
export function measured(
  ctx: Context,
  m: { projectId: string; metric: AlertMetric; value: number | null },
): number | null {
  if (METRICS[m.metric].costs && !allows(ctx, m.projectId, 'costs'))
    throw forbidden('Cost values need the BILLING or ADMIN role.');
  return m.value;
}

export const AlertGroupByEnum = builder.enumType(AlertGroupBy, {
  name: 'AlertGroupBy',
  description:
    'What a grouped rule keeps one state per: USER (the end user id), MODEL (normalised, as Span.normalizedModel), SPAN_KIND. Span metrics only.',
});

export const AlertGroupRef = builder
  .objectRef<{ by: AlertGroupBy; value: string }>('AlertGroup')
  .implement({
    description: 'The group of a grouped rule: a user, a model or a span kind.',
    fields: (t) => ({
      by: t.field({ type: AlertGroupByEnum, resolve: (g) => g.by }),
      value: t.exposeString('value'),
    }),
  });

/** The baseline of an ANOMALY rule, money-guarded like the value it is compared with. */
export const AlertBaselineRef = builder.objectRef<Baseline>('AlertBaseline').implement({
  description:
    'What an ANOMALY rule compared the value with: the median and MAD (median absolute deviation, unscaled) of the same window over the previous periods, and the bounds median ± anomalyK·MAD (± a relative 1e-9 when the history is flat: any change is then an anomaly).',
  fields: (t) => ({
    median: t.exposeFloat('median'),
    mad: t.exposeFloat('mad'),
    lower: t.exposeFloat('lower'),
    upper: t.exposeFloat('upper'),
    periods: t.exposeInt('periods', { description: 'Periods of history it was taken from.' }),
  }),
});

/** An ANOMALY baseline when the caller may read the metric's values (FORBIDDEN as for the value). */
export function baselineFor(
  ctx: Context,
  m: { projectId: string; metric: AlertMetric; baseline?: Baseline | null },
): Baseline | null {
  if (!m.baseline) return null;
  measured(ctx, { ...m, value: null });
  return m.baseline;
}

export const AlertEventRef = builder.objectRef<AlertNotification>('AlertEvent').implement({
  // Workers add events at each check: kept briefly (and dropped when a rule changes state).
  extensions: { cacheTtlMs: 5_000 },
  description: 'An alert rule changing state.',
  authScopes: (n) => ({ project: { id: n.projectId, action: 'read' } }),
  fields: (t) => ({
    id: t.id({ resolve: (n) => encodeGlobalID('AlertEvent', n.eventId) }),
    ruleId: t.id({ resolve: (n) => encodeGlobalID('AlertRule', n.ruleId) }),
    ruleName: t.exposeString('ruleName'),
    fromState: t.field({ type: AlertStateEnum, resolve: (n) => n.fromState }),
    state: t.field({ type: AlertStateEnum, resolve: (n) => n.state }),
    value: t.float({
      nullable: true,
      description:
        'The measured value (null when there was no data). A COST value needs the BILLING or ADMIN role.',
      resolve: (n, _args, ctx) => measured(ctx, n),
    }),
    threshold: t.exposeFloat('threshold', {
      nullable: true,
      description:
        'The threshold crossed (the warning threshold for WARNING); for ANOMALY the baseline bound on the value’s side (null without a baseline).',
    }),
    windowSeconds: t.exposeInt('windowSeconds'),
    group: t.field({
      type: AlertGroupRef,
      nullable: true,
      description: 'The group whose state changed, for a grouped rule; null otherwise.',
      resolve: (n) => n.group ?? null,
    }),
    baseline: t.field({
      type: AlertBaselineRef,
      nullable: true,
      description:
        'ANOMALY: what the value was compared with; null for other rules, and when there were fewer than anomalyPeriods periods of history.',
      resolve: (n, _args, ctx) => baselineFor(ctx, n),
    }),
    samples: t.int({
      nullable: true,
      description: 'Spans or evaluation results in the window.',
      resolve: (n) => n.samples ?? null,
    }),
    notified: t.boolean({
      description: "false: recorded but held back by the rule's cooldown.",
      resolve: (n) => n.notified ?? true,
    }),
    reason: t.string({
      nullable: true,
      description:
        'Why the state changed when no measurement moved it (the rule was disabled); null otherwise.',
      resolve: (n) => n.reason ?? null,
    }),
    at: t.field({ type: 'DateTime', resolve: (n) => new Date(n.at) }),
  }),
});

/** One connection type for a project's and a rule's events. */
export const AlertEventConnection = builder.connectionObject(
  { type: AlertEventRef, name: 'AlertEventConnection' },
  { name: 'AlertEventEdge' },
);

interface EventRow {
  id: string;
  ruleId: string;
  projectId: string;
  fromState: AlertNotification['state'];
  toState: AlertNotification['state'];
  value: number | null;
  threshold: number | null;
  groupBy: AlertGroupBy | null;
  groupValue: string | null;
  baseline: unknown;
  windowStart: Date;
  windowEnd: Date;
  samples: number;
  notified: boolean;
  reason: string | null;
  createdAt: Date;
  rule: { name: string; metric: AlertMetric };
}

const toNotification = (e: EventRow): AlertNotification => ({
  eventId: e.id,
  ruleId: e.ruleId,
  ruleName: e.rule.name,
  metric: e.rule.metric,
  projectId: e.projectId,
  fromState: e.fromState,
  state: e.toState,
  value: e.value,
  threshold: e.threshold,
  group: e.groupBy && e.groupValue !== null ? { by: e.groupBy, value: e.groupValue } : null,
  baseline: (e.baseline ?? null) as Baseline | null,
  windowSeconds: Math.round((e.windowEnd.getTime() - e.windowStart.getTime()) / 1000),
  samples: e.samples,
  notified: e.notified,
  reason: e.reason,
  at: e.createdAt.toISOString(),
});

/** Events matching `where`, newest first (ids are time-ordered), as a Relay connection. */
export function eventsConnection(
  ctx: Context,
  where: { ruleId?: string; projectId?: string },
  args: {
    first?: number | null;
    last?: number | null;
    before?: string | null;
    after?: string | null;
  },
) {
  for (const [name, cursor] of [
    ['after', args.after],
    ['before', args.before],
  ] as const) {
    if (cursor && !isUuid(cursor)) throw badInput(`${name} is not a cursor of this list.`, [name]);
  }
  return resolveCursorConnection(
    {
      args,
      toCursor: (n: AlertNotification) => n.eventId,
      defaultSize: DEFAULT_PAGE,
      maxSize: MAX_PAGE,
    },
    async ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) => {
      const id = { ...(after ? { lt: after } : {}), ...(before ? { gt: before } : {}) };
      const rows = await ctx.deps.db.prisma.alertEvent.findMany({
        where: { ...where, ...(after || before ? { id } : {}) },
        orderBy: { id: inverted ? 'asc' : 'desc' },
        take: limit,
        include: { rule: { select: { name: true, metric: true } } },
      });
      return rows.map(toNotification);
    },
  );
}

builder.queryFields((t) => ({
  alertEvents: t.connection(
    {
      type: AlertEventRef,
      description:
        "State changes of a project's alert rules (projectId), or of one rule (ruleId), newest first.",
      args: { projectId: t.arg.globalID({ for: ProjectRef }), ruleId: t.arg.globalID() },
      authScopes: (_root, args) =>
        args.projectId
          ? { project: { id: args.projectId.id, action: 'read' } }
          : { authenticated: true },
      resolve: async (_root, args, ctx) => {
        if (!args.projectId === !args.ruleId)
          throw badInput('Give exactly one of projectId and ruleId.', ['projectId']);
        if (args.ruleId && (args.ruleId.typename !== 'AlertRule' || !isUuid(args.ruleId.id)))
          throw badInput('ruleId is not an alert rule id.', ['ruleId']);
        // The rule's project decides: a rule you cannot read is not there.
        if (args.ruleId) await authorizeId(ctx, 'AlertRule', args.ruleId.id, 'read', ['ruleId']);
        return eventsConnection(
          ctx,
          args.projectId ? { projectId: args.projectId.id } : { ruleId: args.ruleId!.id },
          args,
        );
      },
    },
    AlertEventConnection,
  ),
}));

builder.subscriptionFields((t) => ({
  alertFired: t.field({
    type: AlertEventRef,
    description:
      "State changes (warning, firing, resolving) of the project's alert rules, as they happen.",
    args: { projectId: t.arg.globalID({ required: true, for: ProjectRef }) },
    authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
    subscribe: (_root, args, ctx) =>
      ctx.services.subscriptions.topic<EventMessage<'alert.fired' | 'alert.resolved'>>(
        ctx,
        args.projectId.id,
        topics.projectAlerts(args.projectId.id),
        boundedQueue(1_000),
      ),
    resolve: notificationOf,
  }),
}));
