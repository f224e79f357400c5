// The evaluation job on the worker pool: claims items, grades them with up to `concurrency` in
// flight, and writes each item's results in the transaction that marks it done. Cancellation is
// seen within half a second (in-flight judge calls are aborted); a stopping worker hands its items
// back.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Deps } from '../../deps';
import type { HeldWork, Job } from '../../worker/job';
import type { CostService } from '../costs/service';
import { isTransient } from '../providers/judge';
import type { Judge } from '../providers/router';
import { limitsJudges, minuteLimitsJudges, type Quotas, type Refusal } from '../ratelimit/quotas';
import { topics } from '../events/catalogue';
import type { Events } from '../events/emitter';
import { announceEvaluations } from './announce';
import { generateOutput, type Generated } from './generation';
import { gradeItem } from './grading';
import { createOutcomeWriter } from './outcome-writer';
import { createPreparation, InvalidCriteriaError, type RunningEvaluation } from './preparation';
import * as queue from './queue-sql';

const CANCEL_POLL_MS = 500;

/** A quota or budget set while an evaluation runs is enforced within this time. */
const QUOTA_RECHECK_MS = 5_000;

/** An item graded: its outcome, to write under the claim. */
interface Graded {
  outcome: queue.ItemOutcome;
  evaluation: RunningEvaluation;
}

/** An item that errored without any grader's result. */
const erroredOutcome = (item: queue.ClaimedItem, lastError: string): queue.ItemOutcome => ({
  itemId: item.id,
  evaluationId: item.evaluation_id,
  state: 'ERRORED',
  passed: false,
  lastError,
  results: [],
  judgeInputTokens: 0,
  judgeOutputTokens: 0,
  judgeCost: '0',
  judgeCalls: 0,
  judgeUnpricedCalls: 0,
});

export function createEvaluationJob(
  deps: Deps,
  services: { costs: CostService; judge: Judge; quotas: Quotas; events: Events },
): Job<queue.ClaimedItem, Graded> {
  const { concurrency, leaseMs, maxAttempts } = deps.config.evaluations;
  const { db, log } = deps;
  // One claim token per process: a restarted or second worker never writes this one's items.
  const token = randomUUID();
  const writer = createOutcomeWriter(deps, token, services.events);
  // Evaluations seen canceled or failed: their waiting items are dropped, not graded.
  const stopped = new Set<string>();
  const preparation = createPreparation(deps, services);
  // Items being graded, per evaluation: its prepared state is kept while any is.
  const grading = new Map<string, number>();

  /** Every 500 ms: items of evaluations no longer running are aborted (a cancel, a failure). */
  async function abortStopped(held: HeldWork<queue.ClaimedItem>) {
    const ids = [...new Set(held.works.map((i) => i.evaluation_id))];
    for (const id of await queue.notRunning(db.query, ids)) stopped.add(id);
    held.abort((item) => stopped.has(item.evaluation_id));
  }

  // Checked before every item that calls a model (to judge or to generate its output): spending
  // stops within the items in flight.
  async function quotaReason(
    evaluation: RunningEvaluation,
  ): Promise<(Refusal & { code: 'QUOTA_EXCEEDED' | 'INSTANCE_LIMIT_EXCEEDED' }) | null> {
    if (!evaluation.judged && !evaluation.generation) return null;
    if (Date.now() - evaluation.judgeQuotaAt > QUOTA_RECHECK_MS) {
      evaluation.judgeQuotaAt = Date.now();
      evaluation.judgeQuota =
        (evaluation.creatorId !== null &&
          (limitsJudges(await services.quotas.quota(evaluation.creatorId)) ||
            minuteLimitsJudges(await services.quotas.minuteQuota(evaluation.creatorId)))) ||
        limitsJudges(await services.quotas.projectBudget(evaluation.projectId));
    }
    const instance = services.quotas.instanceLimitsJudges;
    if (!evaluation.judgeQuota && !instance) return null;
    const subjects = { userId: evaluation.creatorId, projectId: evaluation.projectId };
    return writer.withUnwritten(subjects, async (unwritten) => {
      const quota = evaluation.judgeQuota
        ? await services.quotas.refusal(subjects, 'judge', unwritten)
        : null;
      if (quota) return { ...quota, code: 'QUOTA_EXCEEDED' as const };
      const spent = instance
        ? await services.quotas.instanceExceeded(unwritten.instance.judgeCost)
        : null;
      return spent
        ? { code: 'INSTANCE_LIMIT_EXCEEDED' as const, message: spent, retryAfter: null }
        : null;
    });
  }

  /** Waits `ms`, or less when `signal` aborts. */
  const sleep = (ms: number, signal: AbortSignal) =>
    sleepFor(ms, undefined, { signal }).catch(() => undefined);

  /** Grades one item; resolves with its outcome to write, or null when there is none. */
  async function processItem(item: queue.ClaimedItem, signal: AbortSignal): Promise<Graded | null> {
    if (stopped.has(item.evaluation_id)) return null;
    let evaluation: RunningEvaluation;
    try {
      evaluation = await preparation.evaluationOf(item.evaluation_id);
    } catch (error) {
      // Anything but stored criteria that no longer parse is worth another try (the job's failure path).
      if (!(error instanceof InvalidCriteriaError)) throw error;
      log.error({ err: error, evaluationId: item.evaluation_id }, 'evaluation cannot run');
      await fail(item.evaluation_id, {
        code: 'INTERNAL_SERVER_ERROR',
        message: `It could not start: ${(error as Error).message}`,
      });
      return null;
    }
    let reason = await quotaReason(evaluation);
    // A minute window paces the item (the lease is renewed meanwhile); a daily quota ends the evaluation.
    while (reason?.retryAfter && !signal.aborted) {
      await sleep(reason.retryAfter * 1000, signal);
      reason = await quotaReason(evaluation);
    }
    if (reason?.retryAfter) return null; // aborted while waiting: nothing to write
    if (reason) {
      await fail(evaluation.id, { code: reason.code, message: reason.message });
      return null;
    }
    const gradingDeps = {
      judge: services.judge,
      pricer: services.costs.judgePricer(),
      clock: deps.clock,
      observe: preparation.meterGrader,
    };
    const gradingItem = {
      input: item.input,
      expectedOutput: item.expected_output,
      output: item.output,
      contexts: item.contexts ?? [],
      metadata: item.metadata,
    };
    let generated: Generated | null = null;
    if (evaluation.generation) {
      try {
        generated = await generateOutput(gradingDeps, evaluation.generation, gradingItem, signal);
      } catch (error) {
        // An outage is not the item's fault: it is tried again later. A refusal (an unknown
        // model, a bad request) errors the item, with nothing to grade.
        if (signal.aborted || isTransient(error)) throw error;
        const message = error instanceof Error ? error.message : String(error);
        return { outcome: erroredOutcome(item, `generation: ${message}`), evaluation };
      }
      gradingItem.output = generated.output;
    }
    const graded = await gradeItem(gradingDeps, evaluation.graders, gradingItem, signal);
    const source =
      item.source_span_id && item.source_trace_id
        ? { spanId: item.source_span_id, traceId: item.source_trace_id }
        : null;
    return {
      outcome: { itemId: item.id, evaluationId: evaluation.id, source, ...graded, generated },
      evaluation,
    };
  }

  /** Stops an evaluation that cannot go on, announcing it. */
  function fail(evaluationId: string, error: { code: string; message: string }) {
    return services.events.transaction(async (sql, emit) => {
      if (await queue.stopEvaluation(sql, evaluationId, 'FAILED', error))
        await announceEvaluations(sql, emit, [{ type: 'evaluation.failed', id: evaluationId }]);
    });
  }

  return {
    name: 'evaluations',
    concurrency,
    idleMs: 1_000,
    // Items created or started by any process.
    wakeOn: [{ topic: topics.evaluationWork }],
    key: (item) => item.id,
    lease: {
      ms: leaseMs,
      renew: (items) =>
        queue.renewLeases(
          db.query,
          token,
          leaseMs,
          items.map((i) => i.id),
        ),
    },
    every: [{ name: 'cancel poll', ms: CANCEL_POLL_MS, run: abortStopped }],
    onStop: 'abort',
    stopping: preparation.stop,

    async claim(limit) {
      // One transaction: items given up on count as errored (an evaluation whose last items they
      // were completes here), the claim, and the evaluations it starts, with their events.
      const claimed = await services.events.transaction(async (sql, emit) => {
        const reaped = await queue.reapExhausted(sql, maxAttempts);
        const items = await queue.claimItems(sql, token, leaseMs, limit);
        const started = items.length
          ? await queue.markStarted(sql, [...new Set(items.map((c) => c.evaluation_id))])
          : [];
        await announceEvaluations(sql, emit, [
          ...reaped.map((r) => ({
            type: r.completed
              ? ('evaluation.completed' as const)
              : ('evaluation.progress' as const),
            id: r.id,
          })),
          ...started.map((e) => ({ type: 'evaluation.started' as const, id: e.id })),
        ]);
        return items;
      });
      // Claimed, so running again (a rerun after a cancel): no longer to be dropped.
      for (const c of claimed) stopped.delete(c.evaluation_id);
      return claimed;
    },

    async run(item, signal) {
      grading.set(item.evaluation_id, (grading.get(item.evaluation_id) ?? 0) + 1);
      try {
        return await processItem(item, signal);
      } finally {
        const left = grading.get(item.evaluation_id)! - 1;
        // Forgotten once none of its items is being graded, so a changed evaluation is re-read.
        if (left) grading.set(item.evaluation_id, left);
        else {
          grading.delete(item.evaluation_id);
          preparation.forget(item.evaluation_id);
        }
      }
    },

    // Its progress (and the evaluation's completion) is emitted in the transaction that writes it.
    record: ({ outcome, evaluation }) =>
      writer.write(outcome, { userId: evaluation.creatorId, projectId: evaluation.projectId }),

    // Grading failed on the provider's side (or a database hiccup): try the item again later,
    // backing off; after the last attempt it counts as errored.
    async failed(item, error) {
      const message = error instanceof Error ? error.message : String(error);
      log.warn(
        { err: error, itemId: item.id, attempts: item.attempts },
        'grading an item failed; it will be tried again',
      );
      if (item.attempts < maxAttempts) {
        await queue.retryLater(
          db.query,
          token,
          item.id,
          Math.min(60_000, 2_000 * 2 ** (item.attempts - 1)),
          message,
        );
        // No progress event tells of it: cached answers showing the item's state are dropped.
        deps.pubsub.publish(topics.evaluationItemsChanged, { evaluationId: item.evaluation_id });
        return;
      }
      const gaveUp = erroredOutcome(item, `gave up after ${item.attempts} attempts: ${message}`);
      await writer.write(gaveUp, { userId: null, projectId: null });
    },

    release: (items) =>
      queue.releaseItems(
        db.query,
        token,
        items.map((i) => i.id),
      ),
  };
}
