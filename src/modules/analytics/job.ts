// The rollup compactor on the worker pool: while there are partial rows (what span ingest and score
// writers wrote since the last pass), merges up to ROWS_PER_PASS of them per rollup table into their
// groups' merged rows, and goes again at once. Queries sum every row, so compaction changes how fast
// they are, never what they answer.
import type { Deps } from '../../deps';
import type { Job } from '../../worker/job';
import { periodicJob } from '../../worker/periodic';
import { compactRollups, SPAN_ROLLUPS } from './rollup-sql';
import { SCORE_ROLLUPS } from './score-rollup-sql';

const ROWS_PER_PASS = 5_000;
const TABLES = [SPAN_ROLLUPS, SCORE_ROLLUPS];

export function createRollupJob(deps: Deps): Job<'pass', null> {
  const sql = deps.db.query;
  return periodicJob(deps, {
    name: 'rollups',
    idleMs: deps.config.rollups.compactMs,
    due: async () =>
      (
        await sql(
          TABLES.map((t) => `(SELECT 1 FROM ${t.table} WHERE NOT compacted LIMIT 1)`).join(
            ' UNION ALL ',
          ),
        )
      ).length > 0,
    pass: async () => {
      const done = [];
      for (const t of TABLES)
        done.push({ table: t.table, ...(await compactRollups(sql, ROWS_PER_PASS, t)) });
      return done;
    },
    onStop: 'finish',
  });
}
