// Audit retention on the worker pool: entries older than EVALGRAPH_AUDIT_RETENTION_DAYS (by the
// business clock) are deleted in batches of BATCH, so one pass never holds a long lock.
import type { Deps } from '../../deps';
import type { Job } from '../../worker/job';
import { periodicJob } from '../../worker/periodic';
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
  return periodicJob(deps, {
    name: 'audit-retention',
    idleMs: IDLE_MS,
    due: () => hasEntriesBefore(deps.db.query, cutoffOf(deps)),
    pass: async () => ({ removed: await removeExpiredEntries(deps) }),
    onStop: 'finish',
  });
}
