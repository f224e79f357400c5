// The data job worker: takes deletion jobs no one holds (handed over by the call that made them,
// or left by a killed holder when its lease expired) and runs them batch by batch.
import type { Deps } from '../../deps';
import type { Job } from '../../worker/job';
import { topics } from '../events/catalogue';
import type { DataJobs, HeldDataJob } from './data-jobs';

export function createDataJobWorker(deps: Deps, jobs: DataJobs): Job<HeldDataJob, null> {
  return {
    name: 'data-jobs',
    // One job at a time per process: deletion is background work that must not crowd out ingest.
    concurrency: 1,
    maxHeld: 1,
    idleMs: deps.config.lifecycle.dataJobPollMs,
    wakeOn: [{ topic: topics.dataJobWork }],
    key: (held) => held.job.id,
    claim: (limit) => jobs.claim(limit),
    run: async (held, signal) => {
      await jobs.run(held, Infinity, signal);
      return null;
    },
    record: async () => {},
    failed: (held, error) => deps.log.warn({ err: error, dataJob: held.job.id }, 'data job failed'),
    release: async (held) => {
      for (const h of held) await jobs.release(h);
    },
    lease: { ms: jobs.leaseMs, renew: (held) => jobs.renew(held) },
    onStop: 'abort',
  };
}
