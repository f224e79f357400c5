// Service level objectives, computed from good and total events over a window: the value (the
// share of good events), the error budget left (1 − bad share / allowed bad share; negative when
// overspent) and the burn rate (how many times faster than allowed the budget is being spent).

export interface SloWindow {
  window: string;
  good: number;
  total: number;
  /** null without events. */
  value: number | null;
  errorBudgetRemaining: number | null;
  burnRate: number | null;
}

export function sloWindow(
  window: string,
  objective: number,
  good: number,
  total: number,
): SloWindow {
  if (total <= 0)
    return { window, good, total, value: null, errorBudgetRemaining: null, burnRate: null };
  const value = good / total;
  const allowed = 1 - objective;
  const burnRate = allowed > 0 ? (1 - value) / allowed : value < 1 ? Infinity : 0;
  return { window, good, total, value, errorBudgetRemaining: 1 - burnRate, burnRate };
}
