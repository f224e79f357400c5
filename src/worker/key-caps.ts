// A job's per-key cap in one process (Job.limitBy): at most `max` units sharing a key run at once
// (a webhook endpoint's deliveries). The pool counts per key the units waiting in its buffer,
// running, and held at all; from these it picks what may start, tells the claim which keys not
// to claim more of (enough waiting) and which keys it holds nothing of any more (idle: the job
// may let go of them, such as an endpoint's sender lease).

/** A key's units: waiting for a slot, running, held in any state (waiting, running, recording). */
type Counts = { waiting: number; running: number; held: number };

export class KeyCaps {
  private readonly counts = new Map<string, Counts>();
  private readonly idle = new Set<string>();
  /** Units of any key waiting. */
  private waiting = 0;

  constructor(readonly max: number) {}

  private of(key: string) {
    let c = this.counts.get(key);
    if (!c) this.counts.set(key, (c = { waiting: 0, running: 0, held: 0 }));
    this.idle.delete(key);
    return c;
  }

  /** A unit of `key` is held, waiting for a slot (or, when stopping, only held). */
  held(key: string, waiting: boolean) {
    const c = this.of(key);
    c.held += 1;
    if (waiting) {
      c.waiting += 1;
      this.waiting += 1;
    }
  }

  /** Whether a unit of `key` may start now. */
  mayStart(key: string) {
    return (this.counts.get(key)?.running ?? 0) < this.max;
  }

  started(key: string) {
    const c = this.of(key);
    c.waiting -= 1;
    this.waiting -= 1;
    c.running += 1;
  }

  /**
   * A unit's run ended. It may have been forgotten already (cut short by the job, or nothing to
   * record): its key is let go of only now, so that its count never comes back at -1.
   */
  ended(key: string) {
    const c = this.counts.get(key);
    if (!c) return;
    c.running -= 1;
    this.maybeIdle(key, c);
  }

  /** A unit is no longer held (recorded, failed, handed back); `waiting`: it never started. */
  forgotten(key: string, waiting = false) {
    const c = this.counts.get(key);
    if (!c) return;
    c.held -= 1;
    if (waiting) {
      c.waiting -= 1;
      this.waiting -= 1;
    }
    this.maybeIdle(key, c);
  }

  /** Nothing of `key` held or running any more: idle. */
  private maybeIdle(key: string, c: Counts) {
    if (c.held === 0 && c.running === 0) {
      this.counts.delete(key);
      this.idle.add(key);
    }
  }

  /**
   * Of the `buffered` units waiting (keyless ones among them), those that could start as soon as a
   * slot is free: keyless ones, and each key's up to its cap.
   */
  startable(buffered: number) {
    let n = buffered - this.waiting;
    for (const c of this.counts.values())
      n += Math.min(c.waiting, Math.max(0, this.max - c.running));
    return n;
  }

  /** Keys with `max` or more units waiting: a claim takes no more of them for now. */
  full() {
    const keys: string[] = [];
    for (const [key, c] of this.counts) if (c.waiting >= this.max) keys.push(key);
    return keys;
  }

  fullCount() {
    let n = 0;
    for (const c of this.counts.values()) if (c.waiting >= this.max) n += 1;
    return n;
  }

  /** Keys of which nothing is held since they were last taken. */
  idleKeys() {
    return [...this.idle];
  }

  /** The job let go of these idle keys (a key held again meanwhile is no longer idle anyway). */
  letGo(keys: string[]) {
    for (const key of keys) this.idle.delete(key);
  }

  /** Every key held or idle: what a stopping pool lets go of once it has handed everything back. */
  allKeys() {
    return [...this.counts.keys(), ...this.idle];
  }
}
