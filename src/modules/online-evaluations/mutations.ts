// createEvaluationRule, updateEvaluationRule, deleteEvaluationRule and backfillEvaluationRule:
// changing a rule needs `write` on its project (ADMIN, DEVELOPER). A rule of another project
// answers NOT_FOUND, as a missing one does.
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { Context } from '../../context';
import { builder } from '../../schema/builder';
import { authorizeId } from '../auth/access';
import { ProjectRef } from '../projects/schema';
import { MAX_TRACES } from './backfill';
import { checkRule, ruleInputFields } from './input';
import { EvaluationRuleRef } from './schema';
import { recordAudit } from '../audit/record';

/** The rule, when the principal may change it. */
async function writableRule(ctx: Context, id: string) {
  await authorizeId(ctx, 'EvaluationRule', id, 'write', ['input', 'id']);
  return ctx.deps.db.prisma.evaluationRule.findUniqueOrThrow({ where: { id } });
}

builder.relayMutationField(
  'createEvaluationRule',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      ...ruleInputFields(t, true),
    }),
  },
  {
    description:
      'Starts judging live traffic: traces (or spans) ingested from now on that match the filter are sampled and judged once each.',
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'write' } }),
    resolve: async (_root, { input }, ctx) => {
      const data = checkRule({ ...input, projectId: undefined }, ctx.services.judge);
      return {
        rule: await ctx.services.evaluationRules.create(
          input.projectId.id,
          ctx.principal!.userId,
          data,
        ),
      };
    },
  },
  {
    outputFields: (t) => ({
      evaluationRule: t.field({ type: EvaluationRuleRef, resolve: (p) => p.rule }),
    }),
  },
);

builder.relayMutationField(
  'updateEvaluationRule',
  {
    inputFields: (t) => ({
      id: t.globalID({ required: true, for: EvaluationRuleRef }),
      ...ruleInputFields(t, false),
    }),
  },
  {
    description:
      'Changes the fields given (enabled: false stops it; its targets still waiting are canceled). An explicit null filter or variables restores the default; null delaySeconds restores 30.',
    resolve: async (_root, { input }, ctx) => {
      const rule = await writableRule(ctx, input.id.id);
      const given = Object.fromEntries(
        Object.entries({ ...input, id: undefined }).filter(([, v]) => v !== undefined),
      );
      const merged = {
        name: rule.name,
        target: rule.target,
        filter: rule.filter,
        samplingRate: rule.samplingRate,
        delaySeconds: rule.delaySeconds,
        testingCriteria: rule.testingCriteria,
        variables: rule.variables,
        enabled: rule.enabled,
        ...given,
      };
      if (merged.delaySeconds === null) merged.delaySeconds = 30;
      const data = checkRule(merged, ctx.services.judge);
      return { rule: await ctx.services.evaluationRules.update(rule, data) };
    },
  },
  {
    outputFields: (t) => ({
      evaluationRule: t.field({ type: EvaluationRuleRef, resolve: (p) => p.rule }),
    }),
  },
);

builder.relayMutationField(
  'deleteEvaluationRule',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: EvaluationRuleRef }) }) },
  {
    description: 'Deletes the rule and what it has queued. Its scores stay (without the rule).',
    resolve: async (_root, { input }, ctx) => {
      const rule = await writableRule(ctx, input.id.id);
      await ctx.services.evaluationRules.remove(rule, (tx) =>
        recordAudit(
          ctx,
          {
            action: 'evaluationRule.delete',
            projectId: rule.projectId,
            targetType: 'EvaluationRule',
            targetId: rule.id,
            details: { name: rule.name },
          },
          tx,
        ),
      );
      return { id: rule.id };
    },
  },
  {
    outputFields: (t) => ({
      deletedEvaluationRuleId: t.id({ resolve: (p) => encodeGlobalID('EvaluationRule', p.id) }),
    }),
  },
);

builder.relayMutationField(
  'backfillEvaluationRule',
  {
    inputFields: (t) => ({
      id: t.globalID({ required: true, for: EvaluationRuleRef }),
      from: t.field({
        type: 'DateTime',
        required: true,
        description: 'Traces started at or after.',
      }),
      to: t.field({ type: 'DateTime', required: true, description: 'Traces started before.' }),
    }),
  },
  {
    description: `Applies the rule to traces already stored that started in [from, to): the same filter and sampling as live traffic, and a trace (or span) already judged or queued is not queued again (those skipped by a budget or canceled by a disable are). At most ${MAX_TRACES} traces are read per call, oldest first: when nextFrom is set, call again from there.`,
    resolve: async (_root, { input }, ctx) => {
      const rule = await writableRule(ctx, input.id.id);
      const result = await ctx.services.evaluationRules.backfill(rule, input.from, input.to);
      return { rule, ...result };
    },
  },
  {
    outputFields: (t) => ({
      evaluationRule: t.field({ type: EvaluationRuleRef, resolve: (p) => p.rule }),
      scannedTraceCount: t.int({ resolve: (p) => p.scannedTraces }),
      queuedCount: t.int({
        description: 'Traces (or spans) sampled and queued to be judged by this call.',
        resolve: (p) => p.queued,
      }),
      nextFrom: t.field({
        type: 'DateTime',
        nullable: true,
        description: 'Set when the call stopped before `to`: call again with this as `from`.',
        resolve: (p) => p.nextFrom,
      }),
    }),
  },
);
