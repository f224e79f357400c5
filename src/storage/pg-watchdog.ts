// A database that stops answering without closing its connections (a frozen server, a hung disk,
// a network partition) leaves every statement on them waiting for ever: the socket is open and
// TCP has nothing to report. A time limit per statement cannot tell that from a slow, healthy
// statement (an aggregate over millions of rows). So the watchdog asks the database instead:
// once a statement has waited `probeAfterMs`, it checks on a connection of its own whether the
// database answers at all; only when it does not are the statements in flight given up on.

export interface WatchdogOptions {
  /** A statement in flight this long makes the watchdog check the database (again after as long). */
  probeAfterMs: number;
  /** Resolves when the database answers; rejects when it does not (bounded by its own timeout). */
  check(): Promise<void>;
  /** The check failed: no statement in flight will be answered. `error`: the check's. */
  onUnanswered(error: Error): void;
}

export interface Watchdog {
  /** A statement went out; call the returned function once it settles. */
  started(): () => void;
}

export function createWatchdog({ probeAfterMs, check, onUnanswered }: WatchdogOptions): Watchdog {
  // Start times in the order the statements went out: the first is the oldest.
  const inFlight = new Set<{ at: number }>();
  let timer: NodeJS.Timeout | undefined;
  let checking = false;
  let lastCheck = Number.NEGATIVE_INFINITY;

  const oldest = () => inFlight.values().next().value?.at;

  function schedule() {
    const first = oldest();
    if (timer || checking || first === undefined) return;
    // While the same slow statement runs, one check per `probeAfterMs`, not one per tick.
    const due = Math.max(first, lastCheck) + probeAfterMs;
    timer = setTimeout(run, Math.max(0, due - performance.now()));
    // Waiting statements keep the process alive, not the watchdog (and with none, there is no timer).
    timer.unref();
  }

  async function run() {
    timer = undefined;
    const first = oldest();
    if (first === undefined) return;
    if (performance.now() - first < probeAfterMs) return schedule();
    checking = true;
    try {
      await check();
    } catch (error) {
      onUnanswered(error instanceof Error ? error : new Error(String(error)));
    } finally {
      checking = false;
      lastCheck = performance.now();
      schedule();
    }
  }

  return {
    started() {
      const entry = { at: performance.now() };
      inFlight.add(entry);
      schedule();
      return () => void inFlight.delete(entry);
    },
  };
}
