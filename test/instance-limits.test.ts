// Limits for the whole instance (EVALGRAPH_GLOBAL_LIMITS), through the real server: requests per
// hour for all users together (429), requests in flight (503; a streaming subscription is not in
// flight), both with Retry-After and INSTANCE_LIMIT_EXCEEDED naming the limit; health, readiness
// and /metrics never count, and show where each limit stands. Unset, nothing is limited.
import { createTestApp, globalId, type TestApp } from './support/app';
import { holdRequest, metricValue } from './support/held';
import { subscribeWs, until, wsClient } from './support/live';

jest.setTimeout(60_000);

const QUERY = '{ __typename }';
const metrics = async (app: TestApp) => (await fetch(`${app.url}/metrics`)).text();
const ready = async (app: TestApp) =>
  (await (await fetch(`${app.url}/health/ready`)).json()) as any;
const inFlight = async (app: TestApp) =>
  metricValue(await metrics(app), 'evalgraph_instance_requests_in_flight');

describe('requests per hour', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ EVALGRAPH_GLOBAL_LIMITS: JSON.stringify({ requestsPerHour: 6 }) });
  });
  afterAll(() => app?.close());

  it('answers the hour’s requests of every user up to the limit, then 429 INSTANCE_LIMIT_EXCEEDED; health and metrics never count', async () => {
    const other = await app.seedUser({ role: 'VIEWER' });
    const answers = [];
    const exportTraces = () =>
      fetch(`${app.url}/v1/export/traces?projectId=${globalId('Project', app.projectId)}`, {
        headers: { authorization: `Bearer ${app.adminKey}` },
      });
    for (let i = 0; i < 3; i++) {
      answers.push((await app.gql(QUERY)).status);
      // Probes in between: none of them is a request of the API.
      expect((await fetch(`${app.url}/health/live`)).status).toBe(200);
      expect((await fetch(`${app.url}/health/ready`)).status).toBe(200);
      expect((await fetch(`${app.url}/metrics`)).status).toBe(200);
    }
    // An export counts, as any request of the API.
    const exported = await exportTraces();
    await exported.text();
    answers.push(exported.status);
    // Another user's requests count in the same hour.
    answers.push((await app.gql(QUERY, {}, { key: other.key })).status);
    expect(answers).toEqual([200, 200, 200, 200, 200]);
    // A graphql-ws operation counts too: the sixth.
    const ws = wsClient(app.url, app.adminKey);
    const first = subscribeWs(ws, QUERY);
    expect((await first.done).map((e: any) => e.data)).toEqual([{ __typename: 'Query' }]);

    const refused = await app.gql(QUERY, {}, { key: other.key });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(refused.body.errors).toEqual([
      {
        message: expect.stringMatching(/limit of 6 requests this hour/),
        extensions: { code: 'INSTANCE_LIMIT_EXCEEDED', limit: 'requestsPerHour', retryAfter },
      },
    ]);
    // OTLP answers in its own form.
    const otlp = await fetch(`${app.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${app.adminKey}` },
      body: JSON.stringify({ resourceSpans: [] }),
    });
    expect(otlp.status).toBe(429);
    // The same wait, a second less when the clock crossed a second between the two answers.
    expect([retryAfter - 1, retryAfter]).toContain(Number(otlp.headers.get('retry-after')));
    expect(await otlp.json()).toMatchObject({ code: 8, message: expect.any(String) });
    // An export is refused with the same error.
    const refusedExport = await exportTraces();
    expect(refusedExport.status).toBe(429);
    expect((await refusedExport.json()).errors[0].extensions).toMatchObject({
      code: 'INSTANCE_LIMIT_EXCEEDED',
      limit: 'requestsPerHour',
    });
    // And a graphql-ws operation is refused with the same error.
    const second = subscribeWs(ws, QUERY);
    await expect(second.done).rejects.toEqual([
      expect.objectContaining({
        extensions: expect.objectContaining({
          code: 'INSTANCE_LIMIT_EXCEEDED',
          limit: 'requestsPerHour',
        }),
      }),
    ]);
    await ws.dispose();

    const text = await metrics(app);
    expect(metricValue(text, 'evalgraph_instance_requests_this_hour')).toBe(6);
    expect(
      metricValue(text, 'evalgraph_instance_limit_refused_total', 'limit="requestsPerHour"'),
    ).toBe(4);
    expect(metricValue(text, 'evalgraph_instance_limit', 'limit="requestsPerHour"')).toBe(6);
    const details = (await ready(app)).checks.instanceLimits;
    expect(details).toMatchObject({
      ok: true,
      concurrent: { limit: null },
      requestsPerHour: { limit: 6, count: 6 },
      judgeCostPerDayUsd: { limit: null, spentToday: '0' },
    });
    expect(details.requestsPerHour.resetSeconds).toBeLessThanOrEqual(3600);
  });
});

describe('requests in flight', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ EVALGRAPH_GLOBAL_LIMITS: JSON.stringify({ concurrent: 2 }) });
  });
  afterAll(() => app?.close());

  it('holds at most the limit of requests at once, for all users: 503 with Retry-After beyond, and a slot frees when a request ends', async () => {
    const other = await app.seedUser({ role: 'VIEWER' });
    const a = holdRequest(app.url, app.adminKey);
    const b = holdRequest(app.url, other.key);
    await until(async () => (await inFlight(app)) === 2, 10_000, 'two requests in flight');

    const refused = await app.gql(QUERY);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body.errors).toEqual([
      {
        message: expect.stringMatching(/limit of 2 requests at once/),
        extensions: { code: 'INSTANCE_LIMIT_EXCEEDED', limit: 'concurrent', retryAfter: 1 },
      },
    ]);
    // Probes are answered meanwhile, and show the requests held.
    expect((await ready(app)).checks.instanceLimits.concurrent).toEqual({ limit: 2, inFlight: 2 });
    expect(
      metricValue(
        await metrics(app),
        'evalgraph_instance_limit_refused_total',
        'limit="concurrent"',
      ),
    ).toBe(1);

    expect(await a.release()).toMatchObject({
      status: 200,
      body: { data: { __typename: 'Query' } },
    });
    await until(async () => (await inFlight(app)) === 1, 10_000, 'one request in flight');
    expect((await app.gql(QUERY)).status).toBe(200);
    expect((await b.release()).status).toBe(200);
    await until(async () => (await inFlight(app)) === 0, 10_000, 'no request in flight');
  });

  it('does not count a subscription over SSE while it streams, nor a request whose client went away', async () => {
    const held = holdRequest(app.url, app.adminKey);
    await until(async () => (await inFlight(app)) === 1, 10_000, 'one request in flight');
    // An SSE subscription: once its stream is answered it holds no slot.
    const controller = new AbortController();
    const stream = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${app.adminKey}`,
      },
      body: JSON.stringify({
        query: 'subscription($p: ID!) { evaluationEvents(projectId: $p) { type } }',
        variables: { p: globalId('Project', app.projectId) },
      }),
      signal: controller.signal,
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect((await app.gql(QUERY)).status).toBe(200);
    expect(await inFlight(app)).toBe(1);
    controller.abort();

    // A client that closes its connection mid-body frees its slot.
    held.abort();
    await until(async () => (await inFlight(app)) === 0, 10_000, 'no request in flight');
    const both = [holdRequest(app.url, app.adminKey), holdRequest(app.url, app.adminKey)];
    await until(async () => (await inFlight(app)) === 2, 10_000, 'two requests in flight');
    for (const h of both) expect((await h.release()).status).toBe(200);
  });
});

it('limits nothing when EVALGRAPH_GLOBAL_LIMITS is unset', async () => {
  const app = await createTestApp();
  try {
    const held = [holdRequest(app.url, app.adminKey), holdRequest(app.url, app.adminKey)];
    const statuses = await Promise.all(Array.from({ length: 20 }, () => app.gql(QUERY)));
    expect(statuses.map((r) => r.status)).toEqual(Array(20).fill(200));
    for (const h of held) expect((await h.release()).status).toBe(200);
    expect((await ready(app)).checks.instanceLimits).toMatchObject({
      concurrent: { limit: null },
      requestsPerHour: { limit: null },
      judgeCostPerDayUsd: { limit: null },
    });
  } finally {
    await app.close();
  }
});
