// Redis stopping mid-run, on a Redis server of this test's own (the machine's is shared): queries
// go on with a bucket in the process, spending mutations are refused with SERVICE_UNAVAILABLE,
// every answer comes without waiting for a Redis command's timeout (a stopped Redis refuses at
// once, so nothing waits on it; a tighter timed bound would measure the machine), readiness names
// Redis, and all is back once Redis returns.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import Redis from 'ioredis';
import { REDIS_COMMAND_TIMEOUT_MS } from '../src/storage/redis';
import { createTestApp, globalId, type TestApp } from './support/app';
import { until } from './support/live';

let app: TestApp;
let redis: ChildProcess | null = null;
let port = 0;

const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(p));
    });
  });

async function startRedis() {
  redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const probe = new Redis({
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  await until(
    async () =>
      probe.connect().then(
        () => true,
        () => false,
      ),
    10_000,
    'redis-server',
  );
  probe.disconnect();
}

async function stopRedis() {
  const child = redis!;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

beforeAll(async () => {
  port = await freePort();
  await startRedis();
  app = await createTestApp({
    REDIS_URL: `redis://127.0.0.1:${port}/0`,
    REDIS_KEY_PREFIX: 'evalgraph_redis_down:',
  });
});
// The private redis-server stops whatever else failed: a beforeAll that failed leaves no app to
// close (or one whose close throws), and the server would outlive the run.
afterAll(async () => {
  try {
    await app?.close();
  } finally {
    if (redis && redis.exitCode === null) await stopRedis();
  }
});

const QUERY = '{ projects(first: 5) { edges { node { name } } } }';
const MUTATION = `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { dataset { id } } }`;
const timed = async <T>(run: () => Promise<T>) => {
  const started = Date.now();
  const result = await run();
  return { result, ms: Date.now() - started };
};

it('without Redis: reads go on (process bucket), mutations get 503 SERVICE_UNAVAILABLE, none waiting for a command timeout; then back to normal', async () => {
  let n = 0;
  const dataset = () => ({
    input: { projectId: globalId('Project', app.projectId), name: `d${++n}` },
  });
  expect((await app.gql(MUTATION, dataset())).status).toBe(200);

  await stopRedis();
  const read = await timed(() => app.gql(QUERY));
  expect(read.result.status).toBe(200);
  expect(read.result.body.data.projects.edges).toHaveLength(1);
  expect(read.result.body.extensions.cost.requestedQueryCost).toBe(6);
  expect(read.ms).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS);
  const write = await timed(() => app.gql(MUTATION, dataset()));
  expect(write.result.status).toBe(503);
  expect(write.result.headers.get('retry-after')).toBe('5');
  expect(write.result.body.errors![0].extensions!.code).toBe('SERVICE_UNAVAILABLE');
  expect(write.ms).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS);
  // Nothing was written.
  expect(await app.server.deps.db.prisma.dataset.count({ where: { name: `d${n}` } })).toBe(0);
  // OTLP spends the same buckets: refused alike, in its own status form (exporters retry a 503).
  const otlp = await fetch(`${app.url}/v1/traces`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${app.adminKey}`,
      'x-evalgraph-project': app.projectId,
    },
    body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [] }] }] }),
  });
  expect([otlp.status, otlp.headers.get('retry-after')]).toEqual([503, '5']);
  const ready = await fetch(`${app.url}/health/ready`);
  expect(ready.status).toBe(503);
  expect((await ready.json()).checks.redis.ok).toBe(false);
  expect(await (await fetch(`${app.url}/metrics`)).text()).toMatch(
    /evalgraph_rate_limit_store_errors_total [1-9]/,
  );

  await startRedis();
  await until(
    async () => (await app.gql(MUTATION, dataset())).status === 200,
    10_000,
    'mutations to work again',
  );
  expect((await fetch(`${app.url}/health/ready`)).status).toBe(200);
});
