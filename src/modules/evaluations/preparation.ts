// An evaluation as the worker runs it: its graders parsed from the stored testing criteria, their
// preparations (G-Eval steps) made once and stored so every item and every worker uses the same
// ones, and the metering of judge spending. Kept per process while any of its items is graded.
import { setMaxListeners } from 'node:events';
import type { Deps } from '../../deps';
import type { Sql } from '../../storage/db';
import type { Meters } from '../observability/meters';
import type { CostService } from '../costs/service';
import { parseTestingCriteria, type GraderSpec } from '../graders/definitions';
import { needsJudge, needsPreparation, prepare } from '../graders/grade';
import type { JudgeContext, JudgeUsage } from '../graders/judges';
import type { Judge } from '../providers/router';
import { addUsage } from '../ratelimit/usage-sql';
import { completionsSchema, type Completions } from './generation';
import { priceUsage, type GraderRun, type PricedUsage } from './grading';

export interface RunningEvaluation {
  id: string;
  projectId: string;
  creatorId: string | null;
  graders: GraderSpec[];
  /** Its creator's quota or its project's budget limits judge spending (checked before each item); re-read every few seconds. */
  judgeQuota: boolean;
  judgeQuotaAt: number;
  /** Whether any grader calls a judge. */
  judged: boolean;
  /** How each item's output is generated (a GENERATED evaluation), else null. */
  generation: Completions | null;
}

/** The stored testing criteria no longer parse: the evaluation cannot run (not worth a retry). */
export class InvalidCriteriaError extends Error {}

/** The completions stored with a GENERATED evaluation's data source (null for the others). */
function generationOf(dataSource: unknown): Completions | null {
  const stored = (dataSource as { completions?: unknown } | null)?.completions;
  if (stored == null) return null;
  const parsed = completionsSchema.safeParse(stored);
  if (!parsed.success)
    throw new InvalidCriteriaError(
      `stored completions are invalid: ${parsed.error.issues[0].message}`,
    );
  return parsed.data;
}

function parsed(stored: unknown): GraderSpec[] {
  const { graders, problems } = parseTestingCriteria(stored);
  if (problems.length)
    throw new InvalidCriteriaError(`stored testing criteria are invalid: ${problems[0].message}`);
  return graders;
}

/** Judge tokens and cost, by model and provider (the meters of every judge call, items' and preparations'). */
export function meterJudgeUsage(meters: Meters, usage: PricedUsage[]) {
  for (const u of usage) {
    const model = meters.model(u.model);
    // Provider names come from the configuration: a bounded label.
    const provider = u.provider ?? '';
    meters.judgeTokens.inc({ model, provider, direction: 'input' }, u.inputTokens);
    meters.judgeTokens.inc({ model, provider, direction: 'output' }, u.outputTokens);
    if (u.cost !== null) meters.judgeCost.inc({ model, provider }, Number(u.cost));
  }
}

/** One grader's run on one item: its duration and outcome, and its judge usage. */
export function meterGraderRun(meters: Meters, run: GraderRun) {
  meterJudgeUsage(meters, run.usage);
  meters.graderDuration.observe({ grader_type: run.type }, run.seconds);
  meters.itemsScored.inc({ grader_type: run.type, outcome: run.outcome });
}

/**
 * Runs the preparations the graders still need (G-Eval steps), setting their fields on each
 * grader and in a copy of the stored criteria. Returns that copy and the judge usage it took.
 */
export async function prepareCriteria(
  graders: GraderSpec[],
  stored: unknown,
  ctx: Omit<JudgeContext, 'usage'>,
): Promise<{ raw: Record<string, unknown>[]; usage: JudgeUsage[] }> {
  const usage: JudgeUsage[] = [];
  const raw = structuredClone(stored) as Record<string, unknown>[];
  for (const [i, g] of graders.entries()) {
    if (!needsPreparation(g)) continue;
    const fields = await prepare(g, { ...ctx, usage });
    Object.assign(g, fields);
    Object.assign(raw[i], fields);
  }
  return { raw, usage };
}

/**
 * Prepares an evaluation's or a rule's graders (`prepareCriteria`), prices and meters the judge
 * calls it took, and stores the prepared criteria compare-and-set in the owner's row: another
 * worker may have stored its own first; then theirs are returned (to be parsed and used) and
 * ours dropped. The judge was paid either way: the spending goes to `usage_counters` (and to
 * `spent`, the owner's own record of it) in the same transaction.
 */
export async function prepareStored(
  deps: Deps,
  services: { costs: CostService; judge: Judge },
  work: {
    table: 'evaluations' | 'evaluation_rules';
    owner: { id: string; projectId: string; creatorId: string | null };
    graders: GraderSpec[];
    stored: unknown;
    signal: AbortSignal;
    spent?: (sql: Sql, priced: ReturnType<typeof priceUsage>) => Promise<unknown>;
  },
): Promise<unknown | null> {
  const { owner } = work;
  const { raw, usage } = await prepareCriteria(work.graders, work.stored, {
    judge: services.judge,
    signal: work.signal,
  });
  const pricer = services.costs.judgePricer();
  const priced = priceUsage({ pricer, clock: deps.clock }, usage);
  meterJudgeUsage(deps.meters, priced.priced);
  return deps.db.transaction(async (sql) => {
    // A rule's updated_at stays: the rule has not changed for its users.
    const updated = await sql(
      `UPDATE ${work.table} SET testing_criteria = $2::jsonb WHERE id = $1::uuid AND testing_criteria = $3::jsonb RETURNING id`,
      [owner.id, JSON.stringify(raw), JSON.stringify(work.stored)],
    );
    await work.spent?.(sql, priced);
    await addUsage(
      sql,
      deps.clock.now(),
      { userId: owner.creatorId, projectId: owner.projectId },
      { judgeTokens: priced.inputTokens + priced.outputTokens, judgeCost: priced.cost },
    );
    if (updated.length) return null;
    const [row] = await sql<{ testing_criteria: unknown }>(
      `SELECT testing_criteria FROM ${work.table} WHERE id = $1::uuid`,
      [owner.id],
    );
    return row?.testing_criteria ?? null;
  });
}

export function createPreparation(deps: Deps, services: { costs: CostService; judge: Judge }) {
  const { db } = deps;
  const preparing = new Map<string, Promise<RunningEvaluation>>();
  // Aborted when the worker stops: judge calls made for an evaluation rather than an item (G-Eval steps).
  const stopping = new AbortController();
  setMaxListeners(100, stopping.signal);

  async function load(id: string): Promise<RunningEvaluation> {
    const row = await db.prisma.evaluation.findUniqueOrThrow({
      where: { id },
      select: {
        id: true,
        projectId: true,
        creatorId: true,
        testingCriteria: true,
        dataSource: true,
        outputs: true,
      },
    });
    const graders = parsed(row.testingCriteria);
    const evaluation = {
      id,
      projectId: row.projectId,
      creatorId: row.creatorId,
      graders,
      judged: graders.some(needsJudge),
      generation: row.outputs === 'GENERATED' ? generationOf(row.dataSource) : null,
      judgeQuota: false,
      judgeQuotaAt: 0,
    };
    if (graders.some(needsPreparation)) await prepareGraders(evaluation, row.testingCriteria);
    return evaluation;
  }

  async function prepareGraders(evaluation: RunningEvaluation, stored: unknown) {
    const theirs = await prepareStored(deps, services, {
      table: 'evaluations',
      owner: evaluation,
      graders: evaluation.graders,
      stored,
      signal: stopping.signal,
      // The evaluation's own judge spending includes its preparations.
      spent: (sql, { inputTokens, outputTokens, cost, calls, unpricedCalls }) =>
        sql(
          `UPDATE evaluations SET judge_input_tokens = judge_input_tokens + $2, judge_output_tokens = judge_output_tokens + $3, judge_cost = judge_cost + $4::numeric,
             judge_calls = judge_calls + $5, judge_unpriced_calls = judge_unpriced_calls + $6 WHERE id = $1::uuid`,
          [evaluation.id, inputTokens, outputTokens, cost, calls, unpricedCalls],
        ),
    });
    if (theirs) evaluation.graders = parsed(theirs);
  }

  return {
    /** The evaluation, loaded and prepared once while any of its items is in flight. */
    evaluationOf(id: string): Promise<RunningEvaluation> {
      let pending = preparing.get(id);
      if (!pending) {
        pending = load(id);
        preparing.set(id, pending);
        pending.catch(() => preparing.delete(id));
      }
      return pending;
    },
    /** None of its items is in flight: a changed evaluation is read again next time. */
    forget: (id: string) => preparing.delete(id),
    meterGrader: (run: GraderRun) => meterGraderRun(deps.meters, run),
    stop: () => stopping.abort(),
  };
}
