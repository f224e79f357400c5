// Grading one item with every grader of its evaluation, and pricing the judge calls it made. Its
// dependencies are only what grading needs (a judge, the project's prices, a clock), so it runs
// without a database: the worker job supplies them, unit tests supply fakes.
import { fromUnits, toUnits } from '../../lib/money';
import type { Cost, Usage } from '../costs/pricing';
import type { GraderSpec } from '../graders/definitions';
import { grade } from '../graders/grade';
import type { JudgeContext, JudgeUsage } from '../graders/judges';
import type { GradingItem } from '../graders/template';
import { isTransient } from '../providers/judge';
import type { ItemOutcome, ResultRow } from './queue-sql';

/** A project's prices: model + usage + time → cost, or null when no price is known. */
export type Pricer = (model: string, usage: Usage, at: Date) => Cost | null;

export interface GradingDeps {
  judge: JudgeContext['judge'];
  pricer: Pricer;
  /** Judge calls are priced at the prices in force now. */
  clock: { now(): Date };
  /** Hears each grader's run as it ends, whether or not the item is then written (the meters). */
  observe?(run: GraderRun): void;
}

/** One judge call's usage with its price (null: unpriced, its model having no known price or its provider reporting no usage). */
export interface PricedUsage extends JudgeUsage {
  cost: string | null;
}

export interface GraderRun {
  type: GraderSpec['type'];
  seconds: number;
  outcome: 'passed' | 'failed' | 'errored';
  usage: PricedUsage[];
}

/** { grader: provider } of the graders a judge answered; null when none did (online task outcomes). */
export function judgedBy(results: ResultRow[]): Record<string, string> | null {
  const judged = results.flatMap((r) => (r.provider ? [[r.grader_name, r.provider]] : []));
  return judged.length ? Object.fromEntries(judged) : null;
}

/**
 * Sums judge usage, priced: tokens as reported, USD of the priced calls (`cost`, `units`), and
 * the calls with those that could not be priced, which `cost` leaves out (costs/unpriced.ts).
 */
export function priceUsage(deps: Pick<GradingDeps, 'pricer' | 'clock'>, usage: JudgeUsage[]) {
  let units = 0n;
  let inputTokens = 0;
  let outputTokens = 0;
  let unpricedCalls = 0;
  const priced: PricedUsage[] = [];
  for (const u of usage) {
    inputTokens += u.inputTokens;
    outputTokens += u.outputTokens;
    // No usage reported: pricing its 0 tokens would say it cost nothing.
    const cost = u.reported
      ? deps.pricer(
          u.model,
          { inputTokens: u.inputTokens, outputTokens: u.outputTokens, cachedInputTokens: 0 },
          deps.clock.now(),
        )
      : null;
    if (cost) units += toUnits(cost.totalCost);
    else unpricedCalls += 1;
    priced.push({ ...u, cost: cost?.totalCost ?? null });
  }
  return {
    inputTokens,
    outputTokens,
    cost: fromUnits(units),
    units,
    calls: usage.length,
    unpricedCalls,
    priced,
  };
}

/**
 * Grades an item with each grader side by side. A grader that fails on the item (an unreadable
 * answer, an invalid pattern) errors the item; an outage of the judge (or the signal) rejects the
 * whole item, to be tried again.
 */
export async function gradeItem(
  deps: GradingDeps,
  graders: GraderSpec[],
  item: GradingItem,
  signal: AbortSignal,
): Promise<Omit<ItemOutcome, 'itemId' | 'evaluationId'>> {
  const graded = await Promise.all(
    graders.map(async (spec) => {
      const usage: JudgeUsage[] = [];
      const started = performance.now();
      let outcome: { score: number; passed: boolean; reasoning?: string } | null = null;
      let error: string | null = null;
      try {
        outcome = await grade(spec, item, { judge: deps.judge, signal, usage });
      } catch (e) {
        // An outage is not the item's fault: the whole item is tried again later.
        if (signal.aborted || isTransient(e)) throw e;
        error = e instanceof Error ? e.message : String(e);
      }
      const priced = priceUsage(deps, usage);
      const row: ResultRow = {
        grader_name: spec.name,
        grader_type: spec.type,
        score: outcome?.score ?? null,
        passed: outcome?.passed ?? null,
        reasoning: outcome?.reasoning ?? null,
        input_tokens: priced.inputTokens,
        output_tokens: priced.outputTokens,
        cost: priced.cost,
        calls: priced.calls,
        unpriced_calls: priced.unpricedCalls,
        latency_ms: Math.round(performance.now() - started),
        error,
        provider: usage.findLast((u) => u.provider !== undefined)?.provider ?? null,
      };
      deps.observe?.({
        type: spec.type,
        seconds: (performance.now() - started) / 1000,
        outcome: error !== null ? 'errored' : outcome?.passed ? 'passed' : 'failed',
        usage: priced.priced,
      });
      return { row, units: priced.units };
    }),
  );
  const rows = graded.map((g) => g.row);
  const failedGrader = rows.find((r) => r.error !== null);
  return {
    state: failedGrader ? 'ERRORED' : 'DONE',
    passed: rows.every((r) => r.passed === true),
    lastError: failedGrader ? `${failedGrader.grader_name}: ${failedGrader.error}` : null,
    results: rows,
    judgeInputTokens: rows.reduce((n, r) => n + r.input_tokens, 0),
    judgeOutputTokens: rows.reduce((n, r) => n + r.output_tokens, 0),
    judgeCost: fromUnits(graded.reduce((n, g) => n + g.units, 0n)),
    judgeCalls: rows.reduce((n, r) => n + r.calls, 0),
    judgeUnpricedCalls: rows.reduce((n, r) => n + r.unpriced_calls, 0),
  };
}
