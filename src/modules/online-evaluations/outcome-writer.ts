// Judged tasks are written through a group commit (ratelimit/unwritten.ts createSpendingWriter):
// those that finish while a write runs are written together by the next one. One transaction per
// group checks each score against its name's config (scores/internal.ts; a score refused errors
// its task), marks each task done under this worker's claim, writes the scores of those it still
// held, and adds every outcome's judge spending to its task and to the usage counters; a task
// another worker took over writes no score. Meters are told after the commit.
import type { Deps } from '../../deps';
import type { Sql } from '../../storage/db';
import type { Events } from '../events/emitter';
import { createSpendingWriter } from '../ratelimit/unwritten';
import { checkDrafts, type ScoreDraft } from '../scores/internal';
import { writeScores } from '../scores/repo';
import { addSpending, markDone, type TaskOutcome } from './task-sql';

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
    const drafts = await checkDrafts(
      sql,
      group.flatMap((j) => j.scores),
      deps.clock.now(),
    );
    let at = 0;
    return group.map((j) => {
      const mine = drafts.slice(at, (at += j.scores.length));
      const rows = mine.flatMap((d) => (d.row ? [d.row] : []));
      const refused = mine.flatMap((d) => (d.refused === null ? [] : [d.refused]));
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
