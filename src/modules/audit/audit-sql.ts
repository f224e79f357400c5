import type { Sql } from '../../storage/db';

/** Deletes up to `limit` entries created before `cutoff`; how many it deleted. */
export async function deleteEntriesBefore(sql: Sql, cutoff: Date, limit: number): Promise<number> {
  const rows = await sql<{ n: number }>(
    `WITH gone AS (
       DELETE FROM audit_entries WHERE id IN (
         SELECT id FROM audit_entries WHERE created_at < $1 ORDER BY created_at LIMIT $2
       ) RETURNING 1
     ) SELECT count(*)::int AS n FROM gone`,
    [cutoff, limit],
  );
  return rows[0]?.n ?? 0;
}

/** Whether an entry was created before `cutoff`. */
export async function hasEntriesBefore(sql: Sql, cutoff: Date): Promise<boolean> {
  return (
    (await sql(`SELECT 1 FROM audit_entries WHERE created_at < $1 LIMIT 1`, [cutoff])).length > 0
  );
}
