// A concurrency limit whose waiters leave the queue when their signal aborts. cockatiel's bulkhead
// keeps an aborted waiter queued and, when a freed slot reaches it, refuses it without passing the
// slot on: after a mass abort (a canceled or budget-stopped evaluation) the waiters behind it hang
// until some other call ends, which at shutdown is never.

export function createLimiter(capacity: number) {
  let active = 0;
  const waiting = new Set<() => void>();

  function release() {
    const next = waiting.values().next();
    if (next.done) {
      active -= 1;
      return;
    }
    // The slot passes to the next waiter as it is (active stays counted).
    waiting.delete(next.value);
    next.value();
  }

  function acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (active < capacity) {
      active += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        waiting.delete(start);
        reject(signal!.reason);
      };
      const start = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      waiting.add(start);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  return {
    /** Runs `fn` once a slot is free; rejects with the signal's reason if it aborts first. */
    async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      await acquire(signal);
      try {
        return await fn();
      } finally {
        release();
      }
    },
    /** Calls running and waiting (tests, metrics). */
    stats: () => ({ active, waiting: waiting.size }),
  };
}

export type Limiter = ReturnType<typeof createLimiter>;
