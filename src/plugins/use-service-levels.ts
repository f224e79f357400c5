// Counts every answered request for the metrics and the SLOs: HTTP requests by route and status
// class, GraphQL operations by tier and type, unexpected errors, and how long queries took.
// Registered early, so it sees errors before they are masked.
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context';
import { isExpectedError } from './use-error-codes';
import type { Meters } from '../modules/observability/meters';
import type { ServiceLevels } from '../modules/observability/service-levels';

const ROUTES: Record<string, string> = { '/graphql': 'graphql', '/v1/traces': 'otlp' };

export function useServiceLevels({
  levels,
  meters,
}: {
  levels: ServiceLevels;
  meters: Meters;
}): Plugin<Context> {
  // The route and start of each request on a counted route (Yoga parses the URL once, for onRequest).
  const started = new WeakMap<Request, { route: string; at: number }>();
  const seen = new WeakMap<Request, { query: boolean; failed: boolean }>();
  const count = (ctx: Context, type: string) =>
    meters.requests.inc({ tier: ctx.principal?.tier ?? 'ANONYMOUS', type });
  return {
    onRequest({ request, url }) {
      const route = ROUTES[url.pathname];
      if (route) started.set(request, { route, at: performance.now() });
    },
    onExecute({ args }) {
      const ctx = args.contextValue as Context & { request?: Request };
      const type = getOperationAST(args.document, args.operationName)?.operation ?? 'unknown';
      count(ctx, type);
      return {
        onExecuteDone({ result }) {
          if (!('data' in result) && !('errors' in result)) return; // a stream (no @defer / @stream here)
          // Classified as the error masking will (a bad global id is the caller's, not ours).
          const failed = !!result.errors?.some((e) => !isExpectedError(e));
          if (failed) meters.internalErrors.inc();
          if (ctx.request) seen.set(ctx.request, { query: type === 'query', failed });
        },
      };
    },
    onSubscribe({ args }) {
      count(args.contextValue, 'subscription');
    },
    onResponse({ request, response }) {
      const start = started.get(request);
      if (!start) return;
      meters.httpRequests.inc({
        route: start.route,
        status_class: `${Math.floor(response.status / 100)}xx`,
      });
      const op = seen.get(request);
      const streaming = response.headers.get('content-type')?.startsWith('text/event-stream');
      const ms = performance.now() - start.at;
      levels.record(
        { unavailable: response.status >= 500, failed: !!op?.failed },
        op?.query && !streaming ? { ms } : null,
      );
    },
  };
}
