// Response cache for queries (@envelop/response-cache, the engine of Yoga's plugin), keyed by the
// document, variables and a session made of the key, its role and its user's memberships: one
// user's result is never served to another, nor to the same key after its access changed.
// Hits are served in the execute phase, after authentication, cost analysis and rate limiting
// (a hit costs what the query costs and counts toward the daily quota); Yoga's own plugin
// serves them while parsing the request, before any of those.
// TTLs are declared with their types and root fields (response-cache/ttl.ts) and read from the schema.
import { createHash } from 'node:crypto';
import { useResponseCache as useEnvelopResponseCache, type Cache } from '@envelop/response-cache';
import { getOperationAST, type GraphQLSchema } from 'graphql';
import type { Plugin, YogaInitialContext } from 'graphql-yoga';
import { Counter, type Registry } from 'prom-client';
import type { Config } from '../config';
import type { Context } from '../context';
import { accessKey, type Principal } from '../modules/auth/permissions';
import {
  ALL_PROJECTS,
  projectTag,
  type ResponseCacheService,
} from '../modules/response-cache/service';
import { cacheTtls } from '../modules/response-cache/ttl';
import { ETAG_EXTENSION, entryEtag } from './use-http-caching';

/** Who is asking, as far as what they may see goes (the tier sets the limits an answer reports). */
const sessionOf = (principal: Principal) => `${accessKey(principal)}|${principal.tier}`;

export interface ResponseCacheOptions {
  /** Read for the TTLs its types and fields declare. */
  schema: GraphQLSchema;
  config: Config['responseCache'];
  cache: ResponseCacheService;
  metrics: Registry;
}

export function useResponseCache({
  schema,
  config,
  cache,
  metrics,
}: ResponseCacheOptions): Plugin<Context> {
  const lookups = new Counter({
    name: 'evalgraph_response_cache_lookups_total',
    help: 'Response cache lookups of queries, by outcome (hit, miss).',
    labelNames: ['outcome'],
    registers: [metrics],
  });
  const startedAt = new WeakMap<object, number>();
  // What the response read and how long it took, handed from onTtl to the store's set, which the
  // envelop plugin calls right after it, synchronously (set has no context of its own).
  let pending = { projects: [] as string[], computedInMs: 0 };
  const store: Cache = {
    get: async (id) => {
      const found = await cache.store.get(id);
      lookups.inc({ outcome: found === undefined ? 'miss' : 'hit' });
      return found;
    },
    set(id, result, entities, ttl) {
      const { projects, computedInMs } = pending;
      pending = { projects: [], computedInMs: 0 };
      // A response that read no project's data (built-in prices, say) is dropped by every
      // project's mutations: forgetting to record a project can cost hits, never freshness.
      const tags = new Set((projects.length ? projects : [ALL_PROJECTS]).map(projectTag));
      for (const { typename, id: entityId } of entities)
        tags.add(
          entityId === undefined || entityId === null ? typename : `${typename}:${entityId}`,
        );
      // The entry's validator goes with it (and with this response): hits need not hash their data.
      result.extensions = { ...result.extensions, [ETAG_EXTENSION]: entryEtag(id) };
      return cache.store.set(id, result, [...tags], ttl, computedInMs);
    },
    invalidate: (entities) =>
      cache.store.invalidate(
        [...entities].map(({ typename, id }) =>
          id === undefined || id === null ? typename : `${typename}:${id}`,
        ),
      ),
  };
  return {
    onPluginInit({ addPlugin }) {
      if (!config.enabled) return;
      addPlugin(
        useEnvelopResponseCache<Context & YogaInitialContext>({
          cache: store,
          ttl: config.defaultTtlMs,
          ttlPerSchemaCoordinate: cacheTtls(schema),
          session: (ctx) => (ctx.principal ? sessionOf(ctx.principal) : null),
          // Node's hash, in step: the default goes through WebCrypto's promise per request.
          buildResponseCacheKey: ({ documentString, operationName, variableValues, sessionId }) =>
            createHash('sha256')
              .update(
                `${documentString}|${operationName ?? ''}|${JSON.stringify(variableValues ?? {})}|${sessionId ?? ''}`,
              )
              .digest('hex'),
          enabled: (ctx) => ctx.principal !== null,
          includeExtensionMetadata: true,
          shouldCacheResult: ({ result }) => !result.errors?.length,
          onTtl: ({ ttl, context }) => {
            pending = {
              projects: [...context.touchedProjects],
              computedInMs: Date.now() - (startedAt.get(context) ?? 0),
            };
            return ttl;
          },
        }),
      );
    },
    onExecute({ args }) {
      if (!config.enabled) return;
      const ctx = args.contextValue;
      startedAt.set(ctx, Date.now());
      if (getOperationAST(args.document, args.operationName)?.operation !== 'mutation') return;
      return {
        async onExecuteDone({ result }) {
          // A mutation that failed part-way may have written too: drop on any data.
          if ('data' in result && result.data && ctx.touchedProjects.size)
            await cache.invalidateProjects(ctx.touchedProjects);
        },
      };
    },
  };
}
