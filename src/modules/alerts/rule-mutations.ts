// createAlertRule, updateAlertRule and deleteAlertRule: changing a rule needs `write` on its
// project (ADMIN, DEVELOPER). The input they share, and its checks, are in rule-input.ts.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { z } from 'zod';
import type { Context } from '../../context';
import { appError } from '../../errors';
import { parseInput } from '../../lib/validate';
import { builder } from '../../schema/builder';
import { authorizeRow } from '../auth/access';
import { ProjectRef } from '../projects/schema';
import type { AlertFilter } from './measure-sql';
import { alertChannelIds, checkRule, endpointIds, ruleFields, ruleInputFields } from './rule-input';
import { AlertRuleRef } from './rule-schema';
import { recordAudit } from '../audit/record';

const MAX_RULES_PER_PROJECT = 500;

builder.relayMutationField(
  'createAlertRule',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      ...ruleInputFields(t as never, true),
    }),
  },
  {
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'write' } }),
    resolve: async (_root, { input }, ctx) => {
      const projectId = input.projectId.id;
      const parsed = parseInput(z.object(ruleFields), {
        ...input,
        projectId: undefined,
        channels: endpointIds(input.channels as string[] | null),
        channelIds: alertChannelIds(input.channelIds as string[] | null),
      });
      const data = await checkRule(ctx, projectId, parsed);
      if (
        (await ctx.deps.db.prisma.alertRule.count({ where: { projectId } })) >=
        MAX_RULES_PER_PROJECT
      ) {
        throw appError(
          'QUOTA_EXCEEDED',
          `A project may have at most ${MAX_RULES_PER_PROJECT} alert rules.`,
          { extensions: { quota: MAX_RULES_PER_PROJECT } },
        );
      }
      return {
        rule: await ctx.deps.db.prisma.alertRule.create({
          data: { ...data, projectId, nextEvaluationAt: ctx.deps.clock.now() },
        }),
      };
    },
  },
  { outputFields: (t) => ({ alertRule: t.field({ type: AlertRuleRef, resolve: (p) => p.rule }) }) },
);

/** The rule's project when the principal may change it. */
async function writableRule(ctx: Context, id: string) {
  return authorizeRow(
    ctx,
    await ctx.deps.db.prisma.alertRule.findUnique({ where: { id } }),
    'write',
    'Alert rule',
  );
}

builder.relayMutationField(
  'updateAlertRule',
  {
    inputFields: (t) => ({
      id: t.globalID({ required: true, for: AlertRuleRef }),
      ...ruleInputFields(t as never, false),
    }),
  },
  {
    description:
      'Changes the fields given; the rule is checked again at once. Its state and history stay.',
    resolve: async (_root, { input }, ctx) => {
      const rule = await writableRule(ctx, input.id.id);
      // Omitted fields stay; an explicit null clears a nullable one (description, warningThreshold)
      // or restores a default (intervalSeconds, minSamples, noData, cooldownSeconds, channels,
      // channelIds, severity).
      const given = Object.fromEntries(
        Object.entries({
          ...input,
          id: undefined,
          channels:
            input.channels === null ? null : endpointIds(input.channels as string[] | undefined),
          channelIds:
            input.channelIds === null
              ? null
              : alertChannelIds(input.channelIds as string[] | undefined),
        }).filter(([, v]) => v !== undefined),
      );
      const merged = { ...rule, filter: rule.filter as AlertFilter, ...given };
      // Turned into ANOMALY: the threshold it had goes (ANOMALY takes none).
      if (merged.operator === 'ANOMALY' && input.threshold === undefined) merged.threshold = null;
      const parsed = parseInput(z.object(ruleFields), merged);
      const data = await checkRule(ctx, rule.projectId, parsed);
      // Regrouped: the old groups' states mean nothing now; what was firing is resolved (and said so).
      const regrouped = data.groupBy !== rule.groupBy;
      if (regrouped)
        await ctx.services.alertRules.resolveDisabled(rule.id, 'The rule’s groupBy changed.');
      const prisma = ctx.deps.db.prisma;
      if (regrouped) await prisma.alertRuleGroup.deleteMany({ where: { ruleId: rule.id } });
      const updated = await prisma.alertRule.update({
        where: { id: rule.id },
        data: {
          ...data,
          ...(regrouped ? { truncatedGroups: null } : {}),
          nextEvaluationAt: ctx.deps.clock.now(),
        },
      });
      // Disabled while warning or firing: resolved now, or it would stay firing for good.
      if (!updated.enabled && (await ctx.services.alertRules.resolveDisabled(rule.id))) {
        return {
          rule: await ctx.deps.db.prisma.alertRule.findUniqueOrThrow({ where: { id: rule.id } }),
        };
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
      await ctx.deps.db.prisma.$transaction(async (tx) => {
        await tx.alertRule.delete({ where: { id: rule.id } });
        await recordAudit(
          ctx,
          {
            action: 'alertRule.delete',
            projectId: rule.projectId,
            targetType: 'AlertRule',
            targetId: rule.id,
            details: { name: rule.name },
          },
          tx,
        );
      });
      return { id: rule.id };
    },
  },
  {
    outputFields: (t) => ({
      deletedAlertRuleId: t.id({ resolve: (p) => encodeGlobalID('AlertRule', p.id) }),
    }),
  },
);
