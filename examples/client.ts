// A small typed client for Evalgraph: operations come from schema/operations, typed by codegen,
// and are sent by hash only (trusted documents), so they work on a server with
// PERSISTED_QUERY_ONLY. Queries and mutations over HTTP, subscriptions over graphql-ws.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** Codegen's documents in hash mode carry only their hash ("sha256:<hex>"). */
const hashOf = (document: object) => {
  const hash = (document as unknown as { __meta__?: { hash?: string } }).__meta__?.hash;
  if (!hash) throw new Error('not a persisted document: run `npm run codegen`');
  return hash;
};

export class GraphQLRequestError extends Error {
  constructor(readonly errors: { message: string; extensions?: { code?: string } }[]) {
    super(errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; '));
  }
}

export function createEvalgraphClient(options: { url: string; apiKey: string }) {
  const authorization = `Bearer ${options.apiKey}`;
  let ws: Client | undefined;

  return {
    async request<R, V>(document: TypedDocumentNode<R, V>, variables: V): Promise<R> {
      const response = await fetch(`${options.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          authorization,
        },
        body: JSON.stringify({ documentId: hashOf(document), variables }),
      });
      const body = (await response.json()) as { data?: R; errors?: GraphQLRequestError['errors'] };
      if (body.errors?.length || !body.data)
        throw new GraphQLRequestError(body.errors ?? [{ message: `HTTP ${response.status}` }]);
      return body.data;
    },

    /** Calls `onData` with each event until the server completes the stream. */
    subscribe<R, V>(
      document: TypedDocumentNode<R, V>,
      variables: V,
      onData: (data: R) => void,
    ): Promise<void> {
      ws ??= createClient({
        url: `${options.url.replace(/^http/, 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization },
        retryAttempts: 0,
      });
      const client = ws;
      const sha256Hash = hashOf(document).slice('sha256:'.length);
      return new Promise((resolve, reject) => {
        client.subscribe<R>(
          // graphql-ws wants a query string: the hash travels in the APQ extension.
          {
            query: '',
            variables: variables as Record<string, unknown>,
            extensions: { persistedQuery: { version: 1, sha256Hash } },
          },
          {
            next: (result) =>
              result.errors?.length
                ? reject(new GraphQLRequestError(result.errors as GraphQLRequestError['errors']))
                : onData(result.data as R),
            error: (error) => reject(Array.isArray(error) ? new GraphQLRequestError(error) : error),
            complete: resolve,
          },
        );
      });
    },

    async close() {
      await ws?.dispose();
    },
  };
}
