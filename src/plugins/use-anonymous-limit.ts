// Requests without a valid API key get their address's small bucket (modules/ratelimit/anonymous.ts)
// before anything reads their body: over it, 429 with Retry-After. Only the API's paths
// (/graphql and OTLP's /v1/traces) count; health, readiness, metrics and the GraphiQL page (Yoga
// serves it before user plugins) are never limited. WebSockets ask the same limiter at
// connection_init (ws.ts).
import type { Plugin } from 'graphql-yoga';
import { appError } from '../errors';
import type { AnonymousLimiter } from '../modules/ratelimit/anonymous';
import { otlpError } from './use-otlp';

export interface AnonymousLimitOptions {
  limiter: AnonymousLimiter;
  /** The client's address of a request (lib/client-address.ts). */
  addressOf(request: Request): string | undefined;
  /** The request's principal, looked up once per request (app.ts): the context reuses it. */
  principalOf?(request: Request): Promise<unknown | null>;
  /** @default '/graphql' */
  graphqlPath?: string;
  /** Answered in OTLP's form (google.rpc.Status, RESOURCE_EXHAUSTED). @default '/v1/traces' */
  otlpPath?: string;
}

export function useAnonymousLimit({
  limiter,
  addressOf,
  principalOf,
  graphqlPath = '/graphql',
  otlpPath = '/v1/traces',
}: AnonymousLimitOptions): Plugin {
  return {
    async onRequest({ request, url, fetchAPI, endResponse }) {
      if (
        (url.pathname !== graphqlPath && url.pathname !== otlpPath) ||
        request.method === 'OPTIONS'
      )
        return;
      // Tests calling yoga.fetch have no socket, hence no address, and pass.
      const retryAfter = await limiter.admit(
        addressOf(request),
        request.headers.get('authorization'),
        principalOf && (() => principalOf(request)),
      );
      if (retryAfter === null) return;
      const rate = limiter.limits!.restoreRate;
      const message = `Too many requests without a valid API key from your address (at most ${rate} a second). Retry after ${retryAfter} s, or send "Authorization: Bearer <api key>".`;
      const headers = { 'retry-after': String(retryAfter) };
      if (url.pathname === otlpPath)
        return endResponse(otlpError(fetchAPI, request, 429, message, headers));
      const error = appError('RATE_LIMITED', message, { extensions: { retryAfter } });
      endResponse(
        new fetchAPI.Response(JSON.stringify({ errors: [error.toJSON()] }), {
          status: 429,
          headers: { ...headers, 'content-type': 'application/json' },
        }),
      );
    },
  };
}
