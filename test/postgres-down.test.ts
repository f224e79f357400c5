// Postgres crashing under ingest (`kill -9` of the postmaster), on a Postgres of this test's own:
// the `evalgraph serve` process stays up; while the database is down every request is answered
// within 5 s with 503 SERVICE_UNAVAILABLE and Retry-After, readiness says so and the workers back
// off; once Postgres is back everything is served within 10 s, without a restart; and every span
// whose ingest was acknowledged is stored.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { until } from './support/live';
import { createPrivatePostgres, type PrivatePostgres } from './support/private-postgres';
import type { ServeProcess } from './support/process';
import { serveOnPrivatePostgres, type PrivateDeployment } from './support/serve-private';
import { initialisedSocket, rawSocket } from './support/raw-ws';
import { INGEST } from './support/spans';

jest.setTimeout(240_000);

const KEY = 'postgres-down-test-key-0123456789-abcdefghijk';
let postgres: PrivatePostgres | null = null;
let server: ServeProcess | null = null;
let deployment: PrivateDeployment | null = null;
// Stopped in afterAll too, so that a failed assertion does not leave the loop running.
let ingesting = false;

beforeAll(async () => {
  deployment = await serveOnPrivatePostgres('pgdown', KEY);
  ({ postgres, server } = deployment);
});

afterAll(async () => {
  ingesting = false;
  await deployment?.close();
});

interface Answer {
  status: number;
  ms: number;
  retryAfter: string | null;
  body: { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] } | null;
}

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let parsed: Answer['body'] = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (asserted on by the caller)
  }
  return {
    status: res.status,
    ms: Date.now() - started,
    retryAfter: res.headers.get('retry-after'),
    body: parsed,
  };
}

/** CPU time (user and system) the process has used, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The same evalgraph process, still running (its output says why when it is not). */
const expectAlive = () => deployment!.expectAlive();

const gql = (query: string, variables: Record<string, unknown> = {}) =>
  post(`${server!.url}/graphql`, { query, variables });

/** An answer of the outage: 503, SERVICE_UNAVAILABLE, Retry-After, within 5 s. */
function expectUnavailable(answer: Answer, what: string) {
  const summary = `${what}: ${answer.status} in ${answer.ms} ms, ${JSON.stringify(answer.body)}`;
  expect({ summary, status: answer.status }).toEqual({ summary, status: 503 });
  expect({ summary, code: answer.body?.errors?.[0]?.extensions?.code }).toEqual({
    summary,
    code: 'SERVICE_UNAVAILABLE',
  });
  expect({ summary, retryAfter: Number(answer.retryAfter) > 0 }).toEqual({
    summary,
    retryAfter: true,
  });
  expect({ summary, fast: answer.ms < 5_000 }).toEqual({ summary, fast: true });
}

it('survives kill -9 of Postgres during ingest: 503s within 5 s, back within 10 s of its return, nothing acknowledged lost', async () => {
  const projects = await gql('{ projects(first: 5) { edges { node { id name } } } }');
  expect(projects.status).toBe(200);
  const projectId: string = projects.body!.data.projects.edges[0].node.id;

  // Ingest runs without pause from here to the end: one batch at a time, as an exporter would.
  const acknowledged = new Set<string>();
  const answers: { at: number; answer: Answer }[] = [];
  let batch = 0;
  let paused = false;
  ingesting = true;
  const ingestLoop = (async () => {
    while (ingesting && server!.child.exitCode === null) {
      if (paused) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      batch += 1;
      const traceId = `pgdown-${batch}`;
      const spans = Array.from({ length: 5 }, (_, i) => ({
        traceId,
        spanId: `${traceId}-s${i}`,
        name: `step ${i}`,
        startTime: new Date().toISOString(),
        endTime: new Date().toISOString(),
        model: 'gpt-4o-mini',
        inputTokens: 10,
        outputTokens: 5,
      }));
      const answer = await gql(INGEST, { input: { projectId, spans, partial: false } }).catch(
        (error: Error): Answer => ({
          status: 0,
          ms: 0,
          retryAfter: null,
          body: { errors: [{ message: error.message }] },
        }),
      );
      answers.push({ at: Date.now(), answer });
      if (answer.status === 200 && answer.body?.data?.ingestSpans?.acceptedCount === spans.length)
        for (const s of spans) acknowledged.add(s.spanId);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  await until(() => acknowledged.size >= 50, 60_000, 'ingest before the crash');
  const acknowledgedBeforeCrash = acknowledged.size;

  // A graphql-ws connection made before the crash, to subscribe on during the outage.
  const wsUrl = `${server!.url.replace('http', 'ws')}/graphql`;
  const socket = await initialisedSocket(wsUrl, KEY);

  await postgres!.crash();
  const crashedAt = Date.now();
  // Past the moment of the crash (requests in flight then may still have succeeded).
  await new Promise((r) => setTimeout(r, 1_000));
  const outageFrom = Date.now();

  expectAlive();
  expectUnavailable(await gql('{ projects(first: 5) { edges { node { name } } } }'), 'a query');
  expectUnavailable(
    await gql(INGEST, {
      input: {
        projectId,
        spans: [{ traceId: 'x', spanId: 'x', name: 'x', startTime: new Date().toISOString() }],
      },
    }),
    'an ingest',
  );
  const otlp = await post(
    `${server!.url}/v1/traces`,
    {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '5b8efff798038103d269b633813fc60c',
                  spanId: 'eee19b7ec3c1b174',
                  name: 'otlp',
                  startTimeUnixNano: String(Date.now() * 1e6),
                  endTimeUnixNano: String(Date.now() * 1e6),
                },
              ],
            },
          ],
        },
      ],
    },
    { 'x-evalgraph-project': projectId },
  );
  expect({
    status: otlp.status,
    retryAfter: Number(otlp.retryAfter) > 0,
    fast: otlp.ms < 5_000,
  }).toEqual({ status: 503, retryAfter: true, fast: true });
  const ready = await fetch(`${server!.url}/health/ready`, { signal: AbortSignal.timeout(5_000) });
  expect(ready.status).toBe(503);
  expect((await ready.json()).checks.database.ok).toBe(false);

  // Down for a few seconds more, under ingest: still alive, every answer a quick 503.
  await new Promise((r) => setTimeout(r, 4_000));
  expectAlive();
  const during = answers.filter((a) => a.at >= outageFrom);
  expect(during.length).toBeGreaterThan(3);
  for (const { answer } of during) expectUnavailable(answer, 'an ingest during the outage');
  // Every answer after the crash that was not a success (requests in flight then included) was a 503 too.
  for (const { answer } of answers.filter((a) => a.at >= crashedAt && a.answer.status !== 200))
    expectUnavailable(answer, 'an ingest at the crash');

  // Over graphql-ws, once the key must be looked up again (its cache lasts 5 s): a subscribe gets
  // its coded error and the connection stays; a new connection closes 1013 (Try Again Later),
  // which clients retry, never 4500, which graphql-ws's client takes as fatal.
  await new Promise((r) => setTimeout(r, Math.max(0, crashedAt + 6_000 - Date.now())));
  socket.socket.send(
    JSON.stringify({
      id: 'during',
      type: 'subscribe',
      payload: {
        query: 'subscription($p: ID!) { evaluationEvents(projectId: $p) { type } }',
        variables: { p: projectId },
      },
    }),
  );
  await until(() => socket.messages.some((m) => m.id === 'during'), 10_000, 'an answer over ws');
  expect(socket.messages.find((m) => m.id === 'during')).toMatchObject({
    type: 'error',
    payload: [{ extensions: { code: 'SERVICE_UNAVAILABLE' } }],
  });
  expect(socket.socket.readyState).toBe(socket.socket.OPEN);
  const late = rawSocket(wsUrl);
  await late.opened;
  late.socket.send(
    JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${KEY}` } }),
  );
  expect((await late.closed).code).toBe(1013);
  socket.socket.close(1000);

  // Without requests, the process idles while the database is away: its loops back off, none spins.
  paused = true;
  await new Promise((r) => setTimeout(r, 300));
  const cpuBefore = cpuMs(server!.child.pid!);
  const quietFrom = Date.now();
  await new Promise((r) => setTimeout(r, 3_000));
  const cpuShare = (cpuMs(server!.child.pid!) - cpuBefore) / (Date.now() - quietFrom);
  // About 3 % here; loops retrying every millisecond make it 20 %.
  expect(cpuShare).toBeLessThan(0.1);
  paused = false;

  await postgres!.start();
  const backAt = Date.now();
  await until(
    async () => (await gql('{ projects(first: 5) { edges { node { name } } } }')).status === 200,
    10_000,
    'queries to be served again',
  );
  await until(
    () => answers.some((a) => a.at > backAt && a.answer.status === 200),
    10_000 - (Date.now() - backAt),
    'ingest to succeed again',
  );
  expect((await fetch(`${server!.url}/health/ready`)).status).toBe(200);
  const acknowledgedAtReturn = acknowledged.size;
  await until(
    () => acknowledged.size >= acknowledgedAtReturn + 50,
    60_000,
    'ingest after the return',
  );
  ingesting = false;
  await ingestLoop;
  expect(acknowledgedBeforeCrash).toBeGreaterThan(0);

  // The same process all along.
  expectAlive();
  // The worker loops logged the outage once each, not once per retry (nine jobs: evaluation items,
  // online evaluation tasks, webhook deliveries, alert checks, rollup compaction, span texts,
  // audit retention, data jobs, retention).
  const jobFailures = server!
    .output()
    .split('\n')
    .filter((line) => /job failed/.test(line)).length;
  expect(jobFailures).toBeLessThanOrEqual(9);

  const check = new pg.Client({ connectionString: postgres!.url('evalgraph') });
  await check.connect();
  try {
    const { rows } = await check.query<{ external_id: string }>('SELECT external_id FROM spans');
    const stored = new Set(rows.map((r) => r.external_id));
    const lost = [...acknowledged].filter((id) => !stored.has(id));
    expect(lost).toEqual([]);
  } finally {
    await check.end();
  }
  expect(await server!.stop('SIGTERM')).toBe(0);
});
