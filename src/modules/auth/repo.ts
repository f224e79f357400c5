import { randomUUID } from 'node:crypto';
import type { Prisma, PrismaClient } from '../../generated/prisma/client';
import type { Role, Tier } from '../../generated/prisma/enums';

/**
 * User ids are random (v4), not time-ordered like other rows: a teammate sees a user's id, and a
 * v7 id would tell when the user joined the instance (whether a project admin's invitation by
 * email found someone already there).
 */
export const newUserId = () => randomUUID();

export function createAuthRepo(prisma: PrismaClient | Prisma.TransactionClient) {
  return {
    /**
     * An unrevoked key, by its id or the hash of its secret (the current one, or the one a rotation
     * replaced while its overlap lasts at `now`), with its user and memberships.
     */
    findActiveKey: (where: { hash: string } | { id: string }, now: Date) =>
      prisma.apiKey.findFirst({
        where: {
          revokedAt: null,
          ...('id' in where
            ? where
            : {
                OR: [
                  { hash: where.hash },
                  { previousHash: where.hash, previousExpiresAt: { gt: now } },
                ],
              }),
        },
        select: {
          id: true,
          projectId: true,
          role: true,
          lastUsedAt: true,
          previousHash: true,
          previousExpiresAt: true,
          allowedCidrs: true,
          user: { include: { memberships: { select: { projectId: true, role: true } } } },
        },
      }),
    /** Writes last-used at most once a minute per key, whatever the request rate. */
    touchKey: (id: string, now: Date) =>
      prisma.apiKey.updateMany({
        where: {
          id,
          OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now.getTime() - 60_000) } }],
        },
        data: { lastUsedAt: now },
      }),
    findUserByEmail: (email: string) => prisma.user.findUnique({ where: { email } }),
    findUser: (id: string) => prisma.user.findUnique({ where: { id } }),
    createUser: (data: { email: string; name?: string | null; isAdmin?: boolean; tier?: Tier }) =>
      prisma.user.create({ data: { id: newUserId(), ...data } }),
    setTier: (userId: string, tier: Tier) =>
      prisma.user.update({ where: { id: userId }, data: { tier } }),
    membershipRole: async (userId: string, projectId: string): Promise<Role | null> =>
      (
        await prisma.membership.findUnique({
          where: { userId_projectId: { userId, projectId } },
          select: { role: true },
        })
      )?.role ?? null,
    createKey: (data: {
      hash: string;
      prefix: string;
      name?: string | null;
      userId: string;
      projectId?: string | null;
      role?: Role | null;
      allowedCidrs?: string[];
    }) => prisma.apiKey.create({ data }),
    /**
     * Whether the project exists: an instance admin's rights do not vouch for it as a membership
     * does. A deleted one (deleteProject) does not, while its data job removes its rows.
     */
    projectExists: async (id: string) =>
      (await prisma.project.count({ where: { id, deletedAt: null } })) > 0,
    findKey: (id: string) => prisma.apiKey.findUnique({ where: { id } }),
    /**
     * Replaces the key's secret, if it is still `oldHash` (a concurrent rotation wins once), keeping
     * the old one until `previousExpiresAt` (null: not at all). Whether it was replaced.
     */
    rotateKey: async (
      id: string,
      oldHash: string,
      secret: { hash: string; prefix: string },
      previousExpiresAt: Date | null,
    ) =>
      (
        await prisma.apiKey.updateMany({
          where: { id, hash: oldHash, revokedAt: null },
          data: {
            hash: secret.hash,
            prefix: secret.prefix,
            previousHash: previousExpiresAt ? oldHash : null,
            previousExpiresAt,
          },
        })
      ).count === 1,
    updateKey: (id: string, data: { name?: string | null; allowedCidrs?: string[] }) =>
      prisma.apiKey.update({ where: { id }, data }),
    revokeKey: (id: string, now: Date) =>
      prisma.apiKey.update({ where: { id }, data: { revokedAt: now } }),
    /** Whether the user is a member of one of these projects. */
    isMemberOfAny: async (userId: string, projectIds: string[]) =>
      projectIds.length > 0 &&
      (await prisma.membership.count({ where: { userId, projectId: { in: projectIds } } })) > 0,
  };
}

export type AuthRepo = ReturnType<typeof createAuthRepo>;
