// The HTTP server around the Yoga app: listen, and drain on shutdown.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type App } from './app';
import type { Deps } from './deps';
import type { Services } from './services';
import { attachWebSockets } from './ws';

export interface ApiServer {
  app: App;
  webSockets: ReturnType<typeof attachWebSockets>;
  server: Server;
  url: string;
  /** Stops accepting, lets in-flight requests finish (up to the shutdown timeout), then closes. */
  close(): Promise<void>;
}

export async function startApi(deps: Deps, services: Services, options: { port: number; host: string }): Promise<ApiServer> {
  const app = createApp(deps, services);
  const server = createServer(app);
  const webSockets = attachWebSockets(server, app, deps);
  server.headersTimeout = 30_000;
  server.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    app,
    webSockets,
    server,
    url,
    async close() {
      await webSockets.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), deps.config.http.shutdownTimeoutMs);
      await closed;
      clearTimeout(timer);
      await app.dispose();
    },
  };
}
