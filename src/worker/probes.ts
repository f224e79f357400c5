// `serve --role worker` serves no API, but its process has what an orchestrator probes and
// Prometheus scrapes: GET /health/live (the process answers), /health/ready (the same checks as the
// API's: its database and Redis answer) and /metrics (this process's meters: the jobs' counters live
// here, not in the API's processes). On EVALGRAPH_WORKER_PORT; nothing else is answered.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { type ReadinessCheck, readinessReport } from '../plugins/use-readiness';

export interface ProbeServer {
  url: string;
  close(): Promise<void>;
}

export async function startProbeServer(options: {
  port: number;
  host: string;
  checks: Record<string, ReadinessCheck>;
  metrics: Registry;
}): Promise<ProbeServer> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    // A target Node's parser lets through may still be no URL (`http://[`): thrown here, it would
    // end the process.
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://worker').pathname;
    } catch {
      return send(400, 'text/plain', 'Not a URL.');
    }
    if (req.method !== 'GET') return send(405, 'text/plain', 'Use GET.');
    if (path === '/health/live') return send(200, 'application/json', '{"status":"live"}');
    if (path === '/health/ready')
      return void readinessReport(options.checks).then(({ ok, body }) =>
        send(ok ? 200 : 503, 'application/json', JSON.stringify(body)),
      );
    if (path === '/metrics')
      return void options.metrics.metrics().then(
        (text) => send(200, options.metrics.contentType, text),
        (error: Error) => send(500, 'text/plain', error.message),
      );
    send(404, 'text/plain', 'A worker answers /health/live, /health/ready and /metrics only.');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
