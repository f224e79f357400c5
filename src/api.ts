// The HTTP server around the Yoga app: listen, and drain on shutdown.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type App } from './app';
import type { Deps } from './deps';
import { settledBy } from './lib/deadline';
import type { Services } from './services';
import { attachWebSockets } from './ws';

const connectionCount = (server: Server) =>
  new Promise<number>((resolve) => server.getConnections((_error, count) => resolve(count ?? 0)));

export interface ApiServer {
  app: App;
  webSockets: ReturnType<typeof attachWebSockets>;
  server: Server;
  url: string;
  /**
   * Stops accepting and closes WebSockets (1001); in-flight requests may finish until `drainBy`
   * (epoch ms; default: the shutdown timeout from now), then every connection left is cut.
   */
  close(drainBy?: number): Promise<void>;
}

export async function startApi(
  deps: Deps,
  services: Services,
  options: { port: number; host: string },
): Promise<ApiServer> {
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
    async close(drainBy = Date.now() + deps.config.http.shutdownTimeoutMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A keep-alive connection is idle between requests: it is closed as soon as its response is
      // sent, not after the keep-alive timeout.
      server.closeIdleConnections();
      const idle = setInterval(() => server.closeIdleConnections(), 100);
      try {
        const drained = await settledBy([closed, webSockets.close(drainBy)], drainBy);
        if (!drained) {
          deps.log.warn(
            { connections: await connectionCount(server), webSockets: webSockets.size() },
            'requests still open at the drain deadline; closing their connections',
          );
          server.closeAllConnections();
          webSockets.destroy();
        }
        await closed;
      } finally {
        clearInterval(idle);
      }
      await app.dispose();
    },
  };
}
