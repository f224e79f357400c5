// The worker pool: every background job runs on it (job.ts says what a job supplies). Per job, a
// loop claims work with leases into a small buffer, so that a freed slot starts the next unit
// without a database trip; up to `concurrency` units run at once; each outcome is recorded after
// its slot is freed, and recording is bounded (work waits when the database falls behind). Leases
// of what is held are renewed; on stop, what was not done is handed back for another worker.
// A job that found work claims again at once, one that found none sleeps until its poll interval
// or a wake-up (pub/sub) (briefly, when the claim before found work), and one whose claim failed
// (the database away) backs off.
import { setMaxListeners } from 'node:events';
import type { Deps } from '../deps';
import { backoffDelay } from '../lib/backoff';
import { settledBy } from '../lib/deadline';
import { throttle } from '../lib/throttle';
import type { Job } from './job';
import { KeyCaps } from './key-caps';

// After a claim fails: 0.5 s, 1 s, 2 s … up to 8 s, so that the worker resumes soon after the
// database returns without retrying in a tight loop while it is away.
const FAILURE_BACKOFF = { baseMs: 500, capMs: 8_000 };
// A claim that finds nothing just after one that found work looks again this soon (or when a unit
// ends), not a whole poll interval later: it may have met a passing lock (SKIP LOCKED).
const RECHECK_MS = 25;
// Aborted work ends within moments (its calls are cut); it is waited for this long at most before
// what is still held is handed back.
const ABORT_GRACE_MS = 250;

export interface WorkerPool {
  /** Ends the claim loops and hands back the work held; work may run until `drainBy` (epoch ms). */
  stop(drainBy?: number): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: each job has its own types of work and outcome; the pool hands them back to that job only.
export type AnyJob = Job<any, any>;

export function startWorkerPool(deps: Pick<Deps, 'log' | 'pubsub'>, jobs: AnyJob[]): WorkerPool {
  const lanes = jobs.map((job) => startLane(deps, job));
  deps.log.info({ jobs: jobs.map((j) => j.name) }, 'worker started');
  return {
    async stop(drainBy = Infinity) {
      await Promise.all(lanes.map((lane) => lane.stop(drainBy)));
    },
  };
}

interface Held<W> {
  work: W;
  abort: AbortController;
}

/** One job on the pool: its claim loop, buffer, slots, timers and drain. */
function startLane<W, O>(deps: Pick<Deps, 'log' | 'pubsub'>, job: Job<W, O>) {
  const { log } = deps;
  const maxHeld = job.maxHeld ?? 2 * job.concurrency;
  // Every unit claimed and not yet done with, by claim; `buffer` those waiting for a slot.
  const held = new Map<string, Held<W>>();
  const buffer: Held<W>[] = [];
  const running = new Set<Promise<void>>();
  const recording = new Set<Promise<void>>();
  const stopping = new AbortController();
  let slotFreed: () => void = () => {};
  stopping.signal.addEventListener('abort', () => slotFreed(), { once: true });
  // Outcomes waiting for their write hold no slot, but work waits when the database falls behind.
  const maxRecording = Math.max(4 * job.concurrency, maxHeld);
  const full = () => running.size >= job.concurrency || recording.size >= maxRecording;
  // The per-key cap (job.limitBy), when the job has one: a unit's key, or null (not capped).
  const caps = job.limitBy ? new KeyCaps(job.limitBy.max) : null;
  const capKey = (h: Held<W>) => (caps ? job.limitBy!.key(h.work) : null);

  /** `waiting`: the unit is forgotten from the buffer (never started). */
  const forget = (h: Held<W>, waiting = false) => {
    const key = job.key(h.work);
    if (held.get(key) !== h) return;
    held.delete(key);
    const capped = capKey(h);
    if (capped !== null) caps!.forgotten(capped, waiting);
  };
  const next = () => {
    fill();
    slotFreed();
  };

  /** Tracks a write that settles a unit (its outcome, or its failure handled). */
  function track(write: Promise<void>) {
    const tracked = write.finally(() => {
      recording.delete(tracked);
      next();
    });
    recording.add(tracked);
  }

  function failed(h: Held<W>, error: unknown) {
    // Cut short: by a stop (held, so handed back below) or by the job (a cancel: nothing to do).
    if (h.abort.signal.aborted) {
      if (!stopping.signal.aborted) forget(h);
      return;
    }
    const handled = Promise.resolve().then(() => job.failed(h.work, error));
    track(
      handled.then(
        () => forget(h),
        (e) => {
          log.error(
            { err: e, job: job.name, work: job.key(h.work) },
            'could not record or hand back work; its lease will expire',
          );
          forget(h);
        },
      ),
    );
  }

  function launch(h: Held<W>) {
    const capped = capKey(h);
    if (capped !== null) caps!.started(capped);
    const run: Promise<void> = Promise.resolve()
      .then(() => job.run(h.work, h.abort.signal))
      .then(
        (outcome) => {
          if (outcome === null) return forget(h);
          const recorded = Promise.resolve().then(() => job.record(outcome));
          track(
            recorded.then(
              () => forget(h),
              (error) => failed(h, error),
            ),
          );
        },
        (error) => failed(h, error),
      )
      .finally(() => {
        running.delete(run);
        if (capped !== null) caps!.ended(capped);
        next();
      });
    running.add(run);
  }

  /**
   * Holds claimed units (not those held already: a lease that lapsed while this process had it),
   * waiting for a slot; when stopping, only held: the stop hands back whatever is held.
   */
  function hold(works: W[]) {
    for (const work of works) {
      if (held.has(job.key(work))) continue;
      const abort = new AbortController();
      // Every call the unit makes (a grader makes several, each retried) listens to its signal.
      setMaxListeners(100, abort.signal);
      const h = { work, abort };
      held.set(job.key(work), h);
      const waiting = !stopping.signal.aborted;
      if (waiting) buffer.push(h);
      const capped = capKey(h);
      if (capped !== null) caps!.held(capped, waiting);
    }
  }

  /**
   * Starts waiting units, in order, while slots are free (a unit whose key is at its cap is passed
   * over, not waited for); returns how many it started.
   */
  function fill() {
    let launched = 0;
    for (let i = 0; i < buffer.length && !full(); ) {
      const capped = capKey(buffer[i]);
      if (capped !== null && !caps!.mayStart(capped)) i++;
      else {
        launch(buffer.splice(i, 1)[0]);
        launched++;
      }
    }
    return launched;
  }

  // Whether the last claim got all it asked for: then the queue may hold more, and the buffer is
  // topped up before it runs dry, so that a freed slot never waits for a claim's round trip.
  let deep = false;
  // Whether the last claim found work, and whether this one found none after it (see RECHECK_MS).
  let claimedBefore = false;
  let recheck = false;
  const room = () => maxHeld - running.size - buffer.length;
  // Units that can start once a slot is free: those waiting behind their key's cap do not count.
  const startable = () => (caps ? caps.startable(buffer.length) : buffer.length);
  // With a per-key cap: how many keys were full when a claim found nothing. Claiming again is
  // pointless until one of them has drained below full (or a wake-up announces other work), or
  // until the poll interval has passed (`passedOverUntil`): work comes due (a retry) unannounced.
  let passedOver: number | null = null;
  let passedOverUntil = 0;
  const claimNow = () =>
    startable() <= job.concurrency / 2 &&
    room() > 0 &&
    (!full() || deep) &&
    (passedOver === null || caps!.fullCount() < passedOver || Date.now() >= passedOverUntil);

  /** Waits until the buffer runs low, claims, fills the slots: how much there is to do. */
  async function step(): Promise<number> {
    while (!claimNow() && !stopping.signal.aborted) {
      let poll: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        slotFreed = resolve;
        const wait = passedOver === null ? 0 : passedOverUntil - Date.now();
        if (wait > 0) poll = setTimeout(resolve, wait);
      });
      clearTimeout(poll);
    }
    if (stopping.signal.aborted) return 0;
    const limit = room();
    deep = false;
    const keys = caps ? { full: caps.full(), idle: caps.idleKeys() } : undefined;
    const works = await job.claim(limit, keys);
    if (keys) caps!.letGo(keys.idle);
    deep = works.length >= limit;
    recheck = claimedBefore && works.length === 0;
    claimedBefore = works.length > 0;
    hold(works);
    const claimed = works.length;
    passedOver = keys && !claimed && keys.full.length ? keys.full.length : null;
    passedOverUntil = Date.now() + job.idleMs;
    // Units waiting behind their key's cap start as places free up (next()), not by claiming.
    return claimed + fill() + (passedOver ? 1 : startable());
  }

  // Wake-ups: one that comes while the loop is busy ends its next sleep at once.
  let woken = false;
  let wakeSleeper: (() => void) | null = null;
  const wake = () => {
    woken = true;
    wakeSleeper?.();
    passedOver = null;
    slotFreed();
  };
  /** Sleeps `ms`, or until woken (when `wakeable`), a unit ends (when `untilUnitEnds`) or stopped. */
  async function rest(ms: number, wakeable: boolean, untilUnitEnds = false) {
    if (wakeable && woken) {
      woken = false;
      return;
    }
    let end = () => {};
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      end = () => {
        clearTimeout(timer);
        resolve();
      };
      if (wakeable) wakeSleeper = end;
      if (untilUnitEnds) slotFreed = end;
      stopping.signal.addEventListener('abort', end, { once: true });
    });
    // One listener per sleep would pile up on the long-lived stop signal.
    stopping.signal.removeEventListener('abort', end);
    if (wakeable) {
      wakeSleeper = null;
      woken = false;
    }
  }

  async function loop() {
    // Failures in a row (an outage of the database, say), and when the last was logged.
    let failures = 0;
    let loggedAt = 0;
    while (!stopping.signal.aborted) {
      let found = 0;
      try {
        found = await step();
        if (failures) log.info({ job: job.name, failures }, 'job runs again');
        failures = 0;
      } catch (error) {
        failures += 1;
        // Once when failing starts, then once a minute while it lasts: not once per retry.
        if (failures === 1 || Date.now() - loggedAt >= 60_000) {
          log.error({ err: error, job: job.name, failures }, 'job failed; retrying with backoff');
          loggedAt = Date.now();
        }
      }
      if (found > 0 || stopping.signal.aborted) continue;
      // A failing job waits out its backoff: wake-ups (pub/sub, many a second) would make it spin.
      if (failures) await rest(backoffDelay(failures, FAILURE_BACKOFF), false);
      else if (recheck) await rest(RECHECK_MS, true, true);
      else await rest(job.idleMs, true);
    }
  }

  const works = () => [...held.values()].map((h) => h.work);
  const view = {
    get works() {
      return works();
    },
    abort: (where: (work: W) => boolean) => {
      for (const h of held.values()) if (where(h.work)) h.abort.abort();
    },
  };
  const timers = [...(job.every ?? [])];
  if (job.lease) {
    const { ms, renew } = job.lease;
    timers.push({
      name: 'lease renewal',
      ms: ms / 4,
      run: () => (held.size ? renew(works()) : Promise.resolve()),
    });
  }
  const intervals = timers.map((timer) => {
    // One run at a time (a database that does not answer must not pile them up); a failing timer
    // is logged when it starts failing, not each time.
    let busy = false;
    let failing = false;
    const interval = setInterval(() => {
      if (busy) return;
      busy = true;
      timer
        .run(view)
        .then(
          () => (failing = false),
          (error) => {
            if (!failing)
              log.warn(
                { err: error, job: job.name, timer: timer.name },
                'timer failed; retrying quietly until it works again',
              );
            failing = true;
          },
        )
        .finally(() => (busy = false));
    }, timer.ms);
    interval.unref();
    return interval;
  });

  const unlisten = (job.wakeOn ?? []).map(({ topic, throttleMs }) =>
    deps.pubsub.listen(topic, throttleMs ? throttle(wake, throttleMs) : wake),
  );
  const looping = loop();

  /** Hands back claimed units (only under their claims) and lets go of `keys` (see Job.release). */
  const release = (units: Held<W>[], keys: string[] = []) =>
    (units.length || keys.length) && job.release
      ? job.release(
          units.map((h) => h.work),
          keys,
        )
      : Promise.resolve();

  /**
   * Stopping: the loop ends (a claim in progress may finish until `drainBy`), units never started
   * are handed back at once, units running are aborted or left to finish (`onStop`) until
   * `drainBy`, and whatever is still held then (running, being recorded, cut short) is handed back:
   * a late outcome of it is refused, its claim being gone.
   */
  async function stop(drainBy: number) {
    unlisten.forEach((fn) => fn());
    intervals.forEach((interval) => clearInterval(interval));
    stopping.abort();
    // A claim stuck past the deadline (a database that does not answer) is left behind.
    if (!(await settledBy([looping], drainBy)))
      log.warn({ job: job.name }, 'a claim was still running at the drain deadline; left behind');
    const unstarted = buffer.splice(0);
    for (const h of unstarted) forget(h, true);
    // Keys of which nothing runs or is being recorded any more are let go of with them.
    const idle = caps?.idleKeys() ?? [];
    caps?.letGo(idle);
    const handedBack = release(unstarted, idle);
    handedBack.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
    job.stopping?.();
    if (job.onStop === 'abort') for (const h of held.values()) h.abort.abort();
    if (!(await settledBy([...running, ...recording], drainBy))) {
      log.warn(
        { job: job.name, running: running.size, recording: recording.size },
        'work still running or being recorded at the drain deadline; handing it back',
      );
      for (const h of held.values()) h.abort.abort();
      await settledBy(running, Date.now() + ABORT_GRACE_MS);
    }
    await Promise.all([handedBack, release([...held.values()], caps?.allKeys() ?? [])]);
  }

  return { stop };
}
