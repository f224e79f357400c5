// GraphiQL served entirely from our own origin: the page, its script, styles and editor workers,
// so it works without internet and under a strict Content-Security-Policy (no inline script, no
// other origin). The bundle comes from @graphql-yoga/render-graphiql; Yoga's own renderer inlines
// it (and its workers as blob: URLs), which a strict policy forbids.
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

/** Where the assets are served from. */
export const ASSET_PATH = '/graphiql/';

/** The page's policy: our origin only. Monaco sets inline styles, hence style-src 'unsafe-inline'. */
export const GRAPHIQL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "connect-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  body: Buffer;
  type: string;
  gzipped?: Promise<Buffer>;
}

export interface GraphiQLAssets {
  /** Changes with the bundle: assets are requested with ?v=<version> and cached for good. */
  version: string;
  get(name: string): Asset | undefined;
}

const JS = 'text/javascript; charset=utf-8';
// Monaco asks for a worker by label; each is served as a file of ours instead of a blob: URL.
const WORKERS: Record<string, string> = {
  editorWorkerService: 'editor.worker.js',
  json: 'json.worker.js',
  graphql: 'graphql.worker.js',
};

let loaded: Promise<GraphiQLAssets> | undefined;

/** Loaded on the first GraphiQL request: the bundle is 9 MB of text that an API-only process never needs. */
export function graphiqlAssets(): Promise<GraphiQLAssets> {
  return (loaded ??= load());
}

async function load(): Promise<GraphiQLAssets> {
  const bundle = await import('@graphql-yoga/render-graphiql/graphiql');
  const version = createHash('sha256')
    .update(bundle.js)
    .update(bundle.css)
    .digest('hex')
    .slice(0, 16);
  const [, faviconType, faviconBase64] = /^data:([^;]+);base64,(.*)$/s.exec(bundle.favicon) ?? [];
  const workerUrl = (name: string) => `${ASSET_PATH}${name}?v=${version}`;
  const script = [
    `self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: function (_id, label) { var urls = ${JSON.stringify(Object.fromEntries(Object.entries(WORKERS).map(([label, name]) => [label, workerUrl(name)])))}; return urls[label] || urls.editorWorkerService; } };`,
    bundle.js,
    // Options travel in a JSON data block of the page: no inline script.
    `;YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), JSON.parse(document.getElementById('graphiql-options').textContent));`,
  ].join('\n');
  const assets = new Map<string, Asset>([
    ['graphiql.js', { body: Buffer.from(script), type: JS }],
    ['graphiql.css', { body: Buffer.from(bundle.css), type: 'text/css; charset=utf-8' }],
    ['editor.worker.js', { body: Buffer.from(bundle.editorWorkerService), type: JS }],
    ['json.worker.js', { body: Buffer.from(bundle.jsonWorker), type: JS }],
    ['graphql.worker.js', { body: Buffer.from(bundle.graphqlWorker), type: JS }],
  ]);
  if (faviconBase64)
    assets.set('favicon.ico', { body: Buffer.from(faviconBase64, 'base64'), type: faviconType! });
  return { version, get: (name) => assets.get(name) };
}

/** The bytes to send, gzipped once and kept when the client takes gzip (the script is 5 MB, 1.3 MB gzipped). */
export function encoded(
  asset: Asset,
  acceptEncoding: string | null,
): Promise<{ body: Buffer; gzip: boolean }> {
  if (!/\bgzip\b/.test(acceptEncoding ?? ''))
    return Promise.resolve({ body: asset.body, gzip: false });
  asset.gzipped ??= gzipAsync(asset.body);
  return asset.gzipped.then((body) => ({ body, gzip: true }));
}

/** The page: markup only; everything it runs or draws is fetched from ASSET_PATH. */
export async function renderGraphiQLPage(
  options: Record<string, unknown> & { title?: string },
): Promise<string> {
  const { version } = await graphiqlAssets();
  const asset = (name: string) => `${ASSET_PATH}${name}?v=${version}`;
  // In a <script type="application/json"> block, only "<" could end it early.
  const json = JSON.stringify(options).replace(/</g, '\\u003c');
  const title = escapeHtml(options.title ?? 'GraphiQL');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${title}</title>
    <link rel="icon" href="${asset('favicon.ico')}" />
    <link rel="stylesheet" href="${asset('graphiql.css')}" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run this app.</noscript>
    <div id="root"></div>
    <script type="application/json" id="graphiql-options">${json}</script>
    <script src="${asset('graphiql.js')}"></script>
  </body>
</html>
`;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
