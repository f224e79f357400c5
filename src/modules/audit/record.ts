// The one way an operation enters the audit log (docs/ARCHITECTURE.md, "Audit log"). Called by each
// administrative or destructive mutation once its change is made; with the mutation's transaction
// client when it has one, so an entry never exists without its change.
import type { Context } from '../../context';
import type { Prisma, PrismaClient } from '../../generated/prisma/client';
import type { Sql } from '../../storage/db';
import { insertEntry } from './audit-sql';

export interface AuditEvent {
  /** e.g. apiKey.create, member.add, webhookEndpoint.rotateSecret */
  action: string;
  /** null: an instance-level operation (users, tiers, limits), seen by instance admins only */
  projectId: string | null;
  targetType: string;
  targetId: string;
  /** What changed; never a secret. */
  details?: Record<string, unknown>;
}

/**
 * Writes the entry: through `client`, the mutation's transaction (a Prisma transaction client, or
 * the `Sql` of `db.transaction`), or on its own after the change when the mutation has none.
 */
export async function recordAudit(
  ctx: Pick<Context, 'deps' | 'principal' | 'address'>,
  event: AuditEvent,
  client: PrismaClient | Prisma.TransactionClient | Sql = ctx.deps.db.prisma,
): Promise<void> {
  const entry = {
    createdAt: ctx.deps.clock.now(),
    actorId: ctx.principal?.userId ?? null,
    apiKeyId: ctx.principal?.keyId ?? null,
    address: ctx.address ?? null,
    projectId: event.projectId,
    action: event.action,
    targetType: event.targetType,
    targetId: event.targetId,
    details: event.details ?? {},
  };
  if (typeof client === 'function') return insertEntry(client, entry);
  await client.auditEntry.create({
    data: { ...entry, details: entry.details as Prisma.InputJsonValue },
  });
}
