// The background worker: runs each registered job in its own loop until stopped. A job claims
// work from the database (the database is the queue) and returns how much it did; a job that
// found work runs again at once, one that found none sleeps until its interval or a wake-up.
import type { Deps } from './deps';
import { settledBy } from './lib/deadline';

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

  const loop = async (job: Job) => {
    while (!stopping.signal.aborted) {
      let done = 0;
      try {
        done = await job.run(stopping.signal);
      } catch (error) {
        deps.log.error({ err: error, job: job.name }, 'job failed; retrying after its idle interval');
      }
      if (done > 0 || stopping.signal.aborted) continue;
      let wake = () => {};
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, job.idleMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
        wakers.set(job.name, wake);
        stopping.signal.addEventListener('abort', wake, { once: true });
      });
      // One listener per sleep would pile up on the long-lived stop signal.
      stopping.signal.removeEventListener('abort', wake);
      wakers.delete(job.name);
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
