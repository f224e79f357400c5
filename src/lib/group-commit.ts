// Group commit: items handed in while a write is running are written together by the next one,
// so a busy queue writes its outcomes in a few statements instead of one transaction per item.
// A group whose write fails is written again item by item: each item fails alone, if at all.
// Every job of the worker pool records its outcomes through one of these.

/**
 * `lingerMs`: how long items gather before each write, when nothing waits on a write's result
 * (outcomes recorded after their slot was freed): fewer, larger writes. Default 0: written at once.
 */
export function createGroupCommit<T, R>(
  write: (group: T[]) => Promise<R[]>,
  { lingerMs = 0 }: { lingerMs?: number } = {},
) {
  let waiting: { item: T; resolve: (result: R) => void; reject: (error: unknown) => void }[] = [];
  let flushing = false;
  // Writes and `between` reads take turns, in the order they came. A turn free now starts at
  // once (synchronously): the first item's write is not put off.
  let busy = false;
  const turns: (() => void)[] = [];
  async function exclusive<X>(fn: () => Promise<X>): Promise<X> {
    if (busy) await new Promise<void>((resolve) => turns.push(resolve));
    busy = true;
    try {
      return await fn();
    } finally {
      // The turn passes to the next in line as it is (still busy), or ends.
      const next = turns.shift();
      if (next) next();
      else busy = false;
    }
  }

  async function flush() {
    flushing = true;
    try {
      while (waiting.length) {
        if (lingerMs) await new Promise((resolve) => setTimeout(resolve, lingerMs));
        await exclusive(async () => {
          const group = waiting;
          waiting = [];
          try {
            const results = await write(group.map((p) => p.item));
            group.forEach((p, i) => p.resolve(results[i]));
          } catch (error) {
            if (group.length === 1) return group[0].reject(error);
            // One item the write cannot take (text Postgres cannot store, say) must not fail the
            // others written with it: each is written again alone (the failed write rolled back).
            for (const p of group)
              await write([p.item]).then(([result]) => p.resolve(result), p.reject);
          }
        });
      }
    } finally {
      flushing = false;
    }
  }

  return {
    /** Resolves with this item's result once its group is written. */
    add(item: T): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        waiting.push({ item, resolve, reject });
        if (!flushing) void flush();
      });
    },
    /**
     * Runs `read` while no group is being written, given the items added and not written yet: a
     * read of committed rows then sees each item exactly once, either committed or among these
     * (a quota check adding spending not yet written), never both and never neither.
     */
    between<X>(read: (unwritten: readonly T[]) => Promise<X>): Promise<X> {
      return exclusive(() => read(waiting.map((p) => p.item)));
    },
  };
}

export type GroupCommit<T, R> = ReturnType<typeof createGroupCommit<T, R>>;
