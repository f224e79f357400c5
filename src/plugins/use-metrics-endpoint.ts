import type { Plugin } from 'graphql-yoga';
import type { Registry } from 'prom-client';
import { answering } from './on-request';

/** `GET /metrics` in the Prometheus text format. @default endpoint '/metrics' */
export function useMetricsEndpoint({
  registry,
  endpoint = '/metrics',
}: {
  registry: Registry;
  endpoint?: string;
}): Plugin {
  return {
    onRequest: answering(
      ({ request, url }) => url.pathname === endpoint && request.method === 'GET',
      async ({ fetchAPI, endResponse }) =>
        endResponse(
          new fetchAPI.Response(await registry.metrics(), {
            headers: { 'content-type': registry.contentType },
          }),
        ),
    ),
  };
}
