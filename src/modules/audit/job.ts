// Audit retention on the worker pool: entries older than EVALGRAPH_AUDIT_RETENTION_DAYS (by the
// business clock) are deleted in batches of BATCH, so one pass never holds a long lock.
import type { Deps } from '../../deps';
import type { Job } from '../../worker/job';
import { deleteEntriesBefore, hasEntriesBefore } from './audit-sql';

const BATCH = 1_000;
const DAY_MS = 86_400_000;
/** Expired entries need not go at once: an hourly look is enough. */
const IDLE_MS = 3_600_000;

const cutoffOf = (deps: Deps) =>
  new Date(deps.clock.now().getTime() - deps.config.audit.retentionDays * DAY_MS);

/** One batch of expired entries deleted; how many. */
export const removeExpiredEntries = (deps: Deps) =>
  deleteEntriesBefore(deps.db.query, cutoffOf(deps), BATCH);

export function createAuditRetentionJob(deps: Deps): Job<'pass', null> {
  return {
    name: 'audit-retention',
    concurrency: 1,
    maxHeld: 1,
    idleMs: IDLE_MS,
    key: () => 'pass',
    claim: async () => ((await hasEntriesBefore(deps.db.query, cutoffOf(deps))) ? ['pass'] : []),
    run: async () => {
      const removed = await removeExpiredEntries(deps);
      deps.log.debug({ removed }, 'expired audit entries deleted');
      return null;
    },
    record: async () => {},
    failed: (_work, error) => deps.log.warn({ err: error }, 'audit retention failed'),
    onStop: 'finish',
  };
}
