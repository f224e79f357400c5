// Deleting a project or a user (instance admins only). What must hold at once happens in one
// transaction: the row marked deleted, every key through it revoked, its memberships removed, and
// the audit entry; then every process drops what it cached of them (auth service
// deletionCommitted). A project's rows then go in a PROJECT data job (data-jobs.ts); a user's row
// stays, scrubbed, for what they created to name.
import { badInput, notFound } from '../../errors';
import { isUuid } from '../../lib/ids';
import { builder } from '../../schema/builder';
import { recordAudit } from '../audit/record';
import { UserRef } from '../auth/schema';
import { ProjectRef } from '../projects/schema';
import { retireProject, retireUser, type Retired } from './account-sql';
import { DataJobRef } from './schema';
import { startJob } from './start-job';

builder.relayMutationField(
  'deleteProject',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: ProjectRef }) }) },
  {
    description:
      'Deletes a project (instance admins only). At once: it is gone for every reader and writer (NOT_FOUND), every key bound to it is revoked and its memberships are removed. Its rows are then deleted by a PROJECT data job, answered here: SUCCEEDED when the call finished it, else RUNNING and carried on by the workers (node(id), for instance admins).',
    authScopes: { instanceAdmin: true },
    resolve: async (_root, { input }, ctx) => {
      const projectId = input.id.id;
      if (!isUuid(projectId)) throw notFound('Project', ['input', 'id']);
      let retired: Retired | null = null;
      // Its cached answers go with the mutation's success, and with every batch of the job.
      ctx.touchedProjects.add(projectId);
      const { job } = await startJob(
        ctx,
        { projectId, kind: 'PROJECT', target: {} },
        'project.delete',
        {
          auditTarget: { type: 'Project', id: projectId },
          before: async (sql) => {
            const done = await retireProject(sql, projectId, ctx.deps.clock.now());
            if (!done) throw notFound('Project', ['input', 'id']);
            retired = done;
            return { name: done.name };
          },
          committed: () => ctx.services.auth.deletionCommitted({ ...retired!, projectId }),
        },
      );
      return { job };
    },
  },
  {
    outputFields: (t) => ({
      job: t.field({ type: DataJobRef, nullable: false, resolve: (p) => p.job as never }),
    }),
  },
);

builder.relayMutationField(
  'deleteUser',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: UserRef }) }) },
  {
    description:
      'Deletes a user (instance admins only; not yourself): their keys are revoked at once and their memberships removed; their email is replaced by deleted-<id>@deleted.invalid and their name removed. What they created (evaluations, rules, scores) stays, naming the deleted user (User.deletedAt).',
    authScopes: { instanceAdmin: true },
    resolve: async (_root, { input }, ctx) => {
      const userId = input.id.id;
      if (userId === ctx.principal!.userId)
        throw badInput('You cannot delete yourself.', ['input', 'id']);
      if (!isUuid(userId)) throw notFound('User', ['input', 'id']);
      const retired = await ctx.deps.db.transaction(async (sql) => {
        const done = await retireUser(sql, userId, ctx.deps.clock.now());
        if (!done) throw notFound('User', ['input', 'id']);
        await recordAudit(
          ctx,
          {
            action: 'user.delete',
            projectId: null,
            targetType: 'User',
            targetId: userId,
            details: { keysRevoked: done.keyIds.length },
          },
          sql,
        );
        return done;
      });
      ctx.services.auth.deletionCommitted(retired);
      return { userId };
    },
  },
  {
    outputFields: (t) => ({
      user: t.prismaField({
        type: 'User',
        resolve: (query, p, _a, ctx) =>
          ctx.deps.db.prisma.user.findUniqueOrThrow({ ...query, where: { id: p.userId } }),
      }),
    }),
  },
);
