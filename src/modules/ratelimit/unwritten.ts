// Judge spending made but not committed yet (a group commit's queue): what a quota check must add
// to the stored counters, so spending stops within the work in flight. One rule for every writer:
// the evaluation job and the online evaluation job write their outcomes through
// `createSpendingWriter`, each supplying only how a group is written and what an entry spent.
import { createGroupCommit } from '../../lib/group-commit';
import { fromUnits, toUnits } from '../../lib/money';
import type { Sql } from '../../storage/db';
import type { Emit, Events } from '../events/emitter';

export type Spending = { judgeTokens: number; judgeCost: string };

export interface UnwrittenSpending {
  userId: string | null;
  projectId: string | null;
  judgeInputTokens: number;
  judgeOutputTokens: number;
  judgeCost: string;
}

function sum(
  spent: readonly UnwrittenSpending[],
  keep: (s: UnwrittenSpending) => boolean,
): Spending {
  let tokens = 0;
  let units = 0n;
  for (const s of spent) {
    if (!keep(s)) continue;
    tokens += s.judgeInputTokens + s.judgeOutputTokens;
    units += toUnits(s.judgeCost);
  }
  return { judgeTokens: tokens, judgeCost: fromUnits(units) };
}

export type UnwrittenShares = { user: Spending; project: Spending; instance: Spending };

/** The user's and the project's share of `spent`, and all of it (the instance's). */
function unwrittenOf(
  spent: readonly UnwrittenSpending[],
  subjects: { userId: string | null; projectId: string },
): UnwrittenShares {
  return {
    user: sum(spent, (s) => subjects.userId !== null && s.userId === subjects.userId),
    project: sum(spent, (s) => s.projectId === subjects.projectId),
    instance: sum(spent, () => true),
  };
}

/**
 * A group commit (lib/group-commit.ts) of judged work: entries that arrive while a group is being
 * written are written together by the next `write`, in one `events.transaction` (what it emits
 * goes out with its commit). `spending` says what an entry spent and against whom.
 */
export function createSpendingWriter<T, R>(
  events: Events,
  how: {
    spending: (entry: T) => UnwrittenSpending;
    write: (sql: Sql, emit: Emit, group: T[]) => Promise<R[]>;
  },
) {
  const commit = createGroupCommit((group: T[]) =>
    events.transaction((sql, emit) => how.write(sql, emit, group)),
  );
  return {
    /**
     * Runs `read` (of committed usage) with the user's and the project's spending queued here and
     * not yet committed, while no group commits: each entry is counted once, stored or queued.
     */
    withUnwritten<X>(
      subjects: { userId: string | null; projectId: string },
      read: (unwritten: UnwrittenShares) => Promise<X>,
    ): Promise<X> {
      return commit.between((unwritten) =>
        read(unwrittenOf(unwritten.map(how.spending), subjects)),
      );
    },
    /** Resolves with the entry's result once its group is written. */
    write(entry: T): Promise<R> {
      return commit.add(entry);
    },
  };
}
