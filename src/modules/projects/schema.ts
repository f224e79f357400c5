import { builder } from '../../schema/builder';
import { RoleEnum, UserRef } from '../auth/schema';
import { effectiveRole, visibleProjects } from '../auth/permissions';

export const ProjectRef = builder.prismaNode('Project', {
  id: { field: 'id' },
  description: 'A project: the unit of data ownership. Everything else (traces, evaluations, webhooks) belongs to one.',
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

builder.queryFields((t) => ({
  project: t.prismaField({
    type: 'Project',
    nullable: true,
    description: 'A project you are a member of.',
    args: { id: t.arg.globalID({ required: true, for: ProjectRef }) },
    authScopes: (_root, args) => ({ project: { id: args.id.id, action: 'view' } }),
    resolve: (query, _root, args, ctx) => ctx.deps.db.prisma.project.findUnique({ ...query, where: { id: args.id.id } }),
  }),
  projects: t.prismaConnection({
    type: 'Project',
    cursor: 'id',
    description: 'The projects you can see, oldest first.',
    authScopes: { authenticated: true },
    totalCount: (_parent, _args, ctx) => {
      const visible = visibleProjects(ctx.principal!);
      return ctx.deps.db.prisma.project.count({ where: visible === 'all' ? {} : { id: { in: visible } } });
    },
    resolve: (query, _root, _args, ctx) => {
      const visible = visibleProjects(ctx.principal!);
      return ctx.deps.db.prisma.project.findMany({ ...query, where: visible === 'all' ? {} : { id: { in: visible } }, orderBy: { id: 'asc' } });
    },
  }, { name: 'ProjectConnection' }, { name: 'ProjectEdge' }),
}));

builder.relayMutationField(
  'createProject',
  { inputFields: (t) => ({ name: t.string({ required: true }) }) },
  {
    description: 'Creates a project (instance admins only); you become its ADMIN.',
    authScopes: { instanceAdmin: true },
    resolve: async (_root, { input }, ctx) => {
      const project = await ctx.services.projects.createProject({ name: input.name, ownerId: ctx.principal!.userId });
      ctx.services.auth.forget();
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
      userId: t.globalID({ required: true, for: UserRef }),
      role: t.field({ type: RoleEnum, required: true }),
    }),
  },
  {
    description: "Adds a user to a project, or changes their role (project ADMIN).",
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'manage' } }),
    resolve: async (_root, { input }, ctx) => ({
      membership: await ctx.services.projects.addMember({ projectId: input.projectId.id, userId: input.userId.id, role: input.role }),
    }),
  },
  { outputFields: (t) => ({ membership: t.field({ type: MembershipRef, resolve: (p) => p.membership }) }) },
);
