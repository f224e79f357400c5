import { notFound } from '../../errors';
import { builder } from '../../schema/builder';
import { ProjectRef } from '../projects/schema';
import { canManageKey } from './permissions';
import { ApiKeyRef, RoleEnum, TierEnum, UserRef } from './schema';

builder.relayMutationField(
  'createUser',
  {
    inputFields: (t) => ({
      email: t.string({ required: true }),
      name: t.string(),
      isAdmin: t.boolean({ description: 'Make the user an instance administrator.' }),
      tier: t.field({ type: TierEnum }),
    }),
  },
  {
    description:
      'Creates a user (instance admins only). Give them a project with addProjectMember and a key with createApiKey.',
    authScopes: { instanceAdmin: true },
    resolve: async (_root, { input }, ctx) => ({
      user: await ctx.services.auth.createUser({
        ...input,
        isAdmin: input.isAdmin ?? undefined,
        tier: input.tier ?? undefined,
      }),
    }),
  },
  { outputFields: (t) => ({ user: t.field({ type: UserRef, resolve: (p) => p.user }) }) },
);

builder.relayMutationField(
  'setUserTier',
  {
    inputFields: (t) => ({
      userId: t.globalID({ required: true, for: UserRef }),
      tier: t.field({ type: TierEnum, required: true }),
    }),
  },
  {
    description: "Sets a user's rate-limit and quota tier (instance admins only).",
    authScopes: { instanceAdmin: true },
    resolve: async (_root, { input }, ctx) => ({
      user: await ctx.services.auth.setUserTier(input.userId.id, input.tier),
    }),
  },
  { outputFields: (t) => ({ user: t.field({ type: UserRef, resolve: (p) => p.user }) }) },
);

builder.relayMutationField(
  'createApiKey',
  {
    inputFields: (t) => ({
      userId: t.globalID({
        for: UserRef,
        description: 'Whose key; default: yours. Only an instance admin creates keys for others.',
      }),
      projectId: t.globalID({ for: ProjectRef, description: 'Bind the key to this project only.' }),
      role: t.field({
        type: RoleEnum,
        description: "Narrow the key to this role; default: the user's own role.",
      }),
      name: t.string(),
    }),
  },
  {
    description: 'Creates an API key. The key is in the payload once and never again.',
    // Nobody mints a key for someone else but an instance admin: a project admin who wants a
    // colleague in the project adds them, and the colleague makes their own key.
    authScopes: (_root, { input }, ctx) =>
      !input.userId || input.userId.id === ctx.principal?.userId
        ? { authenticated: true }
        : { instanceAdmin: true },
    resolve: async (_root, { input }, ctx) =>
      ctx.services.auth.createApiKey(ctx.principal, {
        userId: input.userId?.id ?? ctx.principal!.userId,
        projectId: input.projectId?.id,
        role: input.role,
        name: input.name,
      }),
  },
  {
    outputFields: (t) => ({
      apiKey: t.field({ type: ApiKeyRef, resolve: (p) => p.apiKey }),
      key: t.string({
        description: 'The secret key. Store it now: it is never shown again.',
        resolve: (p) => p.key,
      }),
    }),
  },
);

builder.relayMutationField(
  'revokeApiKey',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: ApiKeyRef }) }) },
  {
    description:
      'Revokes a key: it stops working at once on this server and within seconds on every other.',
    authScopes: { authenticated: true },
    resolve: async (_root, { input }, ctx) => {
      const key = await ctx.services.auth.repo.findKey(input.id.id);
      // A key out of reach is answered as not found, so key ids cannot be probed.
      if (!key || !canManageKey(ctx.principal, key)) throw notFound('API key');
      return { apiKey: await ctx.services.auth.revokeApiKey(key.id) };
    },
  },
  { outputFields: (t) => ({ apiKey: t.field({ type: ApiKeyRef, resolve: (p) => p.apiKey }) }) },
);
