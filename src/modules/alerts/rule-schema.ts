// Alert rules: the AlertRule type, `alertRules` / `alertRule`, and testAlertRule (a query and a
// mutation measuring a rule now). Reading needs `read` on the project. What a rule's input means
// is in rule-input.ts, the mutations that change rules in rule-mutations.ts.
import type { Context } from '../../context';
import { found, notFound } from '../../errors';
import {
  AlertAggregation,
  type AlertGroupBy,
  AlertMetric,
  AlertNoDataState,
  AlertOperator,
  AlertSeverity,
  type AlertState,
} from '../../generated/prisma/enums';
import { builder } from '../../schema/builder';
import { authorizeId } from '../auth/access';
import { projectScope } from '../auth/permissions';
import { ProjectRef } from '../projects/schema';
import { SpanKindEnum } from '../traces/schema';
import { WebhookEndpointRef } from '../webhooks/schema';
import { AlertChannelRef } from './channel-schema';
import { MAX_GROUPS, type AlertFilter } from './measure-sql';
import { descriptions } from './metrics';
import type { Baseline } from './anomaly';
import {
  AlertBaselineRef,
  AlertEventConnection,
  AlertEventRef,
  AlertGroupByEnum,
  AlertGroupRef,
  AlertStateEnum,
  baselineFor,
  eventsConnection,
  measured,
} from './schema';

export const AlertMetricEnum = builder.enumType(AlertMetric, {
  name: 'AlertMetric',
  description: descriptions.metric,
});
export const AlertAggregationEnum = builder.enumType(AlertAggregation, {
  name: 'AlertAggregation',
  description: descriptions.aggregation,
});
export const AlertOperatorEnum = builder.enumType(AlertOperator, {
  name: 'AlertOperator',
  description:
    'GT >, GTE >=, LT <, LTE <=, EQ =, NEQ != the threshold; ANOMALY: outside median ± anomalyK·MAD of the same window over the previous anomalyPeriods periods (no threshold).',
});
export const AlertSeverityEnum = builder.enumType(AlertSeverity, {
  name: 'AlertSeverity',
  description:
    'How urgent a firing is: PagerDuty’s severity (critical, error, warning, info), shown in Slack and email too.',
});
export const AlertNoDataEnum = builder.enumType(AlertNoDataState, {
  name: 'AlertNoDataState',
  description: 'What a window without enough samples means: OK, KEEP (the state stays), FIRING.',
});

const AlertFilterRef = builder.objectRef<AlertFilter>('AlertFilter').implement({
  fields: (t) => ({
    model: t.exposeString('model', { nullable: true }),
    spanKind: t.field({
      type: SpanKindEnum,
      nullable: true,
      resolve: (f) => (f.spanKind ?? null) as never,
    }),
    userId: t.exposeString('userId', { nullable: true }),
    tags: t.exposeStringList('tags', { nullable: true }),
    evaluationName: t.exposeString('evaluationName', { nullable: true }),
    grader: t.exposeString('grader', { nullable: true }),
  }),
});

export const AlertRuleRef = builder.prismaNode('AlertRule', {
  // Workers change rules at each check: kept briefly (and dropped when one changes state).
  extensions: { cacheTtlMs: 5_000 },
  // Loaded with findUnique: a missing node is null (then NOT_FOUND), not a thrown Prisma error.
  nullable: true,
  id: { field: 'id' },
  description:
    'A condition on a project’s traces or evaluation results, checked every intervalSeconds over the last windowSeconds.',
  authScopes: projectScope('read'),
  fields: (t) => ({
    project: t.relation('project'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    metric: t.expose('metric', { type: AlertMetricEnum }),
    aggregation: t.expose('aggregation', { type: AlertAggregationEnum }),
    filter: t.field({
      type: AlertFilterRef,
      select: { filter: true },
      resolve: (r) => (r.filter ?? {}) as AlertFilter,
    }),
    operator: t.expose('operator', { type: AlertOperatorEnum }),
    threshold: t.exposeFloat('threshold', { nullable: true, description: 'null for ANOMALY.' }),
    warningThreshold: t.exposeFloat('warningThreshold', { nullable: true }),
    groupBy: t.expose('groupBy', {
      type: AlertGroupByEnum,
      nullable: true,
      description: 'null: one state for the rule; else one state per group (groups).',
    }),
    anomalyK: t.exposeFloat('anomalyK', {
      description: 'ANOMALY: MADs from the median the value may be.',
    }),
    anomalyPeriods: t.exposeInt('anomalyPeriods', {
      description:
        'ANOMALY: previous windows (each windowSeconds long) the baseline is taken from.',
    }),
    truncatedGroups: t.exposeInt('truncatedGroups', {
      nullable: true,
      description: `Grouped rules: groups the last check left out beyond the ${MAX_GROUPS.toLocaleString('en')} with the highest values (0: none). null when ungrouped or not checked yet.`,
    }),
    groups: t.relatedConnection('groups', {
      cursor: 'id',
      description:
        'A grouped rule’s groups that are not OK, or were notified within the cooldown (any other group is OK), by group value.',
      query: { orderBy: { value: 'asc' } },
    }),
    windowSeconds: t.exposeInt('windowSeconds'),
    intervalSeconds: t.exposeInt('intervalSeconds'),
    minSamples: t.exposeInt('minSamples', {
      description: 'Fewer samples in the window count as no data.',
    }),
    noData: t.expose('noData', { type: AlertNoDataEnum }),
    cooldownSeconds: t.exposeInt('cooldownSeconds', {
      description: 'A warning or firing is not sent again within this time.',
    }),
    channels: t.field({
      type: [WebhookEndpointRef],
      description:
        'Webhook endpoints notified (none: every endpoint of the project subscribed to alert.fired / alert.resolved). alertFired subscribers always are.',
      select: { channels: true },
      resolve: (r, _a, ctx) =>
        r.channels.length
          ? ctx.deps.db.prisma.webhookEndpoint.findMany({
              where: { id: { in: r.channels } },
              orderBy: { id: 'asc' },
            })
          : [],
    }),
    alertChannels: t.field({
      type: [AlertChannelRef],
      description: 'Alert channels notified (Slack, PagerDuty, email): its channelIds.',
      select: { channelIds: true, projectId: true },
      resolve: (r, _a, ctx) =>
        r.channelIds.length
          ? ctx.deps.db.prisma.alertChannel.findMany({
              where: { id: { in: r.channelIds }, projectId: r.projectId },
              orderBy: { id: 'asc' },
            })
          : [],
    }),
    severity: t.expose('severity', { type: AlertSeverityEnum }),
    enabled: t.exposeBoolean('enabled'),
    state: t.expose('state', { type: AlertStateEnum }),
    lastValue: t.float({
      nullable: true,
      description: 'The value last measured. A COST value needs the BILLING or ADMIN role.',
      select: { lastValue: true, metric: true, projectId: true },
      resolve: (r, _args, ctx) =>
        measured(ctx, { projectId: r.projectId, metric: r.metric, value: r.lastValue }),
    }),
    lastEvaluatedAt: t.expose('lastEvaluatedAt', { type: 'DateTime', nullable: true }),
    nextEvaluationAt: t.expose('nextEvaluationAt', { type: 'DateTime' }),
    lastFiredAt: t.expose('lastFiredAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    events: t.connection(
      {
        type: AlertEventRef,
        description: 'Its state changes, newest first.',
        resolve: (r, args, ctx) => eventsConnection(ctx, { ruleId: r.id }, args),
      },
      AlertEventConnection,
    ),
  }),
});

builder.prismaObject('AlertRuleGroup', {
  description: 'The state of one group of a grouped rule.',
  fields: (t) => ({
    group: t.field({
      type: AlertGroupRef,
      select: { value: true, rule: { select: { groupBy: true } } },
      resolve: (g) => ({ by: g.rule.groupBy!, value: g.value }),
    }),
    state: t.expose('state', { type: AlertStateEnum }),
    lastValue: t.float({
      nullable: true,
      description: 'The value last measured. A COST value needs the BILLING or ADMIN role.',
      select: { lastValue: true, rule: { select: { metric: true, projectId: true } } },
      resolve: (g, _args, ctx) => measured(ctx, { ...g.rule, value: g.lastValue }),
    }),
    lastEvaluatedAt: t.expose('lastEvaluatedAt', { type: 'DateTime', nullable: true }),
    lastFiredAt: t.expose('lastFiredAt', { type: 'DateTime', nullable: true }),
  }),
});

interface Tested {
  value: number | null;
  metric: AlertMetric;
  projectId: string;
  samples: number;
  baseline: Baseline | null;
  historyPeriods: number | null;
}

// biome-ignore lint/suspicious/noExplicitAny: shared by two object types; the builder's schema type is the app's own
const measuredFields = (t: PothosSchemaTypes.ObjectFieldBuilder<any, Tested>) => ({
  value: t.float({
    nullable: true,
    description:
      'null: no samples to aggregate (or a grouped rule: see groups). A COST value needs the BILLING or ADMIN role.',
    resolve: (r: Tested, _args: unknown, ctx: Context) => measured(ctx, r),
  }),
  samples: t.exposeInt('samples'),
  baseline: t.field({
    type: AlertBaselineRef,
    nullable: true,
    description:
      'ANOMALY: what the value is compared with; null for other rules and when historyPeriods < anomalyPeriods (it does not fire then).',
    resolve: (r: Tested, _args: unknown, ctx: Context) => baselineFor(ctx, r),
  }),
  historyPeriods: t.int({
    nullable: true,
    description: 'ANOMALY: previous periods with a value found; null for other rules.',
    resolve: (r: Tested) => r.historyPeriods,
  }),
});

const AlertRuleTestGroupRef = builder
  .objectRef<Tested & { group: { by: AlertGroupBy; value: string }; wouldBecome: AlertState }>(
    'AlertRuleTestGroup',
  )
  .implement({
    fields: (t) => ({
      group: t.field({ type: AlertGroupRef, resolve: (g) => g.group }),
      ...measuredFields(t as never),
      wouldBecome: t.field({
        type: AlertStateEnum,
        description: 'Its state if it were evaluated now.',
        resolve: (g) => g.wouldBecome,
      }),
    }),
  });

const AlertRuleTestRef = builder
  .objectRef<
    Tested & {
      windowStart: Date;
      windowEnd: Date;
      state: AlertState;
      nextState: AlertState | null;
      groups: (Tested & { group: { by: AlertGroupBy; value: string }; wouldBecome: AlertState })[];
      truncatedGroups: number | null;
    }
  >('AlertRuleTest')
  .implement({
    description: 'What the rule measures now. Nothing is recorded or sent.',
    fields: (t) => ({
      ...measuredFields(t as never),
      groups: t.field({
        type: [AlertRuleTestGroupRef],
        description: `A grouped rule’s groups measured now (at most ${MAX_GROUPS.toLocaleString('en')}, the highest values first); empty when ungrouped.`,
        resolve: (r) => r.groups,
      }),
      truncatedGroups: t.exposeInt('truncatedGroups', {
        nullable: true,
        description: 'Groups left out; null when ungrouped.',
      }),
      windowStart: t.expose('windowStart', { type: 'DateTime' }),
      windowEnd: t.expose('windowEnd', { type: 'DateTime' }),
      state: t.field({
        type: AlertStateEnum,
        description: 'Its state now.',
        resolve: (r) => r.state,
      }),
      wouldBecome: t.field({
        type: AlertStateEnum,
        description: 'Its state if it were evaluated now.',
        resolve: (r) => r.nextState ?? r.state,
      }),
    }),
  });

/** The rule measured now, when the principal may read it. */
async function testRule(ctx: Context, id: string) {
  await authorizeId(ctx, 'AlertRule', id, 'read');
  const result = await ctx.services.alertRules.test(id);
  if (!result) throw notFound('Alert rule'); // deleted meanwhile
  return result;
}

const TEST_DESCRIPTION =
  'Measures the rule now and returns the value, without firing or recording anything.';

// Both a query (it changes nothing) and a mutation (beside the rule's other operations).
builder.queryField('testAlertRule', (t) =>
  t.field({
    type: AlertRuleTestRef,
    description: TEST_DESCRIPTION,
    // Never cached: it measures the rule now.
    extensions: { cacheTtlMs: 0 },
    args: { id: t.arg.globalID({ required: true, for: AlertRuleRef }) },
    authScopes: { authenticated: true },
    resolve: (_root, args, ctx) => testRule(ctx, args.id.id),
  }),
);

builder.relayMutationField(
  'testAlertRule',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: AlertRuleRef }) }) },
  {
    description: TEST_DESCRIPTION,
    resolve: async (_root, { input }, ctx) => ({ result: await testRule(ctx, input.id.id) }),
  },
  {
    outputFields: (t) => ({
      result: t.field({ type: AlertRuleTestRef, resolve: (p) => p.result }),
    }),
  },
);

builder.queryFields((t) => ({
  alertRules: t.prismaConnection(
    {
      type: 'AlertRule',
      cursor: 'id',
      description: "A project's alert rules, oldest first.",
      args: { projectId: t.arg.globalID({ required: true, for: ProjectRef }) },
      authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
      resolve: (query, _root, args, ctx) =>
        ctx.deps.db.prisma.alertRule.findMany({
          ...query,
          where: { projectId: args.projectId.id },
          orderBy: { id: 'asc' },
        }),
    },
    { name: 'AlertRuleConnection' },
    { name: 'AlertRuleEdge' },
  ),
  alertRule: t.prismaField({
    type: 'AlertRule',
    nullable: true,
    args: { id: t.arg.globalID({ required: true, for: AlertRuleRef }) },
    resolve: (query, _root, args, ctx) =>
      ctx.deps.db.prisma.alertRule
        .findUnique({ ...query, where: { id: args.id.id } })
        .then(found('AlertRule')),
  }),
}));
