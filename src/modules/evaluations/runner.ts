// The evaluation worker job: claims items, grades them with up to `concurrency` in flight, and
// writes each item's results in the transaction that marks it done. Cancellation is seen within
// half a second (in-flight judge calls are aborted); a stopping worker hands its items back.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Deps } from '../../deps';
import { settledBy } from '../../lib/deadline';
import { fromUnits, toUnits } from '../../lib/money';
import type { Job } from '../../worker';
import type { CostService } from '../costs/service';
import { parseTestingCriteria, type GraderSpec } from '../graders/definitions';
import { grade, needsJudge, needsPreparation, prepare } from '../graders/grade';
import type { JudgeContext, JudgeUsage } from '../graders/judges';
import type { GradingItem } from '../graders/template';
import { isTransient, type Judge } from '../providers/judge';
import { countUsage, limitsJudges, type Quotas } from '../ratelimit/quotas';
import type { Events } from '../events/emitter';
import { announceEvaluations } from './announce';
import { createOutcomeWriter } from './outcome-writer';
import * as queue from './queue-sql';

interface RunningEvaluation {
  id: string;
  projectId: string;
  creatorId: string | null;
  graders: GraderSpec[];
  /** Its creator's quota or its project's budget limits judge spending (checked before each item); re-read every few seconds. */
  judgeQuota: boolean;
  judgeQuotaAt: number;
  /** Whether any grader calls a judge. */
  judged: boolean;
}

/** A quota or budget set while an evaluation runs is enforced within this time. */
const QUOTA_RECHECK_MS = 5_000;

class InvalidCriteriaError extends Error {}

const CANCEL_POLL_MS = 500;

export function createEvaluationJob(deps: Deps, services: { costs: CostService; judge: Judge; quotas: Quotas; events: Events }): Job {
  const { concurrency, leaseMs, maxAttempts } = deps.config.evaluations;
  const { db, log } = deps;
  // One claim token per process: a restarted or second worker never writes this one's items.
  const token = randomUUID();
  const writer = createOutcomeWriter(deps, token, services.events);
  const inFlight = new Map<string, { evaluationId: string; abort: AbortController; done: Promise<void> }>();
  // Claimed items waiting for a slot: a freed slot starts its next item without a database trip.
  const buffer: queue.ClaimedItem[] = [];
  // Outcomes being written (bounded: grading waits when the database falls behind).
  const writes = new Set<Promise<void>>();
  // Evaluations seen canceled or failed: their waiting items are dropped, not graded.
  const stopped = new Set<string>();
  let slotFreed: () => void = () => {};
  let abortHooked = false;
  const preparing = new Map<string, Promise<RunningEvaluation>>();
  // Aborted when the worker stops: judge calls made for an evaluation rather than an item (G-Eval steps).
  const stopping = new AbortController();
  setMaxListeners(100, stopping.signal);
  // Items whose outcome is being written: still held (under lease) until the write lands.
  const writing = new Set<string>();

  // Every 500 ms: a failing poll (the database away) is logged when it starts failing, not each time.
  let pollFailing = false;
  const poll = setInterval(
    () =>
      void abortStopped().then(
        () => (pollFailing = false),
        (error) => {
          if (!pollFailing) log.warn({ err: error }, 'cancel poll failed; retrying quietly until it works again');
          pollFailing = true;
        },
      ),
    CANCEL_POLL_MS,
  );
  let renewedAt = Date.now();
  poll.unref();

  async function abortStopped() {
    // Held items keep their leases while this worker lives: only a dead worker's items are taken over.
    const held = [...inFlight.keys(), ...buffer.map((i) => i.id)];
    if (held.length && Date.now() - renewedAt > leaseMs / 4) {
      renewedAt = Date.now();
      await queue.renewLeases(db.query, token, leaseMs, held);
    }
    const ids = [...new Set([...inFlight.values(), ...buffer.map((i) => ({ evaluationId: i.evaluation_id }))].map((f) => f.evaluationId))];
    for (const id of await queue.notRunning(db.query, ids)) stopped.add(id);
    for (const f of inFlight.values()) if (stopped.has(f.evaluationId)) f.abort.abort();
  }

  async function load(id: string): Promise<RunningEvaluation> {
    const row = await db.prisma.evaluation.findUniqueOrThrow({ where: { id }, select: { id: true, projectId: true, creatorId: true, testingCriteria: true } });
    const { graders, problems } = parseTestingCriteria(row.testingCriteria);
    if (problems.length) throw new InvalidCriteriaError(`stored testing criteria are invalid: ${problems[0].message}`);
    // Judge spending is checked per item only when the creator's quota or the project's budget limits it.
    const judged = graders.some(needsJudge);
    const evaluation = { id, projectId: row.projectId, creatorId: row.creatorId, graders, judged, judgeQuota: false, judgeQuotaAt: 0 };
    // Preparations (G-Eval steps) are made once and stored, so every item (and worker) uses the same ones.
    if (graders.some(needsPreparation)) await prepareGraders(evaluation, row.testingCriteria);
    return evaluation;
  }

  async function prepareGraders(evaluation: RunningEvaluation, stored: unknown) {
    const usage: JudgeUsage[] = [];
    const ctx: JudgeContext = { judge: services.judge, signal: stopping.signal, usage };
    const raw = structuredClone(stored) as Record<string, unknown>[];
    for (const [i, g] of evaluation.graders.entries()) {
      if (!needsPreparation(g)) continue;
      const fields = await prepare(g, ctx);
      Object.assign(g, fields);
      Object.assign(raw[i], fields);
    }
    const { inputTokens, outputTokens, cost } = await price(evaluation.projectId, usage);
    const stored2 = await db.transaction(async (sql) => {
      // Compare-and-set: another worker may have stored its steps first; then theirs are used.
      const updated = await sql(
        `UPDATE evaluations SET testing_criteria = $2::jsonb WHERE id = $1::uuid AND testing_criteria = $3::jsonb RETURNING id`,
        [evaluation.id, JSON.stringify(raw), JSON.stringify(stored)],
      );
      // The judge was paid either way.
      await sql(
        `UPDATE evaluations SET judge_input_tokens = judge_input_tokens + $2, judge_output_tokens = judge_output_tokens + $3, judge_cost = judge_cost + $4::numeric WHERE id = $1::uuid`,
        [evaluation.id, inputTokens, outputTokens, cost],
      );
      await countUsage(sql, deps.clock.now(), { userId: evaluation.creatorId, projectId: evaluation.projectId }, { judgeTokens: inputTokens + outputTokens, judgeCost: cost });
      if (updated.length) return null;
      const [row] = await sql<{ testing_criteria: unknown }>(`SELECT testing_criteria FROM evaluations WHERE id = $1::uuid`, [evaluation.id]);
      return row.testing_criteria;
    });
    if (stored2) {
      const { graders, problems } = parseTestingCriteria(stored2);
      if (problems.length) throw new InvalidCriteriaError(`stored testing criteria are invalid: ${problems[0].message}`);
      evaluation.graders = graders;
    }
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
      const model = deps.meters.model(u.model);
      deps.meters.judgeTokens.inc({ model, direction: 'input' }, u.inputTokens);
      deps.meters.judgeTokens.inc({ model, direction: 'output' }, u.outputTokens);
      if (priced) deps.meters.judgeCost.inc({ model }, Number(priced.totalCost));
    }
    return { inputTokens, outputTokens, cost: fromUnits(units) };
  }

  // Checked before every item that calls a judge: spending stops within the items in flight.
  async function quotaReason(evaluation: RunningEvaluation): Promise<string | null> {
    if (!evaluation.judged) return null;
    if (Date.now() - evaluation.judgeQuotaAt > QUOTA_RECHECK_MS) {
      evaluation.judgeQuotaAt = Date.now();
      evaluation.judgeQuota =
        (evaluation.creatorId !== null && limitsJudges(await services.quotas.quota(evaluation.creatorId))) || limitsJudges(await services.quotas.projectBudget(evaluation.projectId));
    }
    if (!evaluation.judgeQuota) return null;
    const subjects = { userId: evaluation.creatorId, projectId: evaluation.projectId };
    return writer.withUnwritten(subjects, (unwritten) => services.quotas.exceeded(subjects, 'judge', unwritten));
  }

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
          // An outage is not the item's fault: the whole item is tried again later.
          if (signal.aborted || isTransient(e)) throw e;
          error = e instanceof Error ? e.message : String(e);
        }
        const priced = await price(evaluation.projectId, usage);
        const meters = deps.meters;
        meters.graderDuration.observe({ grader_type: spec.type }, (performance.now() - started) / 1000);
        meters.itemsScored.inc({ grader_type: spec.type, outcome: error !== null ? 'errored' : outcome?.passed ? 'passed' : 'failed' });
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
      state: failedGrader ? ('ERRORED' as const) : ('DONE' as const),
      passed: results.every((r) => r.passed === true),
      lastError: failedGrader ? `${failedGrader.grader_name}: ${failedGrader.error}` : null,
      results: results.map(({ units: _units, ...row }) => row),
      judgeInputTokens: results.reduce((n, r) => n + r.input_tokens, 0),
      judgeOutputTokens: results.reduce((n, r) => n + r.output_tokens, 0),
      judgeCost: fromUnits(results.reduce((n, r) => n + r.units, 0n)),
    };
  }

  /** Grades one item; returns the write of its outcome, to run once its slot is free. */
  async function processItem(item: queue.ClaimedItem, abort: AbortController): Promise<(() => Promise<void>) | void> {
    if (stopped.has(item.evaluation_id)) return;
    let evaluation: RunningEvaluation;
    try {
      evaluation = await evaluationOf(item.evaluation_id);
    } catch (error) {
      // Anything but stored criteria that no longer parse is worth another try (launch's failure path).
      if (!(error instanceof InvalidCriteriaError)) throw error;
      log.error({ err: error, evaluationId: item.evaluation_id }, 'evaluation cannot run');
      await fail(item.evaluation_id, { code: 'INTERNAL_SERVER_ERROR', message: `It could not start: ${(error as Error).message}` });
      return;
    }
    const reason = await quotaReason(evaluation);
    if (reason) {
      await fail(evaluation.id, { code: 'QUOTA_EXCEEDED', message: reason });
      return;
    }
    const outcome = await gradeItem(evaluation, item, abort.signal);
    // Written after the slot is freed: the next item's judge calls need not wait for the database.
    return async () => {
      await writer.write(outcome, { userId: evaluation.creatorId, projectId: evaluation.projectId });
    };
  }

  /** Stops an evaluation that cannot go on, announcing it. */
  function fail(evaluationId: string, error: { code: string; message: string }) {
    return services.events.transaction(async (sql, emit) => {
      if (await queue.stopEvaluation(sql, evaluationId, 'FAILED', error)) await announceEvaluations(sql, emit, [{ type: 'evaluation.failed', id: evaluationId }]);
    });
  }

  function launch(item: queue.ClaimedItem) {
    const abort = new AbortController();
    // Every judge call of the item (RAG graders make several, each retried) listens to this signal.
    setMaxListeners(100, abort.signal);
    // Grading failed on the provider's side (or a database hiccup): try the item again later,
    // backing off; after the last attempt it counts as errored.
    const failed = (error: unknown) => {
      if (abort.signal.aborted) return;
      const message = error instanceof Error ? error.message : String(error);
      log.warn({ err: error, itemId: item.id, attempts: item.attempts }, 'grading an item failed; it will be tried again');
      const retry = item.attempts >= maxAttempts
        ? writer.write({ itemId: item.id, evaluationId: item.evaluation_id, state: 'ERRORED', passed: false, lastError: `gave up after ${item.attempts} attempts: ${message}`, results: [], judgeInputTokens: 0, judgeOutputTokens: 0, judgeCost: '0' }, { userId: null, projectId: null }).then(() => undefined)
        : queue.retryLater(db.query, token, item.id, Math.min(60_000, 2_000 * 2 ** (item.attempts - 1)), message).then(() => undefined);
      const writing = retry.catch((e) => log.error({ err: e, itemId: item.id }, 'could not hand an item back; its lease will expire')).finally(() => writes.delete(writing));
      writes.add(writing);
    };
    const done = processItem(item, abort)
      .then((write) => {
        if (!write) return;
        writing.add(item.id);
        const written = write().catch(failed).finally(() => {
          writes.delete(written);
          writing.delete(item.id);
          fill();
          slotFreed();
        });
        writes.add(written);
      }, failed)
      .finally(() => {
        inFlight.delete(item.id);
        if (![...inFlight.values()].some((f) => f.evaluationId === item.evaluation_id)) preparing.delete(item.evaluation_id);
        // The next waiting item takes the slot at once, even while a claim is in progress.
        fill();
        slotFreed();
      });
    inFlight.set(item.id, { evaluationId: item.evaluation_id, abort, done });
  }

  /** Starts waiting items while slots are free; returns how many it started. */
  function fill() {
    let launched = 0;
    for (; inFlight.size < concurrency && writes.size < 4 * concurrency && buffer.length; launched++) launch(buffer.shift()!);
    return launched;
  }

  /**
   * Stopping: abort what is in flight and hand it back, with the waiting items, for another worker.
   * Aborted judge calls end at once; anything still running at `drainBy` is left behind, and its
   * item is handed back all the same (a late outcome of it is refused: the lease is gone).
   */
  async function drain(drainBy: number) {
    clearInterval(poll);
    stopping.abort();
    const items = [...inFlight.keys(), ...buffer.splice(0).map((i) => i.id)];
    for (const f of inFlight.values()) f.abort.abort();
    const settled = await settledBy([...[...inFlight.values()].map((f) => f.done), ...writes], drainBy);
    // Outcomes whose write did not land (or did not settle) are handed back with the rest; a written item is no longer ours to release.
    const held = [...new Set([...items, ...inFlight.keys(), ...writing])];
    if (!settled) log.warn({ items: inFlight.size, writes: writes.size }, 'evaluation items still grading or being written at the drain deadline; handing them back');
    if (held.length) await queue.releaseItems(db.query, token, held);
  }

  return {
    name: 'evaluations',
    idleMs: 1_000,
    stop: drain,
    async run(signal) {
      if (!abortHooked) {
        signal.addEventListener('abort', () => slotFreed(), { once: true });
        abortHooked = true;
      }
      // Wait for a free slot (or the stop).
      while ((inFlight.size >= concurrency || writes.size >= 4 * concurrency) && !signal.aborted) await new Promise<void>((resolve) => (slotFreed = resolve));
      if (signal.aborted) return 0;
      let claimedCount = 0;
      if (buffer.length <= concurrency / 2) {
        const claimed = await services.events.transaction(async (sql, emit) => {
          // Items given up on count as errored (an evaluation whose last items they were completes here).
          const reaped = await queue.reapExhausted(sql, maxAttempts);
          const items = await queue.claimItems(sql, token, leaseMs, 2 * concurrency - inFlight.size - buffer.length);
          const started = items.length ? await queue.markStarted(sql, [...new Set(items.map((c) => c.evaluation_id))]) : [];
          await announceEvaluations(sql, emit, [
            ...reaped.map((r) => ({ type: r.completed ? ('evaluation.completed' as const) : ('evaluation.progress' as const), id: r.id })),
            ...started.map((e) => ({ type: 'evaluation.started' as const, id: e.id })),
          ]);
          return items;
        });
        if (claimed.length) {
          // Claimed, so running again (a rerun after a cancel): no longer to be dropped.
          for (const c of claimed) stopped.delete(c.evaluation_id);
          // An item this worker already holds (its lease lapsed while it was busy) is not taken twice.
          const held = new Set([...inFlight.keys(), ...buffer.map((i) => i.id)]);
          buffer.push(...claimed.filter((c) => !held.has(c.id)));
          claimedCount = claimed.length;
        }
      }
      const launched = fill();
      // Work started or waiting: come back at once (the next call waits for a free slot).
      return claimedCount + launched + buffer.length;
    },
  };
}
