// HTTP caching headers for /graphql. A successful query answered to a key gets a weak ETag of its
// data, `Cache-Control: private, no-cache` and `Vary: Authorization` (private data: no shared
// cache may keep it, and a client must revalidate before reuse); a request whose
// If-None-Match matches gets 304 without a body. Everything else (mutations, errors, anonymous
// calls) is `no-store`. Streams (SSE) are left alone. Whether the response cache answered goes in
// `X-Cache: HIT` / `X-Cache: MISS`, never in the body.
import { createHash } from 'node:crypto';
import { getOperationAST, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context';

const etagOfText = (json: string) => `W/"${createHash('sha1').update(json).digest('base64url')}"`;

/**
 * The data is serialised once, for its ETag, and that text is the answer's body too: Yoga writes a
 * result with its own `stringify` (kept by the plugins' `{ ...result }` copies) through it. Only
 * for the plain shape made here; anything else (data replaced, errors added) is stringified whole.
 */
function serialisedOnce(result: ExecutionResult, json: string) {
  const { data } = result;
  const stringify = (r: ExecutionResult & Record<string, unknown>) => {
    for (const key in r)
      if (key !== 'data' && key !== 'extensions' && key !== 'stringify') return JSON.stringify(r);
    if (r.data !== data) return JSON.stringify(r);
    return r.extensions === undefined
      ? `{"data":${json}}`
      : `{"data":${json},"extensions":${JSON.stringify(r.extensions)}}`;
  };
  return { ...result, stringify };
}

/**
 * A cached response carries its validator in this extension (removed before it is sent): one per
 * cache entry, new whenever the entry is made again, so a hit costs no hashing of its data.
 */
export const ETAG_EXTENSION = 'etag';
export const entryEtag = (cacheKey: string) =>
  `W/"c${createHash('sha1').update(`${cacheKey}:${Date.now()}:${Math.random()}`).digest('base64url')}"`;

/** If-None-Match lists entity tags, compared weakly (RFC 9110 §13.1.2). */
function matches(header: string, etag: string): boolean {
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === bare;
  });
}

/** The response cache's bookkeeping on a result (envelop's includeExtensionMetadata), taken out before it is sent. */
const CACHE_EXTENSION = 'responseCache';

export function useHttpCaching(): Plugin<Context> {
  const etags = new WeakMap<Request, string>();
  const cacheStatus = new WeakMap<Request, 'HIT' | 'MISS'>();
  return {
    onExecute({ args }) {
      const query = getOperationAST(args.document, args.operationName)?.operation === 'query';
      const ctx = args.contextValue as Context & { request?: Request };
      return {
        onExecuteDone({ result, setResult }) {
          if (!('data' in result)) return;
          // Over any transport, for every operation (a mutation carries the entities it invalidated):
          // the cache's validator and bookkeeping are not part of the answer.
          const {
            [ETAG_EXTENSION]: stored,
            [CACHE_EXTENSION]: cached,
            ...extensions
          } = result.extensions ?? {};
          const answer =
            stored !== undefined || cached !== undefined
              ? { ...result, extensions: Object.keys(extensions).length ? extensions : undefined }
              : result;
          if (answer !== result) setResult(answer);
          if (!query || !ctx.request) return;
          if (cached !== undefined)
            cacheStatus.set(ctx.request, (cached as { hit?: boolean }).hit ? 'HIT' : 'MISS');
          if (!ctx.principal || !result.data || result.errors?.length) return;
          if (typeof stored === 'string') return void etags.set(ctx.request, stored);
          const json = JSON.stringify(result.data);
          etags.set(ctx.request, etagOfText(json));
          setResult(serialisedOnce(answer, json));
        },
      };
    },
    onResponse({ request, response, setResponse, fetchAPI }) {
      if (!request.url.includes('/graphql') || new URL(request.url).pathname !== '/graphql') return;
      if (response.headers.get('content-type')?.startsWith('text/event-stream')) return;
      const status = cacheStatus.get(request);
      if (status) response.headers.set('X-Cache', status);
      const etag = etags.get(request);
      if (!etag || response.status !== 200) {
        response.headers.set('Cache-Control', 'no-store');
        return;
      }
      const headers = { ETag: etag, 'Cache-Control': 'private, no-cache', Vary: 'Authorization' };
      const ifNoneMatch = request.headers.get('if-none-match');
      if (ifNoneMatch && matches(ifNoneMatch, etag)) {
        // The rate-limit, request-id and X-Cache headers go along.
        const kept = [...response.headers].filter(([name]) => name.startsWith('x-'));
        setResponse(
          new fetchAPI.Response(null, {
            status: 304,
            headers: [...kept, ...Object.entries(headers)],
          }),
        );
        return;
      }
      for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
    },
  };
}
