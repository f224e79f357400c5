// Judge spending made but not committed yet (a group commit's queue): what a quota check must add
// to the stored counters, so spending stops within the work in flight. One rule for every writer.
import { fromUnits, toUnits } from '../../lib/money';

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

/** The user's and the project's share of `spent`. */
export function unwrittenOf(
  spent: readonly UnwrittenSpending[],
  subjects: { userId: string | null; projectId: string },
): { user: Spending; project: Spending } {
  return {
    user: sum(spent, (s) => subjects.userId !== null && s.userId === subjects.userId),
    project: sum(spent, (s) => s.projectId === subjects.projectId),
  };
}
