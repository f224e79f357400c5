// The Yoga instance: schema, context, plugins, health and metrics. Used by api.ts and by tests.
import type { IncomingMessage } from 'node:http';
import { useEngine } from '@envelop/core';
import { parse, validate } from 'graphql';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Context } from './context';
import type { Deps } from './deps';
import { EXAMPLES_DOCUMENT, exampleVariables } from './graphiql/examples';
import { renderGraphiQLPage } from './graphiql/page';
import { corsFor, useVaryOrigin } from './lib/cors';
import { flatUuid } from './lib/ids';
import { createJitExecute } from './lib/jit-execute';
import { createSharedSubscribe } from './lib/shared-subscribe';
import { authenticateHeader } from './modules/auth/authenticate';
import { accessKey, type Principal } from './modules/auth/permissions';
import { useAbuseLimits } from './plugins/use-abuse-limits';
import { useAnonymousLimit } from './plugins/use-anonymous-limit';
import { createMaskError, useErrorCodes, useErrorMasking } from './plugins/use-error-codes';
import { useGraphiQLAssets } from './plugins/use-graphiql-assets';
import { useHttpCaching } from './plugins/use-http-caching';
import { useMetricsEndpoint } from './plugins/use-metrics-endpoint';
import { useExport } from './plugins/use-export';
import { useOtlp } from './plugins/use-otlp';
import { usePrometheus } from './plugins/use-prometheus';
import { useServiceLevels } from './plugins/use-service-levels';
import { useInstanceLimits } from './plugins/use-instance-limits';
import { useKeyRoleFields } from './plugins/use-key-role-fields';
import { usePageLimits } from './plugins/use-page-limits';
import { usePersistedOperations } from './plugins/use-persisted-operations';
import { useRateLimit } from './plugins/use-rate-limit';
import { useReadiness } from './plugins/use-readiness';
import { readinessChecks } from './readiness';
import { requestIdOf, useRequestId } from './plugins/use-request-id';
import { useRequestLimits } from './plugins/use-request-limits';
import { useResponseCache } from './plugins/use-response-cache';
import { getSchema } from './schema';
import { createServices, type Services } from './services';
import { isDatabaseUnavailable } from './storage/db-errors';

/** Names of the operations in trusted documents (kept as metric labels). */
const operationNames = (documents: Iterable<string>) =>
  [...documents].flatMap((d) =>
    [...d.matchAll(/\b(?:query|mutation|subscription)\s+(\w+)/g)].map((m) => m[1]),
  );

export type App = YogaServerInstance<Record<string, unknown>, Context> & { services: Services };

export function createApp(deps: Deps, services: Services = createServices(deps)): App {
  const { config, log } = deps;
  const contextOf = (
    principal: Principal | null,
    requestId: string,
    address: string | undefined,
    pushed = false,
  ): Context => ({
    deps,
    services,
    principal,
    requestId,
    address,
    touchedProjects: new Set(),
    pushed,
  });
  const maskError = createMaskError(log);
  const schema = getSchema();
  const execute = createJitExecute(schema);
  // The key's principal, looked up once per request by whoever asks first (persisted operations and
  // validation hints, before the context is built; then the context).
  const principals = new WeakMap<Request, Promise<Principal | null>>();
  // The client's address of each request, found once when it arrives (lib/client-address.ts).
  const addresses = new WeakMap<Request, string | undefined>();
  const addressOf = (request: Request) => addresses.get(request);
  const principalOf = (request: Request) => {
    let principal = principals.get(request);
    if (!principal)
      principals.set(
        request,
        (principal = authenticateHeader(
          services.auth,
          request.headers.get('authorization'),
          addressOf(request),
        )),
      );
    return principal;
  };
  // Requests that run a document trusted for some projects only, as the principal confined to them.
  const confined = new WeakMap<Request, Principal>();
  const hasValidKey = (request: Request) =>
    principalOf(request).then(
      (p) => p !== null,
      () => false,
    );
  // Operations' costs, and OTLP requests' (useOtlp): one set of buckets whichever way a request comes.
  const rateLimit = useRateLimit({
    schema,
    config: config.rateLimit,
    quotas: config.quotas,
    requests: services.requests,
    store: deps.buckets,
    metrics: deps.metrics,
    onStoreError: (error) =>
      log.warn({ err: error }, 'rate-limit store failed; using the fallback policy'),
  });
  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health/live',
    landingPage: false,
    multipart: false,
    // useRequestLimits bounds a body by its Content-Length (required on POST) and Node's HTTP parser
    // reads no byte past it, so Yoga's own limit, which pipes every body through a counting stream
    // (an AbortSignal and a DOMException per request: 7 % of `{ viewer { id } }`), is redundant.
    maxRequestBodySize: false,
    logging: {
      debug: (...args) => log.debug(args.map(String).join(' ')),
      info: (...args) => log.info(args.map(String).join(' ')),
      warn: (...args) => log.warn(args.map(String).join(' ')),
      // Yoga logs each error it masks; the database being unreachable is logged once per outage instead (deps.ts).
      error: (...args) =>
        args.some(isDatabaseUnavailable)
          ? log.debug(args.map(String).join(' '))
          : log.error(args.map(String).join(' ')),
    },
    graphiql: config.http.graphiql
      ? async () => {
          const projectId = await services.projects.firstProjectId().catch(() => null);
          const variables = exampleVariables(
            projectId && encodeGlobalID('Project', projectId),
            deps.clock.now(),
          );
          // `variables` becomes GraphiQL's initialVariables (Yoga passes options through as props).
          return {
            title: 'Evalgraph',
            defaultQuery: EXAMPLES_DOCUMENT,
            variables,
            defaultEditorToolsVisibility: 'variables' as const,
          };
        }
      : false,
    renderGraphiQL: renderGraphiQLPage,
    cors: corsFor(config.http.corsOrigins),
    // Yoga's net for errors outside execution (its second argument is a message, not a request id).
    maskedErrors: { maskError: (error) => maskError(error) },
    context: async (initial): Promise<Context> => {
      // A WebSocket operation: its connection's key was checked for this subscribe (ws.ts).
      if ('wsPrincipal' in initial)
        return contextOf(
          initial.wsPrincipal as Principal,
          // Kept while the subscription is open: a flat string (lib/ids.ts).
          flatUuid(),
          (initial as { wsAddress?: string }).wsAddress,
          true,
        );
      const principal = confined.get(initial.request) ?? (await principalOf(initial.request));
      return contextOf(principal, requestIdOf(initial.request), addressOf(initial.request));
    },
    plugins: [
      // graphql-js's executor (Yoga's default one deep-copies every variable before coercing it,
      // which costs about 10 ms on a 1,000-span ingest batch; we use no @defer/@stream), with
      // repeated queries compiled by graphql-jit; subscription events executed once per key and
      // operation, and pushed to WebSocket subscribers (lib/shared-subscribe.ts).
      // (No specifiedRules here: Yoga's own engine adds them, and a second list runs every rule twice.)
      useEngine({
        parse,
        validate,
        execute,
        subscribe: createSharedSubscribe(execute, {
          keyOf: (ctx) => {
            const principal = (ctx as Context).principal;
            return principal ? accessKey(principal) : null;
          },
          pushed: (ctx) => (ctx as Context).pushed === true,
          executed: () => deps.meters.subscriptionExecutions.inc(),
        }),
      }),
      useRequestId(),
      {
        // Node's socket: Yoga runs on node:http here (yoga.fetch in tests has none).
        onRequest({ request, serverContext }) {
          const req = (serverContext as { req?: IncomingMessage } | undefined)?.req;
          addresses.set(
            request,
            services.clientAddress(
              req?.socket?.remoteAddress,
              request.headers.get('x-forwarded-for'),
            ),
          );
        },
      },
      useVaryOrigin(config.http.corsOrigins),
      ...(config.http.graphiql ? [useGraphiQLAssets()] : []),
      usePrometheus({
        registry: deps.metrics,
        knownOperations: operationNames(services.operations.manifest.values()),
      }),
      useServiceLevels({ levels: services.serviceLevels, meters: deps.meters }),
      // Before anything reads a body or a key is looked up twice: callers without a valid key pay first.
      useAnonymousLimit({ limiter: services.anonymous, addressOf, principalOf }),
      // Every user together: requests in flight and per hour (EVALGRAPH_GLOBAL_LIMITS). After the
      // anonymous bucket, so a flood without a key is stopped per address before it spends these.
      useInstanceLimits({ limits: services.instanceLimits }),
      // Also bounds the query text (EVALGRAPH_MAX_QUERY_BYTES) before it is hashed or parsed.
      usePersistedOperations({
        operations: services.operations,
        principalOf,
        onConfined: (request, principal) => confined.set(request, principal),
      }),
      useOtlp({
        services,
        addressOf,
        log,
        maxBodyBytes: config.http.maxBodyBytes,
        maxSpans: config.traces.maxSpansPerBatch,
        chargeRequest: (principal, cost) =>
          rateLimit.chargeRequest(principal, cost, deps.clock.now()),
      }),
      useExport({
        services,
        sql: deps.db.query,
        buckets: deps.buckets,
        addressOf,
        log,
        bytesPerSecond: config.http.exportBytesPerSecond,
      }),
      useRequestLimits({ maxBodyBytes: config.http.maxBodyBytes }),
      useErrorCodes(),
      ...useAbuseLimits(config.limits, hasValidKey),
      // Before the rate limit: a refused page size is neither costed nor charged.
      useKeyRoleFields(),
      usePageLimits(),
      rateLimit,
      // After the rate limit: a hit is costed and counted like a miss.
      useResponseCache({
        schema,
        config: config.responseCache,
        cache: services.cache,
        metrics: deps.metrics,
      }),
      // After the cache: ETags of the data as sent (without the cache's bookkeeping fields).
      useHttpCaching(),
      useErrorMasking(log),
      useReadiness({ checks: readinessChecks(deps, services) }),
      useMetricsEndpoint({ registry: deps.metrics }),
    ],
  });
  return Object.assign(yoga, { services });
}
