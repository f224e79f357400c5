import type { Plugin } from 'graphql-yoga';
import type { Registry } from 'prom-client';

/** `GET /metrics` in the Prometheus text format. @default endpoint '/metrics' */
export function useMetricsEndpoint({
  registry,
  endpoint = '/metrics',
}: {
  registry: Registry;
  endpoint?: string;
}): Plugin {
  return {
    async onRequest({ request, url, fetchAPI, endResponse }) {
      if (url.pathname !== endpoint || request.method !== 'GET') return;
      endResponse(
        new fetchAPI.Response(await registry.metrics(), {
          headers: { 'content-type': registry.contentType },
        }),
      );
    },
  };
}
