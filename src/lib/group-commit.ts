// Group commit: items handed in while a write is running are written together by the next one,
// so a busy queue writes its outcomes in a few statements instead of one transaction per item.

export function createGroupCommit<T, R>(write: (group: T[]) => Promise<R[]>) {
  let pending: { item: T; resolve: (result: R) => void; reject: (error: unknown) => void }[] = [];
  let flushing = false;

  async function flush() {
    flushing = true;
    try {
      while (pending.length) {
        const group = pending;
        pending = [];
        try {
          const results = await write(group.map((p) => p.item));
          group.forEach((p, i) => p.resolve(results[i]));
        } catch (error) {
          group.forEach((p) => p.reject(error));
        }
      }
    } finally {
      flushing = false;
    }
  }

  return {
    /** Resolves with this item's result once its group is written. */
    add(item: T): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        pending.push({ item, resolve, reject });
        if (!flushing) void flush();
      });
    },
  };
}
