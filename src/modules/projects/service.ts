import { z } from 'zod';
import type { Deps } from '../../deps';
import { badInput, notFound } from '../../errors';
import { Role } from '../../generated/prisma/enums';
import { parseInput } from '../../lib/validate';

const createProjectInput = z.object({
  name: z.string().trim().min(1).max(100),
  ownerId: z.uuid().nullish(),
});

const addMemberInput = z.object({
  projectId: z.uuid(),
  userId: z.uuid(),
  role: z.enum(Role),
});

/** onAccessChange: called when someone's rights change, so cached principals are reloaded. */
export function createProjectsService(deps: Deps, hooks: { onAccessChange(): void }) {
  const prisma = deps.db.prisma;
  return {
    /** Creates a project; its owner (if any) becomes its ADMIN, in the same transaction. */
    async createProject(input: z.input<typeof createProjectInput>) {
      const data = parseInput(createProjectInput, input);
      if (data.ownerId && !(await prisma.user.findUnique({ where: { id: data.ownerId }, select: { id: true } }))) {
        throw notFound('User');
      }
      return prisma.project.create({
        data: {
          name: data.name,
          memberships: data.ownerId ? { create: { userId: data.ownerId, role: 'ADMIN' } } : undefined,
        },
      });
    },
    /** Adds a member, or changes the role of one. */
    async addMember(input: z.input<typeof addMemberInput>) {
      const data = parseInput(addMemberInput, input);
      const [project, user] = await Promise.all([
        prisma.project.findUnique({ where: { id: data.projectId }, select: { id: true } }),
        prisma.user.findUnique({ where: { id: data.userId }, select: { id: true } }),
      ]);
      if (!project) throw notFound('Project');
      if (!user) throw badInput('No user has that id.', ['input', 'userId']);
      const membership = await prisma.membership.upsert({
        where: { userId_projectId: { userId: data.userId, projectId: data.projectId } },
        create: data,
        update: { role: data.role },
      });
      hooks.onAccessChange();
      deps.log.info({ projectId: data.projectId, userId: data.userId, role: data.role }, 'membership set');
      return membership;
    },
  };
}

export type ProjectsService = ReturnType<typeof createProjectsService>;
