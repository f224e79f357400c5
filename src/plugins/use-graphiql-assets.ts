import type { Plugin } from 'graphql-yoga';
import { ASSET_PATH, GRAPHIQL_CSP, encoded, graphiqlAssets } from '../graphiql/page';
import { answering } from './on-request';

/**
 * Serves GraphiQL's script, styles and workers under /graphiql/ and gives the GraphiQL page (Yoga
 * renders it with renderGraphiQLPage) its Content-Security-Policy.
 */
export function useGraphiQLAssets(): Plugin {
  return {
    onRequest: answering(
      ({ request, url }) =>
        url.pathname.startsWith(ASSET_PATH) &&
        (request.method === 'GET' || request.method === 'HEAD'),
      async ({ request, url, fetchAPI, endResponse }) => {
        const assets = await graphiqlAssets();
        const asset = assets.get(url.pathname.slice(ASSET_PATH.length));
        if (!asset) return endResponse(new fetchAPI.Response('not found', { status: 404 }));
        const { body, gzip } = await encoded(asset, request.headers.get('accept-encoding'));
        const headers: Record<string, string> = {
          'content-type': asset.type,
          'x-content-type-options': 'nosniff',
          vary: 'accept-encoding',
          // The page asks for the assets by version, so a versioned answer never changes.
          'cache-control':
            url.searchParams.get('v') === assets.version
              ? 'public, max-age=31536000, immutable'
              : 'no-cache',
        };
        if (gzip) headers['content-encoding'] = 'gzip';
        endResponse(
          new fetchAPI.Response(
            request.method === 'HEAD' ? null : (body as Uint8Array<ArrayBuffer>),
            { headers },
          ),
        );
      },
    ),
    onResponse({ request, response }) {
      if (
        request.method !== 'GET' ||
        !response.headers.get('content-type')?.startsWith('text/html')
      )
        return;
      response.headers.set('content-security-policy', GRAPHIQL_CSP);
      response.headers.set('x-content-type-options', 'nosniff');
      response.headers.set('referrer-policy', 'no-referrer');
    },
  };
}
