// Alert rules: the AlertRule type, `alertRules` / `alertRule`, and createAlertRule,
// updateAlertRule, deleteAlertRule, testAlertRule. Reading needs `read` on the project, changing
// needs `write` (ADMIN, DEVELOPER).
import { encodeGlobalID } from '@pothos/plugin-relay';
import { z } from 'zod';
import type { Context } from '../../context';
import { appError, badInput, found, notFound } from '../../errors';
import { AlertAggregation, AlertMetric, AlertNoDataState, AlertOperator, type AlertState } from '../../generated/prisma/enums';
import { uuidOfGlobalId } from '../../lib/ids';
import { parseInput } from '../../lib/validate';
import { builder } from '../../schema/builder';
import { authorize, authorizeRow } from '../auth/access';
import { projectScope } from '../auth/permissions';
import { ProjectRef } from '../projects/schema';
import { SpanKindEnum } from '../traces/schema';
import { WebhookEndpointRef } from '../webhooks/schema';
import type { AlertFilter } from './measure-sql';
import { defaultMinSamples, descriptions, METRICS, SOURCES } from './metrics';
import { warningProblem } from './rules';
import { AlertEventConnection, AlertEventRef, AlertStateEnum, eventsConnection, measured } from './schema';

const MAX_RULES_PER_PROJECT = 500;
const AlertMetricEnum = builder.enumType(AlertMetric, { name: 'AlertMetric', description: descriptions.metric });
const AlertAggregationEnum = builder.enumType(AlertAggregation, { name: 'AlertAggregation', description: descriptions.aggregation });
const AlertOperatorEnum = builder.enumType(AlertOperator, { name: 'AlertOperator', description: 'GT >, GTE >=, LT <, LTE <=, EQ =, NEQ !=' });
const AlertNoDataEnum = builder.enumType(AlertNoDataState, { name: 'AlertNoDataState', description: 'What a window without enough samples means: OK, KEEP (the state stays), FIRING.' });

const AlertFilterRef = builder.objectRef<AlertFilter>('AlertFilter').implement({
  fields: (t) => ({
    model: t.exposeString('model', { nullable: true }),
    spanKind: t.field({ type: SpanKindEnum, nullable: true, resolve: (f) => (f.spanKind ?? null) as never }),
    userId: t.exposeString('userId', { nullable: true }),
    tags: t.exposeStringList('tags', { nullable: true }),
    evaluationName: t.exposeString('evaluationName', { nullable: true }),
    grader: t.exposeString('grader', { nullable: true }),
  }),
});

const AlertFilterInput = builder.inputType('AlertFilterInput', {
  description: 'Span metrics: model, spanKind, userId (end user), tags (all of them). Evaluation metrics: evaluationName, grader.',
  fields: (t) => ({
    model: t.string({ description: 'Compared normalised (Span.normalizedModel): gpt-4o matches gpt-4o-2024-08-06 and azure/gpt-4o.' }),
    spanKind: t.field({ type: SpanKindEnum }),
    userId: t.string(),
    tags: t.stringList(),
    evaluationName: t.string(),
    grader: t.string(),
  }),
});

export const AlertRuleRef = builder.prismaNode('AlertRule', {
  // Workers change rules at each check: kept briefly (and dropped when one changes state).
  extensions: { cacheTtlMs: 5_000 },
  // Loaded with findUnique: a missing node is null (then NOT_FOUND), not a thrown Prisma error.
  nullable: true,
  id: { field: 'id' },
  description: 'A condition on a project’s traces or evaluation results, checked every intervalSeconds over the last windowSeconds.',
  authScopes: projectScope('read'),
  fields: (t) => ({
    project: t.relation('project'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    metric: t.expose('metric', { type: AlertMetricEnum }),
    aggregation: t.expose('aggregation', { type: AlertAggregationEnum }),
    filter: t.field({ type: AlertFilterRef, select: { filter: true }, resolve: (r) => (r.filter ?? {}) as AlertFilter }),
    operator: t.expose('operator', { type: AlertOperatorEnum }),
    threshold: t.exposeFloat('threshold'),
    warningThreshold: t.exposeFloat('warningThreshold', { nullable: true }),
    windowSeconds: t.exposeInt('windowSeconds'),
    intervalSeconds: t.exposeInt('intervalSeconds'),
    minSamples: t.exposeInt('minSamples', { description: 'Fewer samples in the window count as no data.' }),
    noData: t.expose('noData', { type: AlertNoDataEnum }),
    cooldownSeconds: t.exposeInt('cooldownSeconds', { description: 'A warning or firing is not sent again within this time.' }),
    channels: t.field({
      type: [WebhookEndpointRef],
      description: 'Webhook endpoints notified (none: every endpoint of the project subscribed to alert.fired / alert.resolved). alertFired subscribers always are.',
      select: { channels: true },
      resolve: (r, _a, ctx) => (r.channels.length ? ctx.deps.db.prisma.webhookEndpoint.findMany({ where: { id: { in: r.channels } }, orderBy: { id: 'asc' } }) : []),
    }),
    enabled: t.exposeBoolean('enabled'),
    state: t.expose('state', { type: AlertStateEnum }),
    lastValue: t.float({
      nullable: true,
      description: 'The value last measured. A COST value needs the BILLING or ADMIN role.',
      select: { lastValue: true, metric: true, projectId: true },
      resolve: (r, _args, ctx) => measured(ctx, { projectId: r.projectId, metric: r.metric, value: r.lastValue }),
    }),
    lastEvaluatedAt: t.expose('lastEvaluatedAt', { type: 'DateTime', nullable: true }),
    nextEvaluationAt: t.expose('nextEvaluationAt', { type: 'DateTime' }),
    lastFiredAt: t.expose('lastFiredAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    events: t.connection({ type: AlertEventRef, description: 'Its state changes, newest first.', resolve: (r, args, ctx) => eventsConnection(ctx, { ruleId: r.id }, args) }, AlertEventConnection),
  }),
});

const name = z.string().trim().min(1, 'must not be empty').max(200);
const ruleFields = {
  name,
  description: z.string().max(2_000).nullish(),
  metric: z.enum(AlertMetric),
  aggregation: z.enum(AlertAggregation),
  filter: z
    .object({
      model: z.string().min(1).max(200).nullish(),
      spanKind: z.string().nullish(),
      userId: z.string().min(1).max(200).nullish(),
      tags: z.array(z.string().min(1).max(200)).max(20).nullish(),
      evaluationName: z.string().min(1).max(200).nullish(),
      grader: z.string().min(1).max(200).nullish(),
    })
    .nullish(),
  operator: z.enum(AlertOperator),
  threshold: z.number().finite(),
  warningThreshold: z.number().finite().nullish(),
  windowSeconds: z.number().int().min(10).max(30 * 86_400),
  intervalSeconds: z.number().int().min(10).max(86_400).nullish(),
  minSamples: z.number().int().min(0).max(1_000_000).nullish(),
  noData: z.enum(AlertNoDataState).nullish(),
  cooldownSeconds: z.number().int().min(0).max(7 * 86_400).nullish(),
  channels: z.array(z.string()).max(20).nullish(),
  enabled: z.boolean().nullish(),
};
type RuleInput = z.infer<z.ZodObject<typeof ruleFields>>;

/** Checks what the fields mean together; returns the columns to store. */
async function checkRule(ctx: Context, projectId: string, r: RuleInput) {
  // Alerting on money measures it: the rule's values would tell its author the project's costs.
  const metric = METRICS[r.metric];
  if (metric.costs) await authorize(ctx, projectId, 'costs');
  if (!metric.aggregations.includes(r.aggregation)) throw badInput(`${r.metric} takes ${metric.aggregations.join(' or ')}, not ${r.aggregation}.`, ['input', 'aggregation']);
  const filter = Object.fromEntries(Object.entries(r.filter ?? {}).filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && !v.length))) as AlertFilter;
  const allowed: readonly string[] = SOURCES[metric.source].filters;
  const wrong = Object.keys(filter).find((k) => !allowed.includes(k));
  if (wrong) throw badInput(`filter.${wrong} does not apply to ${r.metric}.`, ['input', 'filter', wrong]);
  const warning = warningProblem(r.operator, r.threshold, r.warningThreshold ?? null);
  if (warning) throw badInput(`warningThreshold: ${warning}.`, ['input', 'warningThreshold']);
  const channels = r.channels ?? [];
  if (channels.length) {
    const found = await ctx.deps.db.prisma.webhookEndpoint.count({ where: { id: { in: channels }, projectId } });
    if (found !== new Set(channels).size) throw notFound('A channel (webhook endpoint of the project)', ['input', 'channels']);
  }
  return {
    name: r.name,
    description: r.description ?? null,
    metric: r.metric,
    aggregation: r.aggregation,
    filter: filter as object,
    operator: r.operator,
    threshold: r.threshold,
    warningThreshold: r.warningThreshold ?? null,
    windowSeconds: r.windowSeconds,
    intervalSeconds: r.intervalSeconds ?? 30,
    minSamples: r.minSamples ?? defaultMinSamples(r.metric),
    noData: r.noData ?? 'KEEP',
    cooldownSeconds: r.cooldownSeconds ?? 300,
    channels: [...new Set(channels)],
    enabled: r.enabled ?? true,
  };
}

const ruleInputFields = (t: PothosSchemaTypes.InputFieldBuilder<PothosSchemaTypes.ExtendDefaultTypes<never>, 'InputObject'>, required: boolean) => ({
  name: t.string({ required }),
  description: t.string(),
  metric: t.field({ type: AlertMetricEnum, required }),
  aggregation: t.field({ type: AlertAggregationEnum, required }),
  filter: t.field({ type: AlertFilterInput }),
  operator: t.field({ type: AlertOperatorEnum, required }),
  threshold: t.float({ required }),
  warningThreshold: t.float({ description: 'Reached first, in the operator’s direction: WARNING before FIRING.' }),
  windowSeconds: t.int({ required, description: 'The window measured, ending now (10 s to 30 days).' }),
  intervalSeconds: t.int({ description: 'How often it is checked (default 30 s).' }),
  minSamples: t.int({ description: descriptions.minSamples }),
  noData: t.field({ type: AlertNoDataEnum, description: 'Default KEEP.' }),
  cooldownSeconds: t.int({ description: 'Default 300.' }),
  channels: t.idList({ description: 'Webhook endpoint ids of the project.' }),
  enabled: t.boolean({ description: 'Default true.' }),
});

/** Raw ids of WebhookEndpoint global ids (anything else is refused). */
function endpointIds(ids: readonly (string | number)[] | null | undefined): string[] | undefined {
  if (!ids) return undefined;
  return ids.map((id, i) => {
    const raw = uuidOfGlobalId(String(id), 'WebhookEndpoint');
    if (!raw) throw badInput('Not a webhook endpoint id.', ['input', 'channels', i]);
    return raw;
  });
}

builder.relayMutationField(
  'createAlertRule',
  { inputFields: (t) => ({ projectId: t.globalID({ required: true, for: ProjectRef }), ...ruleInputFields(t as never, true) }) },
  {
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'write' } }),
    resolve: async (_root, { input }, ctx) => {
      const projectId = input.projectId.id;
      const parsed = parseInput(z.object(ruleFields), { ...input, projectId: undefined, channels: endpointIds(input.channels as string[] | null) });
      const data = await checkRule(ctx, projectId, parsed);
      if ((await ctx.deps.db.prisma.alertRule.count({ where: { projectId } })) >= MAX_RULES_PER_PROJECT) {
        throw appError('QUOTA_EXCEEDED', `A project may have at most ${MAX_RULES_PER_PROJECT} alert rules.`, { extensions: { quota: MAX_RULES_PER_PROJECT } });
      }
      return { rule: await ctx.deps.db.prisma.alertRule.create({ data: { ...data, projectId, nextEvaluationAt: ctx.deps.clock.now() } }) };
    },
  },
  { outputFields: (t) => ({ alertRule: t.field({ type: AlertRuleRef, resolve: (p) => p.rule }) }) },
);

/** The rule's project when the principal may change it. */
async function writableRule(ctx: Context, id: string) {
  return authorizeRow(ctx, await ctx.deps.db.prisma.alertRule.findUnique({ where: { id } }), 'write', 'Alert rule');
}

builder.relayMutationField(
  'updateAlertRule',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: AlertRuleRef }), ...ruleInputFields(t as never, false) }) },
  {
    description: 'Changes the fields given; the rule is checked again at once. Its state and history stay.',
    resolve: async (_root, { input }, ctx) => {
      const rule = await writableRule(ctx, input.id.id);
      // Omitted fields stay; an explicit null clears a nullable one (description, warningThreshold)
      // or restores a default (intervalSeconds, minSamples, noData, cooldownSeconds, channels).
      const given = Object.fromEntries(Object.entries({ ...input, id: undefined, channels: input.channels === null ? null : endpointIds(input.channels as string[] | undefined) }).filter(([, v]) => v !== undefined));
      const merged = { ...rule, filter: rule.filter as AlertFilter, ...given };
      const parsed = parseInput(z.object(ruleFields), merged);
      const data = await checkRule(ctx, rule.projectId, parsed);
      const updated = await ctx.deps.db.prisma.alertRule.update({ where: { id: rule.id }, data: { ...data, nextEvaluationAt: ctx.deps.clock.now() } });
      // Disabled while warning or firing: resolved now, or it would stay firing for good.
      if (!updated.enabled && (await ctx.services.alertRules.resolveDisabled(rule.id))) {
        return { rule: await ctx.deps.db.prisma.alertRule.findUniqueOrThrow({ where: { id: rule.id } }) };
      }
      return { rule: updated };
    },
  },
  { outputFields: (t) => ({ alertRule: t.field({ type: AlertRuleRef, resolve: (p) => p.rule }) }) },
);

builder.relayMutationField(
  'deleteAlertRule',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: AlertRuleRef }) }) },
  {
    description: 'Deletes the rule and its history.',
    resolve: async (_root, { input }, ctx) => {
      const rule = await writableRule(ctx, input.id.id);
      await ctx.deps.db.prisma.alertRule.delete({ where: { id: rule.id } });
      return { id: rule.id };
    },
  },
  { outputFields: (t) => ({ deletedAlertRuleId: t.id({ resolve: (p) => encodeGlobalID('AlertRule', p.id) }) }) },
);

const AlertRuleTestRef = builder
  .objectRef<{ value: number | null; metric: AlertMetric; projectId: string; samples: number; windowStart: Date; windowEnd: Date; state: AlertState; nextState: AlertState | null }>('AlertRuleTest')
  .implement({
    description: 'What the rule measures now. Nothing is recorded or sent.',
    fields: (t) => ({
      value: t.float({ nullable: true, description: 'null: no samples to aggregate. A COST value needs the BILLING or ADMIN role.', resolve: (r, _args, ctx) => measured(ctx, r) }),
      samples: t.exposeInt('samples'),
      windowStart: t.expose('windowStart', { type: 'DateTime' }),
      windowEnd: t.expose('windowEnd', { type: 'DateTime' }),
      state: t.field({ type: AlertStateEnum, description: 'Its state now.', resolve: (r) => r.state }),
      wouldBecome: t.field({ type: AlertStateEnum, description: 'Its state if it were evaluated now.', resolve: (r) => r.nextState ?? r.state }),
    }),
  });

/** The rule measured now, when the principal may read it. */
async function testRule(ctx: Context, id: string) {
  authorizeRow(ctx, await ctx.deps.db.prisma.alertRule.findUnique({ where: { id }, select: { projectId: true } }), 'read', 'Alert rule');
  const result = await ctx.services.alertRules.test(id);
  if (!result) throw notFound('Alert rule'); // deleted meanwhile
  return result;
}

const TEST_DESCRIPTION = 'Measures the rule now and returns the value, without firing or recording anything.';

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
  { description: TEST_DESCRIPTION, resolve: async (_root, { input }, ctx) => ({ result: await testRule(ctx, input.id.id) }) },
  { outputFields: (t) => ({ result: t.field({ type: AlertRuleTestRef, resolve: (p) => p.result }) }) },
);

builder.queryFields((t) => ({
  alertRules: t.prismaConnection(
    {
      type: 'AlertRule',
      cursor: 'id',
      description: "A project's alert rules, oldest first.",
      args: { projectId: t.arg.globalID({ required: true, for: ProjectRef }) },
      authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
      resolve: (query, _root, args, ctx) => ctx.deps.db.prisma.alertRule.findMany({ ...query, where: { projectId: args.projectId.id }, orderBy: { id: 'asc' } }),
    },
    { name: 'AlertRuleConnection' },
    { name: 'AlertRuleEdge' },
  ),
  alertRule: t.prismaField({
    type: 'AlertRule',
    nullable: true,
    args: { id: t.arg.globalID({ required: true, for: AlertRuleRef }) },
    resolve: (query, _root, args, ctx) => ctx.deps.db.prisma.alertRule.findUnique({ ...query, where: { id: args.id.id } }).then(found('AlertRule')),
  }),
}));
