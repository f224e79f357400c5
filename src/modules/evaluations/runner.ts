// The evaluation worker job: claims items, grades them with up to `concurrency` in flight, and
// writes each item's results in the transaction that marks it done. Cancellation is seen within
// half a second (in-flight judge calls are aborted); a stopping worker hands its items back.
import { randomUUID } from 'node:crypto';
import type { Deps } from '../../deps';
import { fromUnits, toUnits } from '../../lib/money';
import type { Job } from '../../worker';
import type { CostService } from '../costs/service';
import { parseTestingCriteria, type GraderSpec } from '../graders/definitions';
import { grade, needsJudge } from '../graders/grade';
import { gEvalSteps, type JudgeContext, type JudgeUsage } from '../graders/judges';
import type { GradingItem } from '../graders/template';
import type { Judge } from '../providers/judge';
import { countUsage, type Quotas } from '../ratelimit/quotas';
import type { EvaluationEvents } from './events';
import * as queue from './queue-sql';

interface RunningEvaluation {
  id: string;
  projectId: string;
  creatorId: string | null;
  graders: GraderSpec[];
  usesJudge: boolean;
}

const CANCEL_POLL_MS = 500;

export function createEvaluationJob(deps: Deps, services: { costs: CostService; judge: Judge; quotas: Quotas; events: EvaluationEvents }): Job {
  const { concurrency, leaseMs, maxAttempts } = deps.config.evaluations;
  const { db, log } = deps;
  // One claim token per process: a restarted or second worker never writes this one's items.
  const token = randomUUID();
  const inFlight = new Map<string, { evaluationId: string; abort: AbortController; done: Promise<void> }>();
  let slotFreed: () => void = () => {};
  const preparing = new Map<string, Promise<RunningEvaluation>>();

  const poll = setInterval(() => void abortStopped().catch((error) => log.warn({ err: error }, 'cancel poll failed')), CANCEL_POLL_MS);
  poll.unref();

  async function abortStopped() {
    const ids = [...new Set([...inFlight.values()].map((f) => f.evaluationId))];
    const stopped = new Set(await queue.notRunning(db.query, ids));
    for (const f of inFlight.values()) if (stopped.has(f.evaluationId)) f.abort.abort();
  }

  async function load(id: string): Promise<RunningEvaluation> {
    const row = await db.prisma.evaluation.findUniqueOrThrow({ where: { id }, select: { id: true, projectId: true, creatorId: true, testingCriteria: true } });
    const { graders, problems } = parseTestingCriteria(row.testingCriteria);
    if (problems.length) throw new Error(`stored testing criteria are invalid: ${problems[0].message}`);
    const evaluation = { id, projectId: row.projectId, creatorId: row.creatorId, graders, usesJudge: graders.some(needsJudge) };
    // G-Eval steps are generated once and stored, so every item (and worker) uses the same ones.
    if (graders.some((g) => g.type === 'G_EVAL' && !g.evaluation_steps)) await generateSteps(evaluation, row.testingCriteria);
    return evaluation;
  }

  async function generateSteps(evaluation: RunningEvaluation, stored: unknown) {
    const usage: JudgeUsage[] = [];
    const ctx: JudgeContext = { judge: services.judge, usage };
    const raw = structuredClone(stored) as Record<string, unknown>[];
    for (const [i, g] of evaluation.graders.entries()) {
      if (g.type !== 'G_EVAL' || g.evaluation_steps) continue;
      g.evaluation_steps = await gEvalSteps(g.criteria, g.model, ctx);
      raw[i].evaluation_steps = g.evaluation_steps;
    }
    const { inputTokens, outputTokens, cost } = await price(evaluation.projectId, usage);
    await db.transaction(async (sql) => {
      // Compare-and-set: another worker may have stored its steps first; then theirs are used.
      const updated = await sql(
        `UPDATE evaluations SET testing_criteria = $2::jsonb, judge_input_tokens = judge_input_tokens + $3, judge_output_tokens = judge_output_tokens + $4,
           judge_cost = judge_cost + $5::numeric WHERE id = $1::uuid AND testing_criteria = $6::jsonb RETURNING id`,
        [evaluation.id, JSON.stringify(raw), inputTokens, outputTokens, cost, JSON.stringify(stored)],
      );
      if (updated.length) await countUsage(sql, deps.clock.now(), { userId: evaluation.creatorId, projectId: evaluation.projectId }, { judgeTokens: inputTokens + outputTokens, judgeCost: cost });
    });
  }

  async function evaluationOf(id: string): Promise<RunningEvaluation> {
    let pending = preparing.get(id);
    if (!pending) {
      pending = load(id);
      preparing.set(id, pending);
      // Kept while its items are in flight; forgotten after, so a changed evaluation is re-read.
      pending.catch(() => preparing.delete(id));
    }
    return pending;
  }

  async function price(projectId: string, usage: JudgeUsage[]) {
    const pricer = await services.costs.pricer(projectId);
    let units = 0n;
    let inputTokens = 0;
    let outputTokens = 0;
    for (const u of usage) {
      inputTokens += u.inputTokens;
      outputTokens += u.outputTokens;
      const priced = pricer(u.model, { inputTokens: u.inputTokens, outputTokens: u.outputTokens, cachedInputTokens: 0 }, deps.clock.now());
      if (priced) units += toUnits(priced.totalCost);
    }
    return { inputTokens, outputTokens, cost: fromUnits(units) };
  }

  // Checked before every item that calls a judge: spending stops within the items in flight.
  const quotaReason = (evaluation: RunningEvaluation) => (evaluation.usesJudge ? services.quotas.exceeded(evaluation.creatorId, 'judge') : Promise.resolve(null));

  async function gradeItem(evaluation: RunningEvaluation, item: queue.ClaimedItem, signal: AbortSignal) {
    const gradingItem: GradingItem = { input: item.input, expectedOutput: item.expected_output, output: item.output, contexts: item.contexts ?? [], metadata: item.metadata };
    const results = await Promise.all(
      evaluation.graders.map(async (spec): Promise<queue.ResultRow & { units: bigint }> => {
        const usage: JudgeUsage[] = [];
        const started = performance.now();
        let outcome: { score: number; passed: boolean; reasoning?: string } | null = null;
        let error: string | null = null;
        try {
          outcome = await grade(spec, gradingItem, { judge: services.judge, signal, usage });
        } catch (e) {
          if (signal.aborted) throw e;
          error = e instanceof Error ? e.message : String(e);
        }
        const priced = await price(evaluation.projectId, usage);
        return {
          grader_name: spec.name,
          grader_type: spec.type,
          score: outcome?.score ?? null,
          passed: outcome?.passed ?? null,
          reasoning: outcome?.reasoning ?? null,
          input_tokens: priced.inputTokens,
          output_tokens: priced.outputTokens,
          cost: priced.cost,
          units: toUnits(priced.cost),
          latency_ms: Math.round(performance.now() - started),
          error,
        };
      }),
    );
    const failedGrader = results.find((r) => r.error !== null);
    return {
      itemId: item.id,
      evaluationId: evaluation.id,
      token,
      state: failedGrader ? ('ERRORED' as const) : ('DONE' as const),
      passed: results.every((r) => r.passed === true),
      lastError: failedGrader ? `${failedGrader.grader_name}: ${failedGrader.error}` : null,
      results: results.map(({ units: _units, ...row }) => row),
      judgeInputTokens: results.reduce((n, r) => n + r.input_tokens, 0),
      judgeOutputTokens: results.reduce((n, r) => n + r.output_tokens, 0),
      judgeCost: fromUnits(results.reduce((n, r) => n + r.units, 0n)),
    };
  }

  async function processItem(item: queue.ClaimedItem, abort: AbortController) {
    let evaluation: RunningEvaluation;
    try {
      evaluation = await evaluationOf(item.evaluation_id);
    } catch (error) {
      log.error({ err: error, evaluationId: item.evaluation_id }, 'evaluation cannot run');
      if (await db.transaction((sql) => queue.stopEvaluation(sql, item.evaluation_id, 'FAILED', { code: 'INTERNAL_SERVER_ERROR', message: `It could not start: ${(error as Error).message}` }))) {
        const row = await db.prisma.evaluation.findUnique({ where: { id: item.evaluation_id }, select: { projectId: true } });
        if (row) services.events.emit('evaluation.failed', item.evaluation_id, row.projectId);
      }
      return;
    }
    const reason = await quotaReason(evaluation);
    if (reason) {
      if (await db.transaction((sql) => queue.stopEvaluation(sql, evaluation.id, 'FAILED', { code: 'QUOTA_EXCEEDED', message: reason }))) {
        services.events.emit('evaluation.failed', evaluation.id, evaluation.projectId);
      }
      return;
    }
    const outcome = await gradeItem(evaluation, item, abort.signal);
    const usage = { judgeTokens: outcome.judgeInputTokens + outcome.judgeOutputTokens, judgeCost: outcome.judgeCost };
    const written = await db.transaction(async (sql) => {
      const ok = await queue.writeOutcome(sql, outcome);
      if (ok && usage.judgeTokens > 0) await countUsage(sql, deps.clock.now(), { userId: evaluation.creatorId, projectId: evaluation.projectId }, usage);
      return ok;
    });
    if (!written) return;
    services.events.emit('evaluation.progress', evaluation.id, evaluation.projectId);
    if (await queue.completeIfDone(db.query, evaluation.id)) services.events.emit('evaluation.completed', evaluation.id, evaluation.projectId);
  }

  function launch(item: queue.ClaimedItem) {
    const abort = new AbortController();
    const done = processItem(item, abort)
      .catch((error) => {
        if (!abort.signal.aborted) log.error({ err: error, itemId: item.id }, 'grading an item failed; its lease will expire and it will be retried');
      })
      .finally(() => {
        inFlight.delete(item.id);
        if (![...inFlight.values()].some((f) => f.evaluationId === item.evaluation_id)) preparing.delete(item.evaluation_id);
        slotFreed();
      });
    inFlight.set(item.id, { evaluationId: item.evaluation_id, abort, done });
  }

  /** Stopping: abort what is in flight and hand it back for another worker. */
  async function drain() {
    const items = [...inFlight.keys()];
    for (const f of inFlight.values()) f.abort.abort();
    await Promise.all([...inFlight.values()].map((f) => f.done));
    if (items.length) await queue.releaseItems(db.query, token, items);
    clearInterval(poll);
  }

  return {
    name: 'evaluations',
    idleMs: 1_000,
    stop: drain,
    async run(signal) {
      // Wait for a free slot (or the stop).
      while (inFlight.size >= concurrency && !signal.aborted) {
        await new Promise<void>((resolve) => {
          slotFreed = resolve;
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
      }
      if (signal.aborted) return 0;
      const claimed = await db.transaction(async (sql) => {
        await queue.reapExhausted(sql, maxAttempts);
        return queue.claimItems(sql, token, leaseMs, concurrency - inFlight.size);
      });
      if (claimed.length === 0) return 0;
      const started = await queue.markStarted(db.query, [...new Set(claimed.map((c) => c.evaluation_id))]);
      for (const id of started) {
        const row = await db.prisma.evaluation.findUnique({ where: { id }, select: { projectId: true } });
        if (row) services.events.emit('evaluation.started', id, row.projectId);
      }
      for (const item of claimed) launch(item);
      return claimed.length;
    },
  };
}
