// What deleteProject and deleteUser change at once, in their transaction: the project or user is
// marked deleted, every key that reached through it revoked and its memberships removed. The caller
// tells every process afterwards (auth service deletionCommitted), so no cached principal outlives
// the commit.
import type { Sql } from '../../storage/db';
import { stopEvaluation } from '../evaluations/queue-sql';

export interface Retired {
  /** Keys revoked now. */
  keyIds: string[];
  /** Users whose memberships were removed (or whose keys were revoked). */
  userIds: string[];
}

/** Marks the project deleted; null when there is no such project (or it is deleted already). */
export async function retireProject(
  sql: Sql,
  projectId: string,
  now: Date,
): Promise<(Retired & { name: string }) | null> {
  const [project] = await sql<{ name: string }>(
    `UPDATE projects SET deleted_at = $2, updated_at = $2
      WHERE id = $1::uuid AND deleted_at IS NULL RETURNING name`,
    [projectId, now],
  );
  if (!project) return null;
  const keys = await sql<{ id: string; userId: string }>(
    `UPDATE api_keys SET revoked_at = $2 WHERE project_id = $1::uuid AND revoked_at IS NULL
     RETURNING id::text, user_id::text AS "userId"`,
    [projectId, now],
  );
  const members = await sql<{ userId: string }>(
    `DELETE FROM memberships WHERE project_id = $1::uuid RETURNING user_id::text AS "userId"`,
    [projectId],
  );
  // Its running evaluations stop now: workers would go on spending judges on a deleted project
  // until the job reached them.
  const running = await sql<{ id: string }>(
    `SELECT id::text FROM evaluations WHERE project_id = $1::uuid AND status IN ('QUEUED', 'RUNNING')`,
    [projectId],
  );
  for (const { id } of running) await stopEvaluation(sql, id, 'CANCELED', null);
  return {
    name: project.name,
    keyIds: keys.map((k) => k.id),
    userIds: [...new Set([...keys, ...members].map((r) => r.userId))],
  };
}

/**
 * Marks the user deleted, scrubs their email (unique: `deleted-<id>@deleted.invalid`) and name,
 * revokes their keys and removes their memberships. The row stays: what they created names it.
 * Null when there is no such user (or they are deleted already).
 */
export async function retireUser(sql: Sql, userId: string, now: Date): Promise<Retired | null> {
  const [user] = await sql<{ id: string }>(
    `UPDATE users SET deleted_at = $2, updated_at = $2, name = NULL,
       email = 'deleted-' || id::text || '@deleted.invalid'
      WHERE id = $1::uuid AND deleted_at IS NULL RETURNING id::text`,
    [userId, now],
  );
  if (!user) return null;
  const keys = await sql<{ id: string }>(
    `UPDATE api_keys SET revoked_at = $2 WHERE user_id = $1::uuid AND revoked_at IS NULL
     RETURNING id::text`,
    [userId, now],
  );
  await sql(`DELETE FROM memberships WHERE user_id = $1::uuid`, [userId]);
  return { keyIds: keys.map((k) => k.id), userIds: [userId] };
}
