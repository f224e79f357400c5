/** Connection pages: every list field takes `first`/`last` from 1 to MAX_PAGE and gives DEFAULT_PAGE without them. */
export const DEFAULT_PAGE = 20;
export const MAX_PAGE = 100;

/** Items a connection returns for these arguments (what the cost analysis counts, and what a hand-written resolver fetches). */
export function pageSize(args: { first?: unknown; last?: unknown }): number {
  const asked =
    typeof args.first === 'number'
      ? args.first
      : typeof args.last === 'number'
        ? args.last
        : DEFAULT_PAGE;
  return Math.max(0, Math.min(asked, MAX_PAGE));
}
