// The Pothos builder: plugins, scalars and auth scopes. It defines no types (modules do).
import { DEFAULT_PAGE, MAX_PAGE } from '../lib/pages';
import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin, { decodeGlobalID } from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ValidationPlugin from '@pothos/plugin-validation';
import type { Context } from '../context';
import { badInput, found, notFound } from '../errors';
import { isUuid, NIL_UUID } from '../lib/ids';
import type PrismaTypes from '../generated/pothos-types';
import { getDatamodel } from '../generated/pothos-types';
import { allowsProject, scopeRefusal } from '../modules/auth/access';
import { isInstanceAdmin, type Action } from '../modules/auth/permissions';

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: {
    authenticated: boolean;
    instanceAdmin: boolean;
    project: { id: string; action: Action };
    /** the principal is this user */
    self: string;
  };
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    Decimal: { Input: string; Output: string | { toFixed(): string } };
    JSON: { Input: unknown; Output: unknown };
    SafeInt: { Input: number; Output: number };
    ID: { Input: string; Output: string | number };
  };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
}>({
  // Fields are non-null unless they say otherwise (a field that can be refused must say nullable).
  defaultFieldNullability: false,
  plugins: [
    ScopeAuthPlugin,
    PrismaPlugin,
    RelayPlugin,
    ErrorsPlugin,
    ComplexityPlugin,
    DataloaderPlugin,
    ValidationPlugin,
  ],
  scopeAuth: {
    authorizeOnSubscribe: true,
    // A refused object answers null as a whole, not as an object whose every field is null.
    runScopesOnType: true,
    // Methods, not arrow properties: these are made per request (and kept per subscription), and
    // under tsx (esbuild's keepNames) a named arrow costs a property dictionary of its own.
    authScopes: (ctx) => ({
      authenticated: ctx.principal !== null,
      instanceAdmin: isInstanceAdmin(ctx.principal),
      project({ id, action }) {
        return allowsProject(ctx, id, action);
      },
      self(userId) {
        return ctx.principal?.userId === userId;
      },
    }),
    // NOT_FOUND for what the caller cannot see (the same answer as for what does not exist).
    unauthorizedError: (_parent, ctx, _info, result) => scopeRefusal(ctx, result),
  },
  prisma: {
    client: (ctx) => ctx.deps.db.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: true,
    filterConnectionTotalCount: true,
    defaultConnectionSize: DEFAULT_PAGE,
    maxConnectionSize: MAX_PAGE,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'warn',
  },
  relay: {
    // Every row id is a uuid: another id inside a well-formed global id names nothing, and is
    // looked up as the nil uuid so that it answers NOT_FOUND like any missing id (not a database error).
    decodeGlobalID: (globalID) => {
      const { typename, id } = decodeGlobalID(globalID);
      return { typename, id: isUuid(id) ? id : NIL_UUID };
    },
    clientMutationId: 'omit',
    cursorType: 'String',
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
    // Cost: as many items as ids asked for (ratelimit/field-cost.ts).
    // A missing node is answered as one the caller may not see: null in its place, and NOT_FOUND.
    // (prismaNode types are `nullable`, so a missing row loads as null rather than throwing.)
    nodesQueryOptions: {
      extensions: { listSize: (args: { ids?: unknown[] }) => args.ids?.length ?? 0 },
      resolve: async (_root, args, _ctx, _info, resolveNodes) =>
        (await resolveNodes(args.ids)).map((node, i) => node ?? notFound(args.ids[i].typename)),
    },
    nodeQueryOptions: {
      resolve: async (_root, args, _ctx, _info, resolveNode) =>
        found(args.id.typename)(await resolveNode(args.id)),
    },
  },
  errors: { defaultTypes: [] },
  complexity: { defaultComplexity: 1, defaultListMultiplier: 10 },
  validation: {
    validationError: (result) => {
      const issue = result.issues[0];
      const path = (issue?.path ?? []).map((p) => (typeof p === 'object' ? p.key : p)) as (
        | string
        | number
      )[];
      return badInput(
        `${path.length ? `${path.join('.')}: ` : ''}${issue?.message ?? 'invalid input'}`,
        path,
      );
    },
  },
});
