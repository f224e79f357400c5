// Waiting against a deadline (epoch ms). Shutdown runs every step against one deadline: what has
// not settled by then is left behind (no longer awaited), never waited for past it.

/** Resolves true once every promise has settled, or false when `by` comes first (they keep running). */
export function settledBy(
  promises: Iterable<Promise<unknown> | null | undefined>,
  by: number,
): Promise<boolean> {
  const all = Promise.allSettled([...promises]).then(() => true);
  // setTimeout would treat Infinity as 1 ms.
  if (!Number.isFinite(by)) return all;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, by - Date.now()));
  });
  return Promise.race([all, late]).finally(() => clearTimeout(timer));
}
