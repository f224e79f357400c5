// Online evaluation rules: creating, changing, deleting and backfilling them. Every change is
// announced to the rule caches of every process (rule-cache.ts) once it is stored, so ingest
// matches with the new rules within moments. Judging is the worker's (job.ts).
import type { Deps } from '../../deps';
import type { EvaluationRule, Prisma } from '../../generated/prisma/client';
import { appError, badInput } from '../../errors';
import { backfillRule } from './backfill';
import type { RuleData } from './input';
import { createRuleCache } from './rule-cache';
import { cancelPending } from './task-sql';

export const MAX_RULES_PER_PROJECT = 100;

const stored = (data: RuleData) => ({
  ...data,
  filter: data.filter as object,
  variables: data.variables as object,
  testingCriteria: data.testingCriteria as object,
});

export function createEvaluationRules(deps: Deps) {
  const { prisma } = deps.db;
  const cache = createRuleCache(deps);

  return {
    /** Matches each ingest batch against the project's rules (traces/service.ts). */
    ingestListener: cache.listener,

    async create(projectId: string, creatorId: string | null, data: RuleData) {
      if ((await prisma.evaluationRule.count({ where: { projectId } })) >= MAX_RULES_PER_PROJECT)
        throw appError(
          'QUOTA_EXCEEDED',
          `A project may have at most ${MAX_RULES_PER_PROJECT} online evaluation rules.`,
          { extensions: { quota: MAX_RULES_PER_PROJECT } },
        );
      const rule = await prisma.evaluationRule.create({
        data: { ...stored(data), projectId, creatorId },
      });
      cache.changed(projectId);
      return rule;
    },

    /** Stores the rule's new fields; a rule disabled now has its waiting targets canceled. */
    async update(rule: EvaluationRule, data: RuleData) {
      const updated = await prisma.evaluationRule.update({
        where: { id: rule.id },
        // Enabling (or changing) a paused rule does not resume it: the quota decides that.
        data: stored(data),
      });
      if (rule.enabled && !updated.enabled) await cancelPending(deps.db.query, rule.id);
      cache.changed(rule.projectId);
      return updated;
    },

    /** `within`: more writes of the same transaction (the audit entry). */
    async remove(rule: EvaluationRule, within?: (tx: Prisma.TransactionClient) => Promise<void>) {
      await prisma.$transaction(async (tx) => {
        await tx.evaluationRule.delete({ where: { id: rule.id } });
        await within?.(tx);
      });
      cache.changed(rule.projectId);
    },

    /** Queues the sampled targets of the traces that started in [from, to). */
    async backfill(rule: EvaluationRule, from: Date, to: Date) {
      if (!(from < to)) throw badInput('`from` must be before `to`.', ['input', 'to']);
      if (!rule.enabled)
        throw badInput('The rule is disabled: enable it before backfilling.', ['input', 'id']);
      return backfillRule(
        deps,
        {
          id: rule.id,
          projectId: rule.projectId,
          target: rule.target,
          samplingRate: rule.samplingRate,
          filter: rule.filter as RuleData['filter'],
        },
        { from, to },
      );
    },

    /** Stores the match counts not yet stored. */
    close: () => cache.close(),
  };
}

export type EvaluationRules = ReturnType<typeof createEvaluationRules>;
