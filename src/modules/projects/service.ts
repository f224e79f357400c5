import { z } from 'zod';
import type { Deps } from '../../deps';
import { badInput, notFound } from '../../errors';
import type { Prisma } from '../../generated/prisma/client';
import { Role } from '../../generated/prisma/enums';
import { parseInput } from '../../lib/validate';
import { newUserId } from '../auth/repo';

const createProjectInput = z.object({
  name: z.string().trim().min(1).max(100),
  ownerId: z.uuid().nullish(),
});

const addMemberInput = z.object({
  projectId: z.uuid(),
  email: z
    .email()
    .max(320)
    .transform((e) => e.toLowerCase()),
  // FEEDBACK narrows keys; a member with it could do nothing but send feedback.
  role: z.enum(Role).refine((r) => r !== 'FEEDBACK', {
    message: 'FEEDBACK is a role for keys (createApiKey), not for members.',
  }),
});

/**
 * Refuses a change that takes away one of the project's ADMINs when they are its last. The
 * project's row is locked first: two ADMINs removing each other at once would each count two.
 */
async function keepAnAdmin(tx: Prisma.TransactionClient, projectId: string) {
  await tx.$queryRaw`SELECT 1 FROM projects WHERE id = ${projectId}::uuid FOR UPDATE`;
  const admins = await tx.membership.count({ where: { projectId, role: 'ADMIN' } });
  if (admins <= 1)
    throw badInput('This is the project’s last ADMIN: make someone else ADMIN first.', [
      'input',
      'userId',
    ]);
}

/** onAccessChange: called when someone's rights change, so every process reloads their principal. */
export function createProjectsService(deps: Deps, hooks: { onAccessChange(userId: string): void }) {
  const prisma = deps.db.prisma;
  let first: string | undefined;
  return {
    /** The instance's first project (the default one the first start made): GraphiQL's examples use it. Kept once found. */
    async firstProjectId(): Promise<string | null> {
      first ??= (
        await prisma.project.findFirst({
          where: { deletedAt: null },
          orderBy: { createdAt: 'asc' },
          select: { id: true },
        })
      )?.id;
      return first ?? null;
    },
    /** Creates a project; its owner (if any) becomes its ADMIN, in the same transaction. */
    /** `within`: more writes of the same transaction (the audit entry), given the project. */
    async createProject(
      input: z.input<typeof createProjectInput>,
      within?: (
        tx: Prisma.TransactionClient,
        project: { id: string; name: string },
      ) => Promise<void>,
    ) {
      const data = parseInput(createProjectInput, input);
      if (
        data.ownerId &&
        !(await prisma.user.findUnique({ where: { id: data.ownerId }, select: { id: true } }))
      ) {
        throw notFound('User');
      }
      return prisma.$transaction(async (tx) => {
        const project = await tx.project.create({
          data: {
            name: data.name,
            memberships: data.ownerId
              ? { create: { userId: data.ownerId, role: 'ADMIN' } }
              : undefined,
          },
        });
        await within?.(tx, project);
        return project;
      });
    },
    /**
     * Adds the person with this email to the project, or changes their role. Someone the instance
     * does not know yet gets a user without keys, so the answer is the same whether the email was
     * known or not: a project admin learns nothing about users outside their projects.
     */
    /**
     * `within`: more writes of the same transaction (the audit entry), given the member and the
     * role they had (null: they were not a member).
     */
    async addMember(
      input: z.input<typeof addMemberInput>,
      within?: (
        tx: Prisma.TransactionClient,
        member: { userId: string; previousRole: Role | null },
      ) => Promise<void>,
    ) {
      const data = parseInput(addMemberInput, input);
      if (
        !(await prisma.project.findUnique({ where: { id: data.projectId }, select: { id: true } }))
      )
        throw notFound('Project');
      const { user, membership } = await prisma.$transaction(async (tx) => {
        const user = await tx.user.upsert({
          where: { email: data.email },
          create: { id: newUserId(), email: data.email },
          update: {},
          select: { id: true, deletedAt: true },
        });
        // A deleted user (deleteUser) keeps their scrubbed email: they join nothing again.
        if (user.deletedAt) throw badInput('That user was deleted.', ['input', 'email']);
        const where = { userId_projectId: { userId: user.id, projectId: data.projectId } };
        const previous = await tx.membership.findUnique({ where, select: { role: true } });
        if (previous?.role === 'ADMIN' && data.role !== 'ADMIN')
          await keepAnAdmin(tx, data.projectId);
        const membership = await tx.membership.upsert({
          where,
          create: { userId: user.id, projectId: data.projectId, role: data.role },
          update: { role: data.role },
        });
        await within?.(tx, { userId: user.id, previousRole: previous?.role ?? null });
        return { user, membership };
      });
      hooks.onAccessChange(user.id);
      deps.log.info(
        { projectId: data.projectId, userId: user.id, role: data.role },
        'membership set',
      );
      return membership;
    },

    /**
     * Removes a member (NOT_FOUND when they are not one) and revokes their keys bound to the
     * project, which would otherwise come back to life if they were added again. Refuses to
     * remove the project's last ADMIN: only instance admins could manage it then.
     */
    async removeMember(
      input: { projectId: string; userId: string },
      within?: (
        tx: Prisma.TransactionClient,
        removed: { role: Role; keysRevoked: number },
      ) => Promise<void>,
    ) {
      const removed = await prisma.$transaction(async (tx) => {
        const where = { userId_projectId: input };
        const member = await tx.membership.findUnique({ where, select: { role: true } });
        if (!member) throw notFound('User');
        if (member.role === 'ADMIN') await keepAnAdmin(tx, input.projectId);
        await tx.membership.delete({ where });
        const keys = await tx.apiKey.updateMany({
          where: { userId: input.userId, projectId: input.projectId, revokedAt: null },
          data: { revokedAt: deps.clock.now() },
        });
        const done = { role: member.role, keysRevoked: keys.count };
        await within?.(tx, done);
        return done;
      });
      hooks.onAccessChange(input.userId);
      deps.log.info({ ...input, ...removed }, 'member removed');
      return removed;
    },
  };
}

export type ProjectsService = ReturnType<typeof createProjectsService>;
