// Judged tasks are written through a group commit (ratelimit/unwritten.ts createSpendingWriter):
// those that finish while a write runs are written together by the next one. One transaction per
// group checks each score against its name's config (as every writer of scores does; a score
// refused errors its task), marks each task done under this worker's claim, writes the scores of
// those it still held, and adds every outcome's judge spending to its task and to the usage
// counters; a task another worker took over writes no score. Meters are told after the commit.
import { v7 as uuidv7 } from 'uuid';
import type { Deps } from '../../deps';
import type { Sql } from '../../storage/db';
import type { Events } from '../events/emitter';
import { createSpendingWriter } from '../ratelimit/unwritten';
import { checkScore, type ScoreConfigRow, type ScoreInput } from '../scores/input';
import { configsByName, type ScoreWrite, writeScores } from '../scores/repo';
import { addSpending, markDone, type TaskOutcome } from './task-sql';

/** A grader's result as a score, before it is checked against its name's config. */
export interface ScoreDraft {
  /** One target: the trace (traceId) or the span (spanId). */
  input: ScoreInput;
  traceId: string;
  ruleId: string;
  graderName: string;
}

export interface Judged {
  outcome: TaskOutcome;
  /** Written only when the task is still this worker's. */
  scores: ScoreDraft[];
  /** Queued by backfill (its lag is not traffic's). */
  backfill: boolean;
}

const METER_OUTCOME = { DONE: 'evaluated', ERRORED: 'errored', SKIPPED: 'skipped_budget' } as const;

export function createTaskWriter(deps: Deps, token: string, events: Events) {
  /** The group's scores checked against their configs; a task with a score refused errors. */
  async function checked(sql: Sql, group: Judged[]) {
    const now = deps.clock.now();
    const names = new Map<string, string[]>();
    for (const j of group)
      for (const d of j.scores)
        names.set(j.outcome.projectId, [...(names.get(j.outcome.projectId) ?? []), d.input.name]);
    const configs = new Map<string, Map<string, ScoreConfigRow>>();
    for (const [projectId, of] of names)
      configs.set(projectId, await configsByName(sql, projectId, of));
    return group.map((j) => {
      const rows: ScoreWrite[] = [];
      const refused: string[] = [];
      for (const d of j.scores) {
        const config = configs.get(j.outcome.projectId)?.get(d.input.name);
        const { problems, score } = checkScore(d.input, 0, config, now, { internal: true });
        if (!score) {
          refused.push(`${d.input.name} ${problems[0].field} ${problems[0].message}`);
          continue;
        }
        rows.push({
          ...score,
          id: uuidv7(),
          projectId: j.outcome.projectId,
          traceId: d.traceId,
          spanId: score.target.kind === 'span' ? score.target.id : null,
          sessionId: null,
          evaluationItemId: null,
          authorUserId: null,
          authorApiKeyId: null,
          evaluationId: null,
          evaluationRuleId: d.ruleId,
          graderName: d.graderName,
        });
      }
      const outcome: TaskOutcome = refused.length
        ? {
            ...j.outcome,
            state: 'ERRORED',
            lastError: `refused by its score config: ${refused.join('; ')}`.slice(0, 2_000),
          }
        : j.outcome;
      return { outcome, rows };
    });
  }

  const writer = createSpendingWriter(events, {
    spending: (j: Judged) => j.outcome,
    async write(sql, emit, group) {
      const judged = await checked(sql, group);
      const outcomes = judged.map((j) => j.outcome);
      const marked = await markDone(sql, token, outcomes);
      await addSpending(sql, deps.clock.now(), outcomes);
      await writeScores(
        sql,
        emit,
        judged.filter((j) => marked.has(j.outcome.taskId)).flatMap((j) => j.rows),
      );
      return judged.map((j) => ({
        lag: marked.get(j.outcome.taskId) ?? null,
        state: j.outcome.state,
      }));
    },
  });

  return {
    /** Runs `read` (of committed usage) with the spending judged here and not yet committed. */
    withUnwritten: writer.withUnwritten,

    /** Resolves once written: whether the task was still this worker's to write. */
    async write(judged: Judged): Promise<boolean> {
      const { lag, state } = await writer.write(judged);
      if (lag === null) return false;
      deps.meters.onlineEvaluations.inc({ outcome: METER_OUTCOME[state] });
      if (state === 'DONE' && !judged.backfill) deps.meters.onlineEvaluationLag.observe(lag);
      return true;
    },
  };
}
