// Automatic persisted queries (Apollo's APQ protocol): a client sends
// `extensions.persistedQuery { version: 1, sha256Hash }` without the query; an unknown hash
// answers PersistedQueryNotFound and the client sends it again with the query, which is stored
// (after checking that it hashes to what was claimed) for every process (Redis) and later calls.
// GET works too, so hashed queries can be cached by HTTP caches. Stored documents go through
// parsing, validation and cost analysis like any other.
// (@graphql-yoga/plugin-apq 3.6 requires @graphql-tools/utils 10, which graphql-yoga 5.24's 11
// conflicts with; the protocol is small enough to hold here.)
import { createHash } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import { appError, badInput } from '../errors';
import type { Kv } from '../storage/kv';

const TTL_SECONDS = 7 * 24 * 3600;
/** Longer queries run but are not kept. */
const MAX_STORED_CHARS = 64 * 1024;
const SHA256 = /^[0-9a-f]{64}$/;

interface PersistedQuery {
  version?: unknown;
  sha256Hash?: unknown;
}

export interface ApqOptions {
  store: Kv;
  /** Whether the request may store a query (a valid key): anonymous callers cannot fill the store. */
  mayRegister(request: Request): Promise<boolean>;
  metrics?: { hit(): void; miss(): void };
}

export function useApq({ store, mayRegister, metrics }: ApqOptions): Plugin {
  return {
    async onParams({ params, request, setParams }) {
      const persisted = (params.extensions as { persistedQuery?: PersistedQuery } | undefined)?.persistedQuery;
      if (!persisted) return;
      if (persisted.version !== 1) throw badInput('Unsupported persisted query version: only 1 is known.', ['extensions', 'persistedQuery', 'version']);
      const hash = typeof persisted.sha256Hash === 'string' ? persisted.sha256Hash.toLowerCase() : '';
      if (!SHA256.test(hash)) throw badInput('persistedQuery.sha256Hash must be 64 hexadecimal characters.', ['extensions', 'persistedQuery', 'sha256Hash']);
      if (params.query) {
        if (createHash('sha256').update(params.query).digest('hex') !== hash) throw badInput('The query does not match persistedQuery.sha256Hash.', ['extensions', 'persistedQuery', 'sha256Hash']);
        if (params.query.length <= MAX_STORED_CHARS && (await mayRegister(request))) await store.set(`apq:${hash}`, params.query, TTL_SECONDS);
        return;
      }
      const query = await store.get(`apq:${hash}`);
      if (query === null) {
        metrics?.miss();
        // The message is what Apollo's link (and other APQ clients) look for.
        throw appError('PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound');
      }
      metrics?.hit();
      setParams({ ...params, query });
    },
  };
}
