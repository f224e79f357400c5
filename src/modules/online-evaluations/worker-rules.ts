// Rules as the online evaluation job runs them: graders parsed from the stored testing criteria
// (G-Eval steps generated once and stored compare-and-set, so every worker uses the same), the
// variables mapping, and whether the rule is paused. Kept per process and read again when the
// rule's updated_at (which every task claimed carries) changes.
import { setMaxListeners } from 'node:events';
import type { Deps } from '../../deps';
import type { CostService } from '../costs/service';
import { type GraderSpec, parseTestingCriteria } from '../graders/definitions';
import { needsJudge, needsPreparation } from '../graders/grade';
import { prepareStored } from '../evaluations/preparation';
import type { Judge } from '../providers/router';
import { DEFAULT_VARIABLES, type Variables, variablesSchema } from './variables';

export interface RunningRule {
  id: string;
  projectId: string;
  creatorId: string | null;
  target: 'TRACE' | 'SPAN';
  graders: GraderSpec[];
  variables: Variables;
  /** Whether any grader calls a judge (then quotas and budgets apply). */
  judged: boolean;
  version: string;
  /** Why it is paused, as this worker last saw or set it. */
  pausedReason: string | null;
  /** Whether a quota or budget limits its judges at all; re-read every few seconds. */
  judgeQuota: boolean;
  judgeQuotaAt: number;
}

/** The stored testing criteria no longer parse: the rule's tasks cannot be judged. */
export class InvalidRuleError extends Error {}

interface RuleRow {
  id: string;
  project_id: string;
  creator_id: string | null;
  target: 'TRACE' | 'SPAN';
  testing_criteria: unknown;
  variables: unknown;
  paused_reason: string | null;
}

function gradersOf(stored: unknown): GraderSpec[] {
  const { graders, problems } = parseTestingCriteria(stored);
  if (problems.length)
    throw new InvalidRuleError(`stored testing criteria are invalid: ${problems[0].message}`);
  return graders;
}

export function createWorkerRules(deps: Deps, services: { costs: CostService; judge: Judge }) {
  const { db } = deps;
  const loaded = new Map<string, { version: string; rule: Promise<RunningRule | null> }>();
  // Aborted when the worker stops: judge calls made for a rule rather than a task (G-Eval steps).
  const stopping = new AbortController();
  setMaxListeners(100, stopping.signal);

  async function load(id: string, version: string): Promise<RunningRule | null> {
    const [row] = await db.query<RuleRow>(
      `SELECT id::text, project_id::text, creator_id::text, target::text, testing_criteria, variables, paused_reason
       FROM evaluation_rules WHERE id = $1::uuid`,
      [id],
    );
    if (!row) return null;
    const graders = gradersOf(row.testing_criteria);
    const variables = variablesSchema.safeParse(row.variables ?? {});
    const rule: RunningRule = {
      id,
      projectId: row.project_id,
      creatorId: row.creator_id,
      target: row.target,
      graders,
      variables: variables.success ? variables.data : DEFAULT_VARIABLES,
      judged: graders.some(needsJudge),
      version,
      pausedReason: row.paused_reason,
      judgeQuota: false,
      judgeQuotaAt: 0,
    };
    if (graders.some(needsPreparation)) await prepareGraders(rule, row.testing_criteria);
    return rule;
  }

  async function prepareGraders(rule: RunningRule, stored: unknown) {
    const theirs = await prepareStored(deps, services, {
      table: 'evaluation_rules',
      owner: rule,
      graders: rule.graders,
      stored,
      signal: stopping.signal,
    });
    if (theirs) rule.graders = gradersOf(theirs);
  }

  return {
    /** The rule as of `version` (or later); null once it is deleted. */
    ruleOf(id: string, version: string): Promise<RunningRule | null> {
      const entry = loaded.get(id);
      if (entry && entry.version === version) return entry.rule;
      const rule = load(id, version);
      loaded.set(id, { version, rule });
      rule.catch(() => {
        if (loaded.get(id)?.rule === rule) loaded.delete(id);
      });
      return rule;
    },

    /** Pauses the rule, saying why; returns whether this changed it. */
    async pause(rule: RunningRule, reason: string): Promise<boolean> {
      rule.pausedReason = reason;
      const rows = await db.query(
        `UPDATE evaluation_rules SET paused_reason = $2, paused_at = now()
         WHERE id = $1::uuid AND paused_reason IS DISTINCT FROM $2 RETURNING id`,
        [rule.id, reason],
      );
      return rows.length > 0;
    },

    /** Resumes a paused rule; returns whether it was paused. */
    async resume(ruleId: string): Promise<boolean> {
      const entry = loaded.get(ruleId);
      const rule = entry && (await entry.rule.catch(() => null));
      if (rule) rule.pausedReason = null;
      const rows = await db.query(
        `UPDATE evaluation_rules SET paused_reason = NULL, paused_at = NULL
         WHERE id = $1::uuid AND paused_reason IS NOT NULL RETURNING id`,
        [ruleId],
      );
      return rows.length > 0;
    },

    /** Enabled rules paused by any worker: whether they may resume is checked every few seconds. */
    paused: () =>
      db.query<{ id: string; project_id: string; creator_id: string | null }>(
        `SELECT id::text, project_id::text, creator_id::text FROM evaluation_rules WHERE paused_reason IS NOT NULL AND enabled`,
      ),

    stop: () => stopping.abort(),
  };
}

export type WorkerRules = ReturnType<typeof createWorkerRules>;
