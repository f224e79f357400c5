import type { Plugin } from 'graphql-yoga';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';

export interface RequestLimitsOptions {
  /** Largest request body accepted. @default 10 MiB */
  maxBodyBytes?: number;
}

/**
 * Bounds request bodies (413; a POST must say its length, 411) and refuses cross-site requests that
 * a browser would send without a CORS preflight (form or text/plain bodies) unless they carry a
 * custom header. GET never runs a mutation (Yoga answers 405), so it needs no such header.
 */
export function useRequestLimits({
  maxBodyBytes = 10 * 1024 * 1024,
}: RequestLimitsOptions = {}): Plugin {
  const csrf = useCSRFPrevention({
    requestHeaders: [
      'x-graphql-csrf',
      'graphql-require-preflight',
      'apollo-require-preflight',
      'x-apollo-operation-name',
    ],
  });
  return {
    onRequest({ request, fetchAPI, endResponse }) {
      if (request.method !== 'POST') return;
      const length = request.headers.get('content-length');
      const status =
        length === null
          ? request.headers.get('transfer-encoding')
            ? 411
            : 0
          : Number(length) > maxBodyBytes
            ? 413
            : 0;
      if (!status) return;
      const message =
        status === 411
          ? 'A request body must have a Content-Length.'
          : `The request body is larger than ${maxBodyBytes} bytes.`;
      endResponse(
        new fetchAPI.Response(
          JSON.stringify({ errors: [{ message, extensions: { code: 'BAD_USER_INPUT' } }] }),
          {
            status,
            headers: { 'content-type': 'application/json' },
          },
        ),
      );
    },
    onRequestParse(payload) {
      if (payload.request.method === 'GET') return;
      return csrf.onRequestParse?.(payload);
    },
  } as Plugin;
}
