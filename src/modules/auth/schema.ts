import { builder } from '../../schema/builder';
import { Role, Tier } from '../../generated/prisma/enums';
import { canManageKey, isInstanceAdmin, visibleProjects } from './permissions';

export const RoleEnum = builder.enumType(Role, {
  name: 'Role',
  description:
    'A role in a project. ADMIN: everything. DEVELOPER: write traces, evaluations, alert rules, webhooks; no costs. VIEWER: read, no costs. BILLING: costs, usage and limits only. FEEDBACK (keys only, bound to a project): creates scores with source FEEDBACK and nothing else, so it can ship inside a web app.',
});
export const TierEnum = builder.enumType(Tier, {
  name: 'Tier',
  description: 'Rate-limit and quota tier of a user.',
});

export const UserRef = builder.prismaNode('User', {
  // Loaded with findUnique: a missing node is null (then NOT_FOUND), not a thrown Prisma error.
  nullable: true,
  id: { field: 'id' },
  description: 'A person or service account using Evalgraph.',
  // Visible to the user, to instance admins, and to teammates through a project the key reaches
  // (a key bound to project B sees B's members only, whatever else its user belongs to).
  authScopes: (user, ctx) => {
    const principal = ctx.principal;
    if (!principal) return false;
    if (user.id === principal.userId || isInstanceAdmin(principal)) return true;
    // A deleted user is a name for what they created (Evaluation.creator), shown to whoever sees
    // that: nothing of the person is left (email scrubbed, no memberships, no keys).
    if (user.deletedAt) return true;
    const visible = visibleProjects(principal);
    return visible === 'all' || ctx.services.auth.repo.isMemberOfAny(user.id, visible);
  },
  fields: (t) => ({
    email: t.exposeString('email'),
    deletedAt: t.expose('deletedAt', {
      type: 'DateTime',
      nullable: true,
      description:
        'When the user was deleted (deleteUser): their email reads deleted-<id>@deleted.invalid and their name is gone; what they created still names them. Lists of members never show them (their memberships were removed).',
    }),
    // Teammates see an email, nothing more: adding someone by email must not tell a project admin
    // whether the instance knew them (their name, when they joined) or what they are on it.
    name: t.exposeString('name', {
      nullable: true,
      description: 'Shown to the user and to instance admins only.',
      authScopes: (user) => ({ $any: { self: user.id, instanceAdmin: true } }),
    }),
    isAdmin: t.exposeBoolean('isAdmin', {
      nullable: true,
      description: 'Instance administrator. Shown to the user and to instance admins only.',
      authScopes: (user) => ({ $any: { self: user.id, instanceAdmin: true } }),
    }),
    tier: t.expose('tier', {
      type: TierEnum,
      nullable: true,
      description: 'Shown to the user and to instance admins only.',
      authScopes: (user) => ({ $any: { self: user.id, instanceAdmin: true } }),
    }),
    createdAt: t.expose('createdAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Shown to the user and to instance admins only.',
      authScopes: (user) => ({ $any: { self: user.id, instanceAdmin: true } }),
    }),
    apiKeys: t.relatedConnection('apiKeys', {
      description:
        "The user's API keys (their hashes are never shown). Visible to the user and instance admins; a key bound to a project lists only the keys bound to the same project.",
      authScopes: (user) => ({ $any: { self: user.id, instanceAdmin: true } }),
      cursor: 'id',
      totalCount: true,
      query: (_args, ctx) => ({
        where: ctx.principal?.keyProjectId ? { projectId: ctx.principal.keyProjectId } : {},
        orderBy: { createdAt: 'desc' },
      }),
    }),
  }),
});

export const ApiKeyRef = builder.prismaNode('ApiKey', {
  // Never cached: a key's state (revoked, last used) is shown as it is now.
  extensions: { cacheTtlMs: 0 },
  // Loaded with findUnique: a missing node is null (then NOT_FOUND), not a thrown Prisma error.
  nullable: true,
  id: { field: 'id' },
  description:
    'An API key. Its secret is shown once, when it is created, and only its hash is stored.',
  authScopes: (key, ctx) => canManageKey(ctx.principal, key),
  fields: (t) => ({
    name: t.exposeString('name', { nullable: true }),
    prefix: t.exposeString('prefix', {
      description: 'The first characters of the key, to tell keys apart.',
    }),
    role: t.expose('role', {
      type: RoleEnum,
      nullable: true,
      description: "The role the key is narrowed to; null: the user's own role.",
    }),
    project: t.relation('project', {
      nullable: true,
      description: 'The only project the key reaches; null: every project of its user.',
    }),
    user: t.relation('user'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Updated at most once a minute.',
    }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    allowedCidrs: t.stringList({
      nullable: true,
      description:
        'Addresses the key may be used from (CIDRs); null: any. The client address is the TCP peer, or X-Forwarded-For behind EVALGRAPH_TRUSTED_PROXIES.',
      resolve: (key) => (key.allowedCidrs?.length ? key.allowedCidrs : null),
    }),
    previousSecretExpiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description:
        'Until when the secret replaced by the last rotateApiKey still works; null when it no longer does.',
      resolve: (key, _args, ctx) =>
        key.previousExpiresAt && key.previousExpiresAt > ctx.deps.clock.now()
          ? key.previousExpiresAt
          : null,
    }),
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
        : ctx.deps.db.prisma.user.findUniqueOrThrow({
            ...query,
            where: { id: ctx.principal!.userId },
          }),
  }),
);
