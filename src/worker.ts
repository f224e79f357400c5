// The background worker: runs each registered job in its own loop until stopped. A job claims
// work from the database (the database is the queue) and returns how much it did; a job that
// found work runs again at once, one that found none sleeps until its interval or a wake-up, and
// one that failed backs off.
import type { Deps } from './deps';
import { backoffDelay } from './lib/backoff';
import { settledBy } from './lib/deadline';

// After a job fails: 0.5 s, 1 s, 2 s … up to 8 s, so that the worker resumes soon after the
// database returns without retrying in a tight loop while it is away.
const FAILURE_BACKOFF = { baseMs: 500, capMs: 8_000 };

export interface Job {
  name: string;
  /** Longest sleep when there is nothing to do. */
  idleMs: number;
  /** Does one batch; returns the number of things done. Must be idempotent and resumable. */
  run(signal: AbortSignal): Promise<number>;
  /**
   * Finishes or hands back work still in flight when the worker stops (jobs that run work in the
   * background). Work may run until `drainBy` (epoch ms); then it is aborted or left behind, and
   * what it held is handed back.
   */
  stop?(drainBy: number): Promise<void>;
}

export interface Worker {
  /** Wakes a job early (pub/sub notifications call this). */
  wake(name?: string): void;
  /** Ends the job loops and has the jobs hand back their work; work may run until `drainBy` (epoch ms). */
  stop(drainBy?: number): Promise<void>;
}

export function startWorker(deps: Deps, jobs: Job[]): Worker {
  const stopping = new AbortController();
  const wakers = new Map<string, () => void>();

  /** Sleeps `ms`, or until the job is woken (when `wakeable`) or the worker stops. */
  const rest = async (job: Job, ms: number, wakeable: boolean) => {
    let wake = () => {};
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
      if (wakeable) wakers.set(job.name, wake);
      stopping.signal.addEventListener('abort', wake, { once: true });
    });
    // One listener per sleep would pile up on the long-lived stop signal.
    stopping.signal.removeEventListener('abort', wake);
    if (wakeable) wakers.delete(job.name);
  };

  const loop = async (job: Job) => {
    // Failures in a row (an outage of the database, say), and when the last was logged.
    let failures = 0;
    let loggedAt = 0;
    while (!stopping.signal.aborted) {
      let done = 0;
      try {
        done = await job.run(stopping.signal);
        if (failures) deps.log.info({ job: job.name, failures }, 'job runs again');
        failures = 0;
      } catch (error) {
        failures += 1;
        // Once when failing starts, then once a minute while it lasts: not once per retry.
        if (failures === 1 || Date.now() - loggedAt >= 60_000) {
          deps.log.error({ err: error, job: job.name, failures }, 'job failed; retrying with backoff');
          loggedAt = Date.now();
        }
      }
      if (done > 0 || stopping.signal.aborted) continue;
      // A failing job waits out its backoff: wake-ups (pub/sub, many a second) would make it spin.
      await rest(job, failures ? backoffDelay(failures, FAILURE_BACKOFF) : job.idleMs, failures === 0);
    }
  };

  const running = jobs.map(loop);
  deps.log.info({ jobs: jobs.map((j) => j.name) }, 'worker started');
  return {
    wake(name) {
      for (const [jobName, wake] of wakers) if (!name || name === jobName) wake();
    },
    async stop(drainBy = Infinity) {
      stopping.abort();
      // A batch stuck past the deadline (a database that does not answer) is left behind.
      if (!(await settledBy(running, drainBy))) deps.log.warn({ jobs: jobs.map((j) => j.name) }, 'a job batch was still running at the drain deadline; left behind');
      await Promise.all(jobs.map((job) => job.stop?.(drainBy)));
    },
  };
}
