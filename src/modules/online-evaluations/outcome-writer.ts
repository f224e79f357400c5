// Judged tasks are written through a group commit (lib/group-commit.ts): those that finish while
// a write runs are written together by the next one. One transaction per group marks each task
// done under this worker's claim, writes the scores of those it still held, and adds every
// outcome's judge spending to its task and to the usage counters; a task another worker took over
// writes no score. Meters are told after the commit.
import type { Deps } from '../../deps';
import { createGroupCommit } from '../../lib/group-commit';
import { fromUnits, toUnits } from '../../lib/money';
import type { Events } from '../events/emitter';
import { type ScoreWrite, writeScores } from '../scores/repo';
import { addSpending, markDone, type TaskOutcome } from './task-sql';

export interface Judged {
  outcome: TaskOutcome;
  /** Written only when the task is still this worker's. */
  scores: ScoreWrite[];
  /** Queued by backfill (its lag is not traffic's). */
  backfill: boolean;
}

type Spending = { judgeTokens: number; judgeCost: string };

const METER_OUTCOME = { DONE: 'evaluated', ERRORED: 'errored', SKIPPED: 'skipped_budget' } as const;

export function createTaskWriter(deps: Deps, token: string, events: Events) {
  const commit = createGroupCommit((group: Judged[]) =>
    events.transaction(async (sql, emit) => {
      const outcomes = group.map((j) => j.outcome);
      const marked = await markDone(sql, token, outcomes);
      await addSpending(sql, deps.clock.now(), outcomes);
      await writeScores(
        sql,
        emit,
        group.filter((j) => marked.has(j.outcome.taskId)).flatMap((j) => j.scores),
      );
      return group.map((j) => marked.get(j.outcome.taskId) ?? null);
    }),
  );

  /** The judge spending of unwritten outcomes whose subject is `id`. */
  function spendingOf(
    unwritten: readonly Judged[],
    of: (o: TaskOutcome) => string | null,
    id: string | null,
  ): Spending {
    let tokens = 0;
    let units = 0n;
    for (const { outcome } of unwritten) {
      if (id === null || of(outcome) !== id) continue;
      tokens += outcome.judgeInputTokens + outcome.judgeOutputTokens;
      units += toUnits(outcome.judgeCost);
    }
    return { judgeTokens: tokens, judgeCost: fromUnits(units) };
  }

  return {
    /** Runs `read` (of committed usage) with the spending judged here and not yet committed. */
    withUnwritten<T>(
      subjects: { userId: string | null; projectId: string },
      read: (unwritten: { user: Spending; project: Spending }) => Promise<T>,
    ): Promise<T> {
      return commit.between((unwritten) =>
        read({
          user: spendingOf(unwritten, (o) => o.userId, subjects.userId),
          project: spendingOf(unwritten, (o) => o.projectId, subjects.projectId),
        }),
      );
    },

    /** Resolves once written: whether the task was still this worker's to write. */
    async write(judged: Judged): Promise<boolean> {
      const lag = await commit.add(judged);
      if (lag === null) return false;
      deps.meters.onlineEvaluations.inc({ outcome: METER_OUTCOME[judged.outcome.state] });
      if (judged.outcome.state === 'DONE' && !judged.backfill)
        deps.meters.onlineEvaluationLag.observe(lag);
      return true;
    },
  };
}
