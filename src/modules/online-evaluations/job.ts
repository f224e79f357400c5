// The online evaluation job on the worker pool: claims due tasks (a sampled trace or span whose
// rule's delay has passed since its last batch) with a lease, judges each with its rule's graders
// through the judge service (its breaker, retries and concurrency), and writes its scores, its
// state and the judge spending in one transaction under the claim (outcome-writer.ts). A worker
// killed mid-judgement loses its lease and the task is judged by the next; its scores are written
// once, by whoever still holds the claim. When a quota or budget is spent the rule pauses: its due
// tasks are skipped until the quota allows again, which is checked every few seconds.
import { randomUUID } from 'node:crypto';
import type { Deps } from '../../deps';
import type { Job } from '../../worker/job';
import type { CostService } from '../costs/service';
import { gradeItem, judgedBy } from '../evaluations/grading';
import { meterGraderRun } from '../evaluations/preparation';
import { topics } from '../events/catalogue';
import type { Events } from '../events/emitter';
import type { Judge } from '../providers/router';
import { limitsJudges, minuteLimitsJudges, type Quotas } from '../ratelimit/quotas';
import { MAX_COMMENT, OWN_CLIENT_ID } from '../scores/input';
import type { ScoreDraft } from '../scores/internal';
import { createTaskWriter, type Judged } from './outcome-writer';
import { loadTarget } from './target-sql';
import * as tasks from './task-sql';
import { gradingItemOf } from './variables';
import { createWorkerRules, InvalidRuleError, type RunningRule } from './worker-rules';

/** A quota or budget set (or spent) is seen within this time; so is one that allows again. */
const QUOTA_RECHECK_MS = 5_000;

type Services = { costs: CostService; judge: Judge; quotas: Quotas; events: Events };

export function createOnlineEvaluationJob(
  deps: Deps,
  services: Services,
): Job<tasks.ClaimedTask, Judged> {
  const { concurrency, pollMs } = deps.config.onlineEvaluations;
  const { leaseMs, maxAttempts } = deps.config.evaluations;
  const { db, log } = deps;
  // One claim token per process: a restarted or second worker never writes this one's tasks.
  const token = randomUUID();
  const writer = createTaskWriter(deps, token, services.events);
  const rules = createWorkerRules(deps, services);

  /** Why the rule's judges may not spend now, or null (checked before every task judged). */
  async function quotaReason(rule: RunningRule): Promise<string | null> {
    if (Date.now() - rule.judgeQuotaAt > QUOTA_RECHECK_MS) {
      rule.judgeQuotaAt = Date.now();
      rule.judgeQuota =
        (rule.creatorId !== null &&
          (limitsJudges(await services.quotas.quota(rule.creatorId)) ||
            minuteLimitsJudges(await services.quotas.minuteQuota(rule.creatorId)))) ||
        limitsJudges(await services.quotas.projectBudget(rule.projectId));
    }
    const instance = services.quotas.instanceLimitsJudges;
    if (!rule.judgeQuota && !instance) return null;
    const subjects = { userId: rule.creatorId, projectId: rule.projectId };
    return writer.withUnwritten(subjects, async (unwritten) => {
      const quota = rule.judgeQuota
        ? await services.quotas.exceeded(subjects, 'judge', unwritten)
        : null;
      return (
        quota ??
        (instance ? await services.quotas.instanceExceeded(unwritten.instance.judgeCost) : null)
      );
    });
  }

  /** An outcome without judge spending. */
  function plain(
    task: tasks.ClaimedTask,
    state: tasks.TaskOutcome['state'],
    lastError: string | null,
  ): Judged {
    return {
      outcome: {
        taskId: task.id,
        state,
        lastError,
        judgeInputTokens: 0,
        judgeOutputTokens: 0,
        judgeCost: '0',
        judgeCalls: 0,
        judgeUnpricedCalls: 0,
        userId: null,
        projectId: task.project_id,
      },
      scores: [],
      backfill: task.backfill,
    };
  }

  async function judge(task: tasks.ClaimedTask, signal: AbortSignal): Promise<Judged | null> {
    let rule: RunningRule | null;
    try {
      rule = await rules.ruleOf(task.rule_id, task.rule_version);
    } catch (error) {
      // Anything but stored criteria that no longer parse is worth another try (`failed`).
      if (!(error instanceof InvalidRuleError)) throw error;
      return plain(task, 'ERRORED', error.message);
    }
    if (!rule) return null; // deleted meanwhile: its tasks went with it
    if (rule.judged) {
      const reason = await quotaReason(rule);
      if (reason) {
        if (await rules.pause(rule, reason))
          log.info({ ruleId: rule.id, reason }, 'online evaluation rule paused');
        return plain(task, 'SKIPPED', reason);
      }
    }
    if (rule.pausedReason !== null && (await rules.resume(rule.id)))
      log.info({ ruleId: rule.id }, 'online evaluation rule resumed');
    const target = await loadTarget(db.query, task.trace_id, task.span_external_id);
    if (!target) return plain(task, 'ERRORED', 'its span is no longer stored');
    const graded = await gradeItem(
      {
        judge: services.judge,
        pricer: services.costs.judgePricer(),
        clock: deps.clock,
        observe: (run) => meterGraderRun(deps.meters, run),
      },
      rule.graders,
      gradingItemOf(rule.variables, target.subject, target.retrievers),
      signal,
    );
    const spanId = rule.target === 'SPAN' ? target.subject.id : null;
    const at = deps.clock.now();
    const scores: ScoreDraft[] = graded.results
      .filter((r) => r.error === null && r.score !== null)
      .map((r) => ({
        input: {
          // One score per rule, target and grader, whoever writes it and however often.
          clientId: `${OWN_CLIENT_ID}rule:${rule.id}:${spanId ?? task.trace_id}:${r.grader_name}`,
          ...(spanId ? { spanId } : { traceId: task.trace_id }),
          name: r.grader_name,
          value: r.score,
          comment: r.reasoning?.slice(0, MAX_COMMENT) ?? null,
          source: 'ONLINE_EVALUATION',
          timestamp: at,
        },
        projectId: rule.projectId,
        traceId: task.trace_id,
        evaluationId: null,
        evaluationRuleId: rule.id,
        graderName: r.grader_name,
      }));
    return {
      outcome: {
        taskId: task.id,
        state: graded.state,
        lastError: graded.lastError,
        judgeInputTokens: graded.judgeInputTokens,
        judgeOutputTokens: graded.judgeOutputTokens,
        judgeCost: graded.judgeCost,
        judgeCalls: graded.judgeCalls,
        judgeUnpricedCalls: graded.judgeUnpricedCalls,
        judgedBy: judgedBy(graded.results),
        userId: rule.creatorId,
        projectId: rule.projectId,
      },
      scores,
      backfill: task.backfill,
    };
  }

  /** Paused rules whose quotas and budgets allow again resume, whether or not tasks come due. */
  async function resumeAllowed() {
    for (const rule of await rules.paused()) {
      const subjects = { userId: rule.creator_id, projectId: rule.project_id };
      if (
        (await services.quotas.exceeded(subjects, 'judge')) === null &&
        (await services.quotas.instanceExceeded('0', false)) === null &&
        (await rules.resume(rule.id))
      )
        log.info({ ruleId: rule.id }, 'online evaluation rule resumed');
    }
  }

  async function reap() {
    const reaped = await tasks.reapExhausted(db.query, maxAttempts);
    if (reaped) deps.meters.onlineEvaluations.inc({ outcome: 'errored' }, reaped);
  }

  return {
    name: 'online-evaluations',
    concurrency,
    // Tasks come due as their rules' delays pass, not when anything is announced: polling finds them.
    idleMs: pollMs,
    // Backfills queue tasks due at once.
    wakeOn: [{ topic: topics.onlineEvaluationWork }],
    key: (task) => task.id,
    lease: {
      ms: leaseMs,
      renew: (held) =>
        tasks.renewLeases(
          db.query,
          token,
          leaseMs,
          held.map((t) => t.id),
        ),
    },
    every: [
      { name: 'resume paused rules', ms: QUOTA_RECHECK_MS, run: resumeAllowed },
      // Tasks whose workers died on every attempt count as errored.
      { name: 'reap exhausted tasks', ms: leaseMs, run: reap },
    ],
    onStop: 'abort',
    stopping: rules.stop,

    // One statement: an idle worker polls often (tasks come due as delays pass).
    claim: (limit) => tasks.claimTasks(db.query, token, leaseMs, limit, maxAttempts),

    run: judge,

    record: (judged) => writer.write(judged),

    // Judging failed on the provider's side (or a database hiccup): try again later, backing off;
    // after the last attempt the task counts as errored.
    async failed(task, error) {
      const message = error instanceof Error ? error.message : String(error);
      log.warn(
        { err: error, taskId: task.id, attempts: task.attempts },
        'judging a sampled trace failed; it will be tried again',
      );
      if (task.attempts < maxAttempts) {
        const delayMs = Math.min(60_000, 2_000 * 2 ** (task.attempts - 1));
        await tasks.retryLater(db.query, token, task.id, delayMs, message);
        return;
      }
      await writer.write(
        plain(task, 'ERRORED', `gave up after ${task.attempts} attempts: ${message}`),
      );
    },

    release: (held) =>
      tasks.releaseTasks(
        db.query,
        token,
        held.map((t) => t.id),
      ),
  };
}
