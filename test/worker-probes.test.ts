// A worker process alone (`serve --role worker`) has no API, but an orchestrator must probe it and
// Prometheus scrape its meters (the jobs' counters live in the worker): on EVALGRAPH_WORKER_PORT it
// answers /health/live, /health/ready (the API's checks) and /metrics, and nothing else.
import { connect } from 'node:net';
import { readinessChecks } from '../src/readiness';
import { startProbeServer, type ProbeServer } from '../src/worker/probes';
import { createTestApp, type TestApp } from './support/app';
import { freePort } from './support/private-postgres';
import { createDeployment } from './support/process';

jest.setTimeout(120_000);

let app: TestApp;
let probes: ProbeServer;
beforeAll(async () => {
  app = await createTestApp();
  const { deps, services } = app.server;
  probes = await startProbeServer({
    port: 0,
    host: '127.0.0.1',
    checks: readinessChecks(deps, services),
    metrics: deps.metrics,
  });
});
afterAll(async () => {
  await probes?.close();
  await app?.close();
});

it("answers liveness, the API's readiness checks and this process's metrics", async () => {
  expect((await fetch(`${probes.url}/health/live`)).status).toBe(200);
  const ready = await fetch(`${probes.url}/health/ready`);
  expect(ready.status).toBe(200);
  expect((await ready.json()).checks).toMatchObject({
    database: { ok: true, kind: app.server.deps.db.kind },
    queues: { ok: true },
  });
  const metrics = await fetch(`${probes.url}/metrics`);
  expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
  expect(await metrics.text()).toContain('evalgraph_webhook_deliveries_total');
});

it('answers nothing of the API', async () => {
  expect((await fetch(`${probes.url}/graphql`)).status).toBe(404);
  expect((await fetch(`${probes.url}/health/live`, { method: 'POST' })).status).toBe(405);
});

it('answers a request it cannot parse 400, and goes on answering', async () => {
  // A target Node's parser lets through but the URL parser refuses (a bad IPv6 host).
  const { port } = new URL(probes.url);
  const first = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () =>
      socket.write('GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    );
    let text = '';
    socket.on('data', (chunk) => (text += chunk));
    socket.on('end', () => resolve(text.split('\r\n')[0]));
    socket.on('error', reject);
  });
  expect(first).toBe('HTTP/1.1 400 Bad Request');
  expect((await fetch(`${probes.url}/health/live`)).status).toBe(200);
});

it('is not ready while a check fails, and names it', async () => {
  const failing = await startProbeServer({
    port: 0,
    host: '127.0.0.1',
    checks: {
      ...readinessChecks(app.server.deps, app.server.services),
      redis: () => Promise.reject(new Error('Connection is closed.')),
    },
    metrics: app.server.deps.metrics,
  });
  try {
    const ready = await fetch(`${failing.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      status: 'unavailable',
      checks: { redis: { ok: false, error: 'Connection is closed.' }, database: { ok: true } },
    });
  } finally {
    await failing.close();
  }
});

// The worker role runs apart only over Postgres (the embedded database has one owner).
if (process.env.DATABASE_URL)
  it('serve --role worker answers them on EVALGRAPH_WORKER_PORT', async () => {
    const port = await freePort();
    const deployment = await createDeployment({
      project: 'worker probes',
      env: { EVALGRAPH_WORKER_PORT: String(port) },
    });
    try {
      await deployment.startApi();
      deployment.startWorkers(1);
      const url = `http://127.0.0.1:${port}`;
      // Polled as an orchestrator does: live once it listens, ready once its connections answer.
      let live: Response | null = null;
      for (let i = 0; i < 600 && !live; i++) {
        live = await fetch(`${url}/health/live`).catch(() => null);
        if (!live) await new Promise((r) => setTimeout(r, 50));
      }
      expect(live?.status).toBe(200);
      let ready = await fetch(`${url}/health/ready`);
      for (let i = 0; i < 100 && ready.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        ready = await fetch(`${url}/health/ready`);
      }
      expect(ready.status).toBe(200);
      expect((await ready.json()).checks.database).toMatchObject({ ok: true, kind: 'postgres' });
      expect(await (await fetch(`${url}/metrics`)).text()).toContain(
        'evalgraph_webhook_deliveries_total',
      );
    } finally {
      await deployment.close();
    }
  });
