// `evalgraph rollups rebuild`: deletes a project's span_rollups and recomputes them from its spans,
// one UTC day per transaction, so no transaction holds more than a day of one project's rows. For
// rollups that were not maintained for a while (EVALGRAPH_ROLLUPS=false) or that a bug made wrong.
//
// Exact while ingest and the compactor run. Each day is one REPEATABLE READ transaction: its DELETE
// of the day's rows and its INSERT of the day's spans' contribution read one snapshot. Ingest writes
// spans and their rollup rows in one transaction (traces/ingest-sql.ts), so a batch is either in the
// snapshot with both (its rows deleted, its spans recounted) or in neither (its rows stay and its
// spans are not counted): it lands before or after the day's rebuild, never half. Ingest only
// inserts rollup rows, which never conflict with the DELETE. The compactor does delete them: if it
// merged rows of this day in a transaction that commits after the snapshot, its merged row would
// be invisible to our DELETE while the spans are counted again. Then our DELETE meets rows that
// were deleted after its snapshot and Postgres refuses it (serialization failure, 40001) and the day
// is retried on a fresh snapshot. A compactor that starts after our DELETE waits for our rows and
// skips them (compactRollups). Postgres may also pick either of us as a deadlock victim (40P01):
// the day or the compactor's pass is then retried.
import type { Db } from '../../storage/db';
import { addContributionSql, spanFacts } from './rollup-sql';

const DAY = 86_400_000;
const RETRIES = 20;

export interface RebuildResult {
  projects: number;
  /** Days of spans or rollup rows rewritten. */
  days: number;
  removed: number;
  written: number;
}

const retryable = (error: unknown) =>
  ['40001', '40P01'].includes((error as { code?: string } | null)?.code ?? '');

/** Rebuilds the rollups of one project, or of every project. */
export async function rebuildRollups(
  db: Db,
  options: { projectId?: string | null } = {},
): Promise<RebuildResult> {
  const projects = options.projectId
    ? [options.projectId]
    : (await db.query<{ id: string }>('SELECT id::text FROM projects ORDER BY id')).map(
        (p) => p.id,
      );
  const result: RebuildResult = { projects: projects.length, days: 0, removed: 0, written: 0 };
  for (const projectId of projects) {
    // The days that have spans or rollup rows (stray rows of a day without spans go too). Days
    // after the last are ingest's alone: the server maintains them once the rollups are on.
    const [range] = await db.query<{ first: Date | null; last: Date | null }>(
      `SELECT least((SELECT min(start_time) FROM spans WHERE project_id = $1::uuid),
                    (SELECT min(bucket) FROM span_rollups WHERE project_id = $1::uuid)) AS first,
              greatest((SELECT max(start_time) FROM spans WHERE project_id = $1::uuid),
                       (SELECT max(bucket) FROM span_rollups WHERE project_id = $1::uuid)) AS last`,
      [projectId],
    );
    if (!range.first || !range.last) continue;
    const last = new Date(range.last).getTime();
    for (
      let day = Math.floor(new Date(range.first).getTime() / DAY) * DAY;
      day <= last;
      day += DAY
    ) {
      const { removed, written } = await rebuildDay(db, projectId, new Date(day));
      if (removed || written) result.days++;
      result.removed += removed;
      result.written += written;
    }
  }
  return result;
}

async function rebuildDay(db: Db, projectId: string, day: Date) {
  const params = [projectId, day, new Date(day.getTime() + DAY)];
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(async (sql) => {
        await sql('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
        // Both grains: a span's hour lies in its day. The IN lists let the index
        // (project_id, by_user, grain, bucket) reach the day's rows directly.
        const [gone] = await sql<{ n: number }>(
          `WITH gone AS (
             DELETE FROM span_rollups WHERE project_id = $1::uuid AND by_user IN (false, true)
               AND grain IN ('HOUR', 'DAY') AND bucket >= $2::timestamptz AND bucket < $3::timestamptz
             RETURNING 1)
           SELECT count(*)::int AS n FROM gone`,
          params,
        );
        const [added] = await sql<{ n: number }>(
          `WITH src AS (
             SELECT ${spanFacts('s')} FROM spans s
             WHERE s.project_id = $1::uuid AND s.start_time >= $2::timestamptz AND s.start_time < $3::timestamptz),
           added AS (${addContributionSql('src')} RETURNING 1)
           SELECT count(*)::int AS n FROM added`,
          params,
        );
        return { removed: gone.n, written: added.n };
      });
    } catch (error) {
      if (!retryable(error) || attempt >= RETRIES) throw error;
    }
  }
}
