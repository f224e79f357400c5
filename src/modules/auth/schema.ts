import { builder } from '../../schema/builder';
import { Role, Tier } from '../../generated/prisma/enums';
import { isInstanceAdmin } from './permissions';

export const RoleEnum = builder.enumType(Role, {
  name: 'Role',
  description: 'A role in a project. ADMIN: everything. DEVELOPER: write traces, evaluations, alert rules, webhooks; no costs. VIEWER: read, no costs. BILLING: costs, usage and limits only.',
});
export const TierEnum = builder.enumType(Tier, { name: 'Tier', description: 'Rate-limit and quota tier of a user.' });

export const UserRef = builder.prismaNode('User', {
  id: { field: 'id' },
  description: 'A person or service account using Evalgraph.',
  // Visible to the user, to teammates (through a shared project) and to instance admins.
  authScopes: (user, ctx) =>
    user.id === ctx.principal?.userId || isInstanceAdmin(ctx.principal)
      ? true
      : ctx.principal
        ? ctx.services.auth.repo.sharesProject(ctx.principal.userId, user.id)
        : false,
  fields: (t) => ({
    email: t.exposeString('email'),
    name: t.exposeString('name', { nullable: true }),
    isAdmin: t.exposeBoolean('isAdmin', { description: 'Instance administrator.' }),
    tier: t.expose('tier', { type: TierEnum }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    apiKeys: t.relatedConnection('apiKeys', {
      description: "The user's API keys (their hashes are never shown). Visible to the user and instance admins.",
      authScopes: (user) => ({ $any: { self: user.id, instanceAdmin: true } }),
      cursor: 'id',
      totalCount: true,
      query: { orderBy: { createdAt: 'desc' } },
    }),
  }),
});

export const ApiKeyRef = builder.prismaNode('ApiKey', {
  id: { field: 'id' },
  description: 'An API key. Its secret is shown once, when it is created, and only its hash is stored.',
  authScopes: (key, ctx) =>
    key.userId === ctx.principal?.userId || isInstanceAdmin(ctx.principal)
      ? true
      : key.projectId
        ? { project: { id: key.projectId, action: 'manage' } }
        : false,
  fields: (t) => ({
    name: t.exposeString('name', { nullable: true }),
    prefix: t.exposeString('prefix', { description: 'The first characters of the key, to tell keys apart.' }),
    role: t.expose('role', { type: RoleEnum, nullable: true, description: 'The role the key is narrowed to; null: the user\'s own role.' }),
    project: t.relation('project', { nullable: true, description: 'The only project the key reaches; null: every project of its user.' }),
    user: t.relation('user'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Updated at most once a minute.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.queryField('viewer', (t) =>
  t.prismaField({
    type: 'User',
    description: 'The user the API key belongs to.',
    authScopes: { authenticated: true },
    // Authentication has just read the user; only a selection of relations needs the database.
    resolve: (query, _root, _args, ctx) =>
      Object.keys(query).length === 0 && ctx.principal!.user
        ? ctx.principal!.user
        : ctx.deps.db.prisma.user.findUniqueOrThrow({ ...query, where: { id: ctx.principal!.userId } }),
  }),
);
