import type { Context } from '../../context';
import type { Prisma } from '../../generated/prisma/client';
import { forbidden, notFound } from '../../errors';
import { builder } from '../../schema/builder';
import { ProjectRef } from '../projects/schema';
import { canManageKey, isInstanceAdmin } from './permissions';
import { ApiKeyRef, RoleEnum, TierEnum, UserRef } from './schema';
import { MAX_ALLOWED_CIDRS, MAX_ROTATION_OVERLAP_SECONDS } from './service';
import { recordAudit } from '../audit/record';

const ALLOWED_CIDRS_DESCRIPTION = `Addresses the key may be used from: IPv4/IPv6 CIDRs or single addresses, at most ${MAX_ALLOWED_CIDRS}. From any other, every request with the key is refused (FORBIDDEN). Null or empty: any address.`;

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
    resolve: async (_root, { input }, ctx) => {
      const user = await ctx.services.auth.createUser(
        { ...input, isAdmin: input.isAdmin ?? undefined, tier: input.tier ?? undefined },
        (tx, created) =>
          recordAudit(
            ctx,
            {
              action: 'user.create',
              projectId: null,
              targetType: 'User',
              targetId: created.id,
              details: { isAdmin: created.isAdmin, tier: created.tier },
            },
            tx,
          ),
      );
      return { user };
    },
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
    resolve: async (_root, { input }, ctx) => {
      const user = await ctx.services.auth.setUserTier(input.userId.id, input.tier, (tx) =>
        recordAudit(
          ctx,
          {
            action: 'user.tier',
            projectId: null,
            targetType: 'User',
            targetId: input.userId.id,
            details: { tier: input.tier },
          },
          tx,
        ),
      );
      return { user };
    },
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
      allowedCidrs: t.stringList({
        description: ALLOWED_CIDRS_DESCRIPTION,
      }),
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
    resolve: async (_root, { input }, ctx) => {
      // The key and its entry in one transaction: neither exists without the other.
      return ctx.deps.db.prisma.$transaction(async (tx) => {
        const created = await ctx.services.auth.createApiKey(
          ctx.principal,
          {
            userId: input.userId?.id ?? ctx.principal!.userId,
            projectId: input.projectId?.id,
            role: input.role,
            name: input.name,
            allowedCidrs: input.allowedCidrs,
          },
          undefined,
          tx,
        );
        await auditKey(ctx, 'apiKey.create', created.apiKey, {}, tx);
        return created;
      });
    },
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

/** An audit entry for a key: in its project's log when it is bound to one. */
const auditKey = (
  ctx: Context,
  action: string,
  key: { id: string; userId: string; projectId: string | null },
  details: Record<string, unknown> = {},
  client?: Prisma.TransactionClient,
) =>
  recordAudit(
    ctx,
    {
      action,
      projectId: key.projectId,
      targetType: 'ApiKey',
      targetId: key.id,
      details: { userId: key.userId, ...details },
    },
    client,
  );

/** The key, if the caller may manage it (as for revokeApiKey); else NOT_FOUND, so key ids cannot be probed. */
async function manageableKey(ctx: Context, id: string) {
  const key = await ctx.services.auth.repo.findKey(id);
  if (!key || !canManageKey(ctx.principal, key)) throw notFound('API key');
  return key;
}

builder.relayMutationField(
  'rotateApiKey',
  {
    inputFields: (t) => ({
      id: t.globalID({ required: true, for: ApiKeyRef }),
      overlapSeconds: t.int({
        description: `How long the old secret keeps working, in seconds (default 0: it stops at once; at most ${MAX_ROTATION_OVERLAP_SECONDS}, a week).`,
      }),
    }),
  },
  {
    description:
      'Gives a key a new secret, in the payload once and never again. The key keeps its id, user, project, role and allowlist; the old secret is refused once the overlap ends, by every server.',
    authScopes: { authenticated: true },
    resolve: async (_root, { input }, ctx) => {
      const key = await manageableKey(ctx, input.id.id);
      // The new secret acts as the key's user (their tier, limits and quotas, their name on what
      // it does): a project admin may revoke another member's key, not take it over.
      if (key.userId !== ctx.principal!.userId && !isInstanceAdmin(ctx.principal))
        throw forbidden('Only the key’s own user (or an instance admin) can rotate it.');
      return ctx.services.auth.rotateApiKey(
        ctx.principal,
        key.id,
        { overlapSeconds: input.overlapSeconds },
        (tx) =>
          auditKey(ctx, 'apiKey.rotate', key, { overlapSeconds: input.overlapSeconds ?? 0 }, tx),
      );
    },
  },
  {
    outputFields: (t) => ({
      apiKey: t.field({ type: ApiKeyRef, resolve: (p) => p.apiKey }),
      key: t.string({
        description: 'The new secret key. Store it now: it is never shown again.',
        resolve: (p) => p.key,
      }),
    }),
  },
);

builder.relayMutationField(
  'updateApiKey',
  {
    inputFields: (t) => ({
      id: t.globalID({ required: true, for: ApiKeyRef }),
      name: t.string({ description: 'Left out: unchanged.' }),
      allowedCidrs: t.stringList({
        description: `${ALLOWED_CIDRS_DESCRIPTION} Left out: unchanged.`,
      }),
    }),
  },
  {
    description:
      'Renames a key or changes its address allowlist (in effect on every server at once).',
    authScopes: { authenticated: true },
    resolve: async (_root, { input }, ctx) => {
      const key = await manageableKey(ctx, input.id.id);
      const changes: { name?: string | null; allowedCidrs?: string[] | null } = {};
      if (input.name !== undefined) changes.name = input.name;
      if (input.allowedCidrs !== undefined) changes.allowedCidrs = input.allowedCidrs;
      const apiKey = await ctx.services.auth.updateApiKey(ctx.principal, key.id, changes, (tx) =>
        auditKey(ctx, 'apiKey.update', key, changes, tx),
      );
      return { apiKey };
    },
  },
  { outputFields: (t) => ({ apiKey: t.field({ type: ApiKeyRef, resolve: (p) => p.apiKey }) }) },
);

builder.relayMutationField(
  'revokeApiKey',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: ApiKeyRef }) }) },
  {
    description:
      'Revokes a key: it stops working at once on this server and within seconds on every other.',
    authScopes: { authenticated: true },
    resolve: async (_root, { input }, ctx) => {
      const key = await manageableKey(ctx, input.id.id);
      const apiKey = await ctx.services.auth.revokeApiKey(key.id, (tx) =>
        auditKey(ctx, 'apiKey.revoke', key, {}, tx),
      );
      return { apiKey };
    },
  },
  { outputFields: (t) => ({ apiKey: t.field({ type: ApiKeyRef, resolve: (p) => p.apiKey }) }) },
);
