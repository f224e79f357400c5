// The one way an operation enters the audit log (docs/ARCHITECTURE.md, "Audit log"). Called by each
// administrative or destructive mutation once its change is made; with the mutation's transaction
// client when it has one, so an entry never exists without its change.
import type { Context } from '../../context';
import type { Prisma, PrismaClient } from '../../generated/prisma/client';

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

export async function recordAudit(
  ctx: Pick<Context, 'deps' | 'principal' | 'address'>,
  event: AuditEvent,
  client: PrismaClient | Prisma.TransactionClient = ctx.deps.db.prisma,
): Promise<void> {
  await client.auditEntry.create({
    data: {
      createdAt: ctx.deps.clock.now(),
      actorId: ctx.principal?.userId ?? null,
      apiKeyId: ctx.principal?.keyId ?? null,
      address: ctx.address ?? null,
      projectId: event.projectId,
      action: event.action,
      targetType: event.targetType,
      targetId: event.targetId,
      details: (event.details ?? {}) as Prisma.InputJsonValue,
    },
  });
}
