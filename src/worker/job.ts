// What a background job gives the worker pool (pool.ts): its SQL to claim, record and hand back
// work, and its work function. The database is the queue; the pool does the rest (buffer, slots,
// lease renewal, wake-ups, backoff, drain). A new job is one file returning a Job, listed in
// jobs.ts.

export interface Job<W, O> {
  /** Names the job in logs and wake-ups. */
  name: string;
  /** Units of work run at once by one process. */
  concurrency: number;
  /** Most units held (running and claimed waiting for a slot); default twice the concurrency. */
  maxHeld?: number;
  /** Longest sleep when nothing could be claimed: polling is the safety net behind wake-ups. */
  idleMs: number;
  /** Pub/sub topics on which any process announces work for this job (a frequent one throttled). */
  wakeOn?: { topic: string; throttleMs?: number }[];
  /** Identifies a claim: a claim this process holds already is not taken twice. */
  key(work: W): string;
  /**
   * A cap per key in this process: at most `max` units of one key run at once (units of a key at
   * its cap wait, others pass them); a null key is not capped. See `claim` for what the job is
   * told of its keys.
   */
  limitBy?: { key(work: W): string | null; max: number };
  /**
   * Claims up to `limit` units with a lease (FOR UPDATE SKIP LOCKED), in the order to run them.
   * With `limitBy`, `keys.full` are keys with `max` or more units waiting (claim none of them for
   * now), and `keys.idle` keys this process holds nothing of any more (what the job holds per key
   * beyond its units may be let go of).
   */
  claim(limit: number, keys?: { full: string[]; idle: string[] }): Promise<W[]>;
  /**
   * Does one unit; resolves with its outcome to record, or null when there is none to record.
   * Rejects when it could not be done: then `failed` decides. The signal aborts when the pool
   * stops (see `onStop`) or when a timer of the job aborts the unit.
   */
  run(work: W, signal: AbortSignal): Promise<O | null>;
  /**
   * Records an outcome under the unit's claim, through the job's group commit
   * (lib/group-commit.ts); then announces it. Called once the unit's slot is free, so the next
   * unit need not wait for the database.
   */
  record(outcome: O): Promise<unknown>;
  /** After `run` or `record` failed (not aborted): try again later, give up, or log. */
  failed(work: W, error: unknown): Promise<unknown> | void;
  /**
   * Hands back claimed units not done (the pool stops): due again for any worker, the attempt not
   * counted. Only under each unit's claim: for a unit recorded meanwhile it changes nothing.
   * `keys` (with `limitBy`): keys this process holds nothing of any more, to let go of.
   */
  release?(works: W[], keys: string[]): Promise<unknown>;
  /** Units held longer than a lease have it renewed every `ms` / 4 while held. */
  lease?: { ms: number; renew(works: W[]): Promise<unknown> };
  /**
   * When the pool stops, units running are aborted at once ('abort': judge calls, redone by
   * whoever claims the unit next) or may finish until the drain deadline ('finish': a request the
   * receiver may already be handling). Either way what is not done by then is handed back.
   */
  onStop: 'abort' | 'finish';
  /** Called once when the pool stops: work of the job's own, outside any unit, ends. */
  stopping?(): void;
  /** Checks run every `ms` while the pool runs (a cancel seen in the database aborts its units). */
  every?: { name: string; ms: number; run(held: HeldWork<W>): Promise<unknown> }[];
}

/** What a job's timer sees of the units the pool holds for it. */
export interface HeldWork<W> {
  /** Units held: waiting for a slot, running, or being recorded. */
  works: W[];
  /** Aborts the held units that match (their `run` signal). */
  abort(where: (work: W) => boolean): void;
}
