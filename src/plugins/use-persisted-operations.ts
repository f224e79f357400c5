// Persisted operations over HTTP (POST, GET, batches, SSE): a hash (`documentId`, or APQ's
// `extensions.persistedQuery`) is replaced by its document, and with PERSISTED_QUERY_ONLY a
// non-admin key's text must be a trusted document. The rules are in
// modules/persisted-queries/service.ts; graphql-ws asks the same `admit` (ws.ts).
import type { Plugin } from 'graphql-yoga';
import type { Principal } from '../modules/auth/permissions';
import type { OperationParams, PersistedOperations } from '../modules/persisted-queries/service';

export interface PersistedOperationsOptions {
  operations: PersistedOperations;
  /** The request's principal (the cached key lookup); a bad key throws 401. */
  principalOf(request: Request): Promise<Principal | null>;
  /** Told when the request must run as a narrower principal (a document trusted for some projects only). */
  onConfined(request: Request, principal: Principal): void;
}

export function usePersistedOperations({
  operations,
  principalOf,
  onConfined,
}: PersistedOperationsOptions): Plugin {
  return {
    async onParams({ params, request, setParams }) {
      const withId = params as typeof params & Pick<OperationParams, 'documentId'>;
      // GET carries documentId in the URL (Yoga's GET parser keeps only the four standard names).
      if (withId.documentId === undefined && request.method === 'GET') {
        const fromUrl = new URL(request.url).searchParams.get('documentId');
        if (fromUrl !== null) withId.documentId = fromUrl;
      }
      const principal = await principalOf(request);
      const admitted = await operations.admit(withId, principal);
      if (admitted.principal && admitted.principal !== principal)
        onConfined(request, admitted.principal);
      setParams(admitted.params);
    },
  };
}
