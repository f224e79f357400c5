// The rollup compactor on the worker pool: while some bucket has partial rows (what ingest wrote
// since the last pass), merges up to BUCKETS_PER_PASS buckets per statement and goes again at once.
// Queries sum every row, so compaction changes how fast they are, never what they answer.
import type { Deps } from '../../deps';
import type { Job } from '../../worker/job';
import { compactRollups } from './rollup-sql';

const BUCKETS_PER_PASS = 200;

export function createRollupJob(deps: Deps): Job<'pass', null> {
  const sql = deps.db.query;
  return {
    name: 'rollups',
    concurrency: 1,
    maxHeld: 1,
    idleMs: deps.config.rollups.compactMs,
    key: () => 'pass',
    claim: async () => {
      const rows = await sql('SELECT 1 FROM span_rollups WHERE NOT compacted LIMIT 1');
      return rows.length > 0 ? ['pass'] : [];
    },
    run: async () => {
      const { removed, written } = await compactRollups(sql, BUCKETS_PER_PASS);
      deps.log.debug({ removed, written }, 'rollups compacted');
      return null;
    },
    record: async () => {},
    failed: (_work, error) => deps.log.warn({ err: error }, 'rollup compaction failed'),
    onStop: 'finish',
  };
}
