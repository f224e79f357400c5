import { v7 as uuidv7 } from 'uuid';
import type { Sql } from '../../storage/db';

/** One entry, on a driver connection (inside a mutation's `db.transaction`). */
export async function insertEntry(
  sql: Sql,
  e: {
    createdAt: Date;
    actorId: string | null;
    apiKeyId: string | null;
    address: string | null;
    projectId: string | null;
    action: string;
    targetType: string;
    targetId: string;
    details: Record<string, unknown>;
  },
): Promise<void> {
  await sql(
    `INSERT INTO audit_entries (id, created_at, actor_id, api_key_id, address, project_id, action, target_type, target_id, details)
     VALUES ($1::uuid, $2, $3::uuid, $4::uuid, $5, $6::uuid, $7, $8, $9, $10::jsonb)`,
    [
      uuidv7(),
      e.createdAt,
      e.actorId,
      e.apiKeyId,
      e.address,
      e.projectId,
      e.action,
      e.targetType,
      e.targetId,
      JSON.stringify(e.details),
    ],
  );
}

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
