import { found } from '../../errors';
import { builder } from '../../schema/builder';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { RoleEnum, UserRef } from '../auth/schema';
import { effectiveRole, visibleProjects } from '../auth/permissions';
import { recordAudit } from '../audit/record';

export const ProjectRef = builder.prismaNode('Project', {
  // Loaded with findUnique: a missing node is null (then NOT_FOUND), not a thrown Prisma error.
  nullable: true,
  id: { field: 'id' },
  description:
    'A project: the unit of data ownership. Everything else (traces, evaluations, webhooks) belongs to one.',
  authScopes: (project) => ({ project: { id: project.id, action: 'view' } }),
  fields: (t) => ({
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    viewerRole: t.field({
      type: RoleEnum,
      nullable: true,
      description: 'Your role here, as narrowed by the key you use.',
      resolve: (project, _args, ctx) => effectiveRole(ctx.principal!, project.id),
    }),
    members: t.relatedConnection('memberships', {
      cursor: 'id',
      totalCount: true,
      query: { orderBy: { createdAt: 'asc' } },
    }),
  }),
});

const MembershipRef = builder.prismaObject('Membership', {
  description: "A user's role in a project.",
  fields: (t) => ({
    role: t.expose('role', { type: RoleEnum }),
    user: t.relation('user'),
    project: t.relation('project'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

/** The projects a list shows: those visible, less the deleted ones (deleteProject) whose job still runs. */
const listed = (visible: string[] | 'all') => ({
  deletedAt: null,
  ...(visible === 'all' ? {} : { id: { in: visible } }),
});

builder.queryFields((t) => ({
  project: t.prismaField({
    type: 'Project',
    nullable: true,
    description: 'A project you are a member of.',
    args: { id: t.arg.globalID({ required: true, for: ProjectRef }) },
    authScopes: (_root, args) => ({ project: { id: args.id.id, action: 'view' } }),
    resolve: (query, _root, args, ctx) =>
      ctx.deps.db.prisma.project
        .findUnique({ ...query, where: { id: args.id.id } })
        .then(found('Project')),
  }),
  projects: t.prismaConnection(
    {
      type: 'Project',
      cursor: 'id',
      description: 'The projects you can see, oldest first.',
      // Never cached: a new project or membership changes the list, and drops no cached response.
      extensions: { cacheTtlMs: 0 },
      authScopes: { authenticated: true },
      totalCount: (_parent, _args, ctx) => {
        const visible = visibleProjects(ctx.principal!);
        return ctx.deps.db.prisma.project.count({ where: listed(visible) });
      },
      resolve: (query, _root, _args, ctx) => {
        const visible = visibleProjects(ctx.principal!);
        return ctx.deps.db.prisma.project.findMany({
          ...query,
          where: listed(visible),
          orderBy: { id: 'asc' },
        });
      },
    },
    { name: 'ProjectConnection' },
    { name: 'ProjectEdge' },
  ),
}));

builder.relayMutationField(
  'createProject',
  { inputFields: (t) => ({ name: t.string({ required: true }) }) },
  {
    description: 'Creates a project (instance admins only); you become its ADMIN.',
    authScopes: { instanceAdmin: true },
    resolve: async (_root, { input }, ctx) => {
      const project = await ctx.services.projects.createProject(
        { name: input.name, ownerId: ctx.principal!.userId },
        (tx, created) =>
          recordAudit(
            ctx,
            {
              action: 'project.create',
              projectId: created.id,
              targetType: 'Project',
              targetId: created.id,
              details: { name: created.name },
            },
            tx,
          ),
      );
      ctx.services.auth.accessChanged(ctx.principal!.userId);
      return { project };
    },
  },
  { outputFields: (t) => ({ project: t.field({ type: ProjectRef, resolve: (p) => p.project }) }) },
);

builder.relayMutationField(
  'addProjectMember',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      email: t.string({
        required: true,
        description: 'Whom to add: members are added by email, never by user id.',
      }),
      role: t.field({ type: RoleEnum, required: true }),
    }),
  },
  {
    description:
      'Adds the person with this email to a project, or changes their role (project ADMIN). Someone the instance does not know yet is created without keys; they get one from an instance admin, or make their own with a key they have.',
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'manage' } }),
    resolve: async (_root, { input }, ctx) => {
      const membership = await ctx.services.projects.addMember(
        { projectId: input.projectId.id, email: input.email, role: input.role },
        // A member already there has their role changed: member.role, with the role they had.
        (tx, { userId, previousRole }) =>
          recordAudit(
            ctx,
            {
              action: previousRole ? 'member.role' : 'member.add',
              projectId: input.projectId.id,
              targetType: 'User',
              targetId: userId,
              details: { role: input.role, ...(previousRole ? { previousRole } : {}) },
            },
            tx,
          ),
      );
      return { membership };
    },
  },
  {
    outputFields: (t) => ({
      membership: t.field({ type: MembershipRef, resolve: (p) => p.membership }),
    }),
  },
);

builder.relayMutationField(
  'removeProjectMember',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      userId: t.globalID({ required: true, for: UserRef }),
    }),
  },
  {
    description:
      "Removes someone from a project and revokes their keys bound to it (project ADMIN). Not a member: NOT_FOUND. The project's last ADMIN cannot be removed.",
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'manage' } }),
    resolve: async (_root, { input }, ctx) => {
      const projectId = input.projectId.id;
      const userId = input.userId.id;
      const removed = await ctx.services.projects.removeMember({ projectId, userId }, (tx, r) =>
        recordAudit(
          ctx,
          {
            action: 'member.remove',
            projectId,
            targetType: 'User',
            targetId: userId,
            details: { role: r.role, keysRevoked: r.keysRevoked },
          },
          tx,
        ),
      );
      return { userId, keysRevoked: removed.keysRevoked };
    },
  },
  {
    outputFields: (t) => ({
      removedUserId: t.id({ resolve: (p) => encodeGlobalID('User', p.userId) }),
      keysRevoked: t.int({ resolve: (p) => p.keysRevoked }),
    }),
  },
);
