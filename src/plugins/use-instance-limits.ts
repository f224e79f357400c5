// The instance's request limits (modules/ratelimit/instance.ts): each HTTP request to the API's
// paths (/graphql, OTLP's /v1/traces, the exports under /v1/export/) takes a slot in flight and a
// count in the hour before its body is read; over a limit, 503 (in flight) or 429 (the hour) with
// Retry-After and INSTANCE_LIMIT_EXCEEDED. The slot is given back when the response is made: a
// subscription over SSE, or an export, holds none while it streams (an export is paced per user
// instead). Health, readiness, metrics and GraphiQL's assets never count.
import type { ServerResponse } from 'node:http';
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Admission, InstanceLimits } from '../modules/ratelimit/instance';
import { otlpError } from './use-otlp';
import { answering } from './on-request';

export interface InstanceLimitOptions {
  limits: InstanceLimits;
  /** @default '/graphql' */
  graphqlPath?: string;
  /** @default '/v1/traces' */
  otlpPath?: string;
  /** @default '/v1/export/' */
  exportPrefix?: string;
}

export function useInstanceLimits({
  limits,
  graphqlPath = '/graphql',
  otlpPath = '/v1/traces',
  exportPrefix = '/v1/export/',
}: InstanceLimitOptions): Plugin {
  const admitted = new WeakMap<Request, Admission>();
  return {
    onRequest: answering(
      ({ request, url }) =>
        limits.limitsRequests &&
        (url.pathname === graphqlPath ||
          url.pathname === otlpPath ||
          url.pathname.startsWith(exportPrefix)) &&
        request.method !== 'OPTIONS',
      async ({
        request,
        url,
        serverContext,
        fetchAPI,
        endResponse,
        requestHandler,
        setRequestHandler,
      }) => {
        const admission = await limits.admit();
        if ('release' in admission) {
          // Given back by whichever comes first: the handler's response (a stream's included), the
          // response of a later plugin that answers early, or the connection closing.
          admitted.set(request, admission);
          (serverContext as { res?: ServerResponse } | undefined)?.res?.once(
            'close',
            admission.release,
          );
          setRequestHandler(async (req, context) => {
            try {
              return await requestHandler(req, context);
            } finally {
              admission.release();
            }
          });
          return;
        }
        const error: GraphQLError = admission;
        const { status, headers } = error.extensions.http as {
          status: number;
          headers: Record<string, string>;
        };
        if (url.pathname === otlpPath)
          return endResponse(otlpError(fetchAPI, request, status, error.message, headers));
        const { http: _http, ...extensions } = error.extensions;
        endResponse(
          new fetchAPI.Response(
            JSON.stringify({ errors: [{ message: error.message, extensions }] }),
            { status, headers: { ...headers, 'content-type': 'application/json' } },
          ),
        );
      },
    ),
    onResponse({ request }) {
      admitted.get(request)?.release();
    },
  };
}
