// What an alert rule's input means: the GraphQL input fields shared by createAlertRule and
// updateAlertRule, their zod bounds, and checkRule (the fields together: aggregations and filters
// the metric allows, the costs right, the thresholds or the ANOMALY settings, groupBy, the
// channels). Separate from the
// mutations so that they read as what they do with a checked rule.
import { z } from 'zod';
import type { Context } from '../../context';
import { badInput, notFound } from '../../errors';
import {
  AlertAggregation,
  AlertGroupBy,
  AlertMetric,
  AlertNoDataState,
  AlertOperator,
  AlertSeverity,
} from '../../generated/prisma/enums';
import { uuidOfGlobalId } from '../../lib/ids';
import { builder } from '../../schema/builder';
import { authorize } from '../auth/access';
import { ScoreSourceEnum } from '../scores/schema';
import { SpanKindEnum } from '../traces/schema';
import type { AlertFilter } from './measure-sql';
import { defaultMinSamples, descriptions, METRICS, SOURCES } from './metrics';
import {
  AlertAggregationEnum,
  AlertMetricEnum,
  AlertNoDataEnum,
  AlertOperatorEnum,
  AlertSeverityEnum,
} from './rule-schema';
import { warningProblem } from './rules';
import { AlertGroupByEnum } from './schema';

/** The longest history an ANOMALY rule reads: (anomalyPeriods + 1) windows. */
const MAX_ANOMALY_LOOKBACK_SECONDS = 366 * 86_400;

const AlertFilterInput = builder.inputType('AlertFilterInput', {
  description:
    'Span metrics: model, spanKind, userId (end user), tags (all of them). Evaluation metrics: evaluationName, grader. SCORE: scoreName (required), scoreSource.',
  fields: (t) => ({
    model: t.string({
      description:
        'Compared normalised (Span.normalizedModel): gpt-4o matches gpt-4o-2024-08-06 and azure/gpt-4o.',
    }),
    spanKind: t.field({ type: SpanKindEnum }),
    userId: t.string(),
    tags: t.stringList(),
    evaluationName: t.string(),
    grader: t.string(),
    scoreName: t.string(),
    scoreSource: t.field({ type: ScoreSourceEnum }),
  }),
});

const name = z.string().trim().min(1, 'must not be empty').max(200);
export const ruleFields = {
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
      scoreName: z.string().min(1).max(200).nullish(),
      scoreSource: z.string().nullish(),
    })
    .nullish(),
  operator: z.enum(AlertOperator),
  threshold: z.number().finite().nullish(),
  warningThreshold: z.number().finite().nullish(),
  windowSeconds: z
    .number()
    .int()
    .min(10)
    .max(30 * 86_400),
  intervalSeconds: z.number().int().min(10).max(86_400).nullish(),
  minSamples: z.number().int().min(0).max(1_000_000).nullish(),
  noData: z.enum(AlertNoDataState).nullish(),
  cooldownSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .nullish(),
  channels: z.array(z.string()).max(20).nullish(),
  channelIds: z.array(z.string()).max(20).nullish(),
  severity: z.enum(AlertSeverity).nullish(),
  enabled: z.boolean().nullish(),
  groupBy: z.enum(AlertGroupBy).nullish(),
  anomalyK: z.number().finite().gt(0, 'must be above 0').max(1_000).nullish(),
  anomalyPeriods: z.number().int().min(3).max(100).nullish(),
};
type RuleInput = z.infer<z.ZodObject<typeof ruleFields>>;

/** Checks what the fields mean together; returns the columns to store. */
export async function checkRule(ctx: Context, projectId: string, r: RuleInput) {
  // Alerting on money measures it: the rule's values would tell its author the project's costs.
  const metric = METRICS[r.metric];
  if (metric.costs) await authorize(ctx, projectId, 'costs');
  if (!metric.aggregations.includes(r.aggregation))
    throw badInput(`${r.metric} takes ${metric.aggregations.join(' or ')}, not ${r.aggregation}.`, [
      'input',
      'aggregation',
    ]);
  const filter = Object.fromEntries(
    Object.entries(r.filter ?? {}).filter(
      ([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && !v.length),
    ),
  ) as AlertFilter;
  const allowed: readonly string[] = SOURCES[metric.source].filters;
  const wrong = Object.keys(filter).find((k) => !allowed.includes(k));
  if (wrong)
    throw badInput(`filter.${wrong} does not apply to ${r.metric}.`, ['input', 'filter', wrong]);
  const missing = metric.requires?.find((k) => filter[k] === undefined);
  if (missing) throw badInput(`${r.metric} needs filter.${missing}.`, ['input', 'filter', missing]);
  const anomaly = r.operator === 'ANOMALY';
  const threshold = r.threshold ?? null;
  if (anomaly && threshold !== null)
    throw badInput('ANOMALY takes no threshold: its bounds come from the history.', [
      'input',
      'threshold',
    ]);
  if (!anomaly && threshold === null)
    throw badInput(`${r.operator} needs a threshold.`, ['input', 'threshold']);
  const anomalyPeriods = r.anomalyPeriods ?? 7;
  if (anomaly && (anomalyPeriods + 1) * r.windowSeconds > MAX_ANOMALY_LOOKBACK_SECONDS)
    throw badInput(
      `(anomalyPeriods + 1) × windowSeconds may be at most ${MAX_ANOMALY_LOOKBACK_SECONDS} s (366 days) of history.`,
      ['input', 'anomalyPeriods'],
    );
  if (r.groupBy && metric.source !== 'spans')
    throw badInput(`groupBy applies to span metrics, not ${r.metric}.`, ['input', 'groupBy']);
  const warning = warningProblem(r.operator, threshold ?? 0, r.warningThreshold ?? null);
  if (warning) throw badInput(`warningThreshold: ${warning}.`, ['input', 'warningThreshold']);
  const channels = r.channels ?? [];
  if (channels.length) {
    const found = await ctx.deps.db.prisma.webhookEndpoint.count({
      where: { id: { in: channels }, projectId },
    });
    if (found !== new Set(channels).size)
      throw notFound('A channel (webhook endpoint of the project)', ['input', 'channels']);
  }
  // Alert channels of this project only: another project's channel is as missing as none.
  const channelIds = [...new Set(r.channelIds ?? [])];
  if (channelIds.length) {
    const found = await ctx.deps.db.prisma.alertChannel.count({
      where: { id: { in: channelIds }, projectId },
    });
    if (found !== channelIds.length)
      throw notFound('An alert channel of the project', ['input', 'channelIds']);
  }
  return {
    name: r.name,
    description: r.description ?? null,
    metric: r.metric,
    aggregation: r.aggregation,
    filter: filter as object,
    operator: r.operator,
    threshold,
    warningThreshold: r.warningThreshold ?? null,
    windowSeconds: r.windowSeconds,
    intervalSeconds: r.intervalSeconds ?? 30,
    minSamples: r.minSamples ?? defaultMinSamples(r.metric),
    noData: r.noData ?? 'KEEP',
    cooldownSeconds: r.cooldownSeconds ?? 300,
    channels: [...new Set(channels)],
    channelIds,
    severity: r.severity ?? 'ERROR',
    enabled: r.enabled ?? true,
    groupBy: r.groupBy ?? null,
    anomalyK: r.anomalyK ?? 3,
    anomalyPeriods,
  };
}

export const ruleInputFields = (
  t: PothosSchemaTypes.InputFieldBuilder<
    PothosSchemaTypes.ExtendDefaultTypes<never>,
    'InputObject'
  >,
  required: boolean,
) => ({
  name: t.string({ required }),
  description: t.string(),
  metric: t.field({ type: AlertMetricEnum, required }),
  aggregation: t.field({ type: AlertAggregationEnum, required }),
  filter: t.field({ type: AlertFilterInput }),
  operator: t.field({ type: AlertOperatorEnum, required }),
  threshold: t.float({ description: 'Required, except for ANOMALY (which takes none).' }),
  warningThreshold: t.float({
    description: 'Reached first, in the operator’s direction: WARNING before FIRING.',
  }),
  windowSeconds: t.int({
    required,
    description: 'The window measured, ending now (10 s to 30 days).',
  }),
  intervalSeconds: t.int({ description: 'How often it is checked (default 30 s).' }),
  minSamples: t.int({ description: descriptions.minSamples }),
  noData: t.field({ type: AlertNoDataEnum, description: 'Default KEEP.' }),
  cooldownSeconds: t.int({ description: 'Default 300.' }),
  channels: t.idList({ description: 'Webhook endpoint ids of the project.' }),
  channelIds: t.idList({
    description: 'Alert channel ids of the project (Slack, PagerDuty, email) to notify too.',
  }),
  severity: t.field({ type: AlertSeverityEnum, description: 'Default ERROR.' }),
  enabled: t.boolean({ description: 'Default true.' }),
  groupBy: t.field({
    type: AlertGroupByEnum,
    description:
      'One state per user, model or span kind (span metrics; at most 1,000 groups, the highest values kept). null: one state for the rule.',
  }),
  anomalyK: t.float({ description: 'ANOMALY: MADs from the median allowed (above 0; default 3).' }),
  anomalyPeriods: t.int({
    description: 'ANOMALY: previous windows the baseline is taken from (3 to 100; default 7).',
  }),
});

/** Raw ids of AlertChannel global ids (anything else is refused). */
export function alertChannelIds(
  ids: readonly (string | number)[] | null | undefined,
): string[] | undefined {
  if (!ids) return undefined;
  return ids.map((id, i) => {
    const raw = uuidOfGlobalId(String(id), 'AlertChannel');
    if (!raw) throw badInput('Not an alert channel id.', ['input', 'channelIds', i]);
    return raw;
  });
}

/** Raw ids of WebhookEndpoint global ids (anything else is refused). */
export function endpointIds(
  ids: readonly (string | number)[] | null | undefined,
): string[] | undefined {
  if (!ids) return undefined;
  return ids.map((id, i) => {
    const raw = uuidOfGlobalId(String(id), 'WebhookEndpoint');
    if (!raw) throw badInput('Not a webhook endpoint id.', ['input', 'channels', i]);
    return raw;
  });
}
