// Daily budgets of a project, over and above its members' own quotas: evaluations started, judge
// tokens and judge cost (USD) per UTC day, for everyone in the project together. Project admins
// set them (`setProjectBudget`); the evaluation engine enforces them with the users' quotas.
import { z } from 'zod';
import { parseInput } from '../../lib/validate';
import { builder } from '../../schema/builder';
import { ProjectRef } from '../projects/schema';
import { DailyQuotaRef } from './schema';
import { recordAudit } from '../audit/record';

const budgetInput = z.object({
  evaluationsPerDay: z.number().int().min(0).max(10_000_000).nullish(),
  judgeTokensPerDay: z.number().int().min(0).max(1e15).nullish(),
  judgeCostPerDay: z
    .string()
    .regex(/^\d{1,12}(\.\d{1,10})?$/, 'a USD amount such as "25.00"')
    .nullish(),
});

builder.objectField(ProjectRef, 'budget', (t) =>
  t.field({
    type: DailyQuotaRef,
    description:
      'What the whole project may spend per UTC day (null fields: no limit; requests are limited per user).',
    authScopes: (project) => ({ project: { id: project.id, action: 'costs' } }),
    resolve: (project, _args, ctx) => ctx.services.quotas.projectBudget(project.id),
  }),
);

builder.relayMutationField(
  'setProjectBudget',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      evaluationsPerDay: t.int({ description: 'null: no limit.' }),
      judgeTokensPerDay: t.field({ type: 'SafeInt', description: 'null: no limit.' }),
      judgeCostPerDay: t.field({ type: 'Decimal', description: 'USD; null: no limit.' }),
    }),
  },
  {
    description:
      "Sets the project's daily budget (its admins). Every field is set: one left null removes that limit.",
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'manage' } }),
    resolve: async (_root, { input }, ctx) => {
      const data = parseInput(budgetInput, input);
      const project = await ctx.deps.db.prisma.project.findUniqueOrThrow({
        where: { id: input.projectId.id },
        select: { limits: true },
      });
      const daily = {
        ...(data.evaluationsPerDay != null ? { evaluations: data.evaluationsPerDay } : {}),
        ...(data.judgeTokensPerDay != null ? { judgeTokens: data.judgeTokensPerDay } : {}),
        ...(data.judgeCostPerDay != null ? { judgeCost: data.judgeCostPerDay } : {}),
      };
      const limits = { ...((project.limits as object | null) ?? {}), daily };
      const updated = await ctx.deps.db.prisma.$transaction(async (tx) => {
        await recordAudit(
          ctx,
          {
            action: 'budget.set',
            projectId: input.projectId.id,
            targetType: 'Project',
            targetId: input.projectId.id,
            details: { daily },
          },
          tx,
        );
        return tx.project.update({ where: { id: input.projectId.id }, data: { limits } });
      });
      return { project: updated };
    },
  },
  {
    outputFields: (t) => ({
      project: t.field({ type: ProjectRef, resolve: (p) => p.project }),
    }),
  },
);
