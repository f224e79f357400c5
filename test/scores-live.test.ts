// New scores, live: `scoreCreated` over graphql-ws (filtered by name and source, one project's
// scores only, not for updates through a clientId), and the `score.created` webhook, which goes
// only to endpoints that list it.
import { Webhook } from 'standardwebhooks';
import { createTestApp, globalId, type TestApp } from './support/app';
import { subscribeWs, until, wsClient } from './support/live';
import { startReceiver, type Receiver } from './support/receiver';
import { ingest, span } from './support/spans';

let app: TestApp;
let receiver: Receiver;
let p: string;
let trace: string;
let adminKeyId: string;

beforeAll(async () => {
  receiver = await startReceiver();
  app = await createTestApp({ EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
  p = globalId('Project', app.projectId);
  await ingest(app, app.projectId, [span({ traceId: 'live', spanId: 'root', name: 'root' })]);
  const prisma = app.server.deps.db.prisma;
  trace = globalId('Trace', (await prisma.trace.findFirstOrThrow()).id);
  adminKeyId = (
    await prisma.apiKey.findFirstOrThrow({ where: { user: { email: 'admin@test.local' } } })
  ).id;
});
afterAll(async () => {
  await app.close();
  await receiver.close();
});

const CREATE_MANY = `mutation($input: CreateScoresInput!) { createScores(input: $input) { acceptedCount scores { id } } }`;
const createScores = async (projectId: string, scores: unknown[]) => {
  const res = await app.gql(CREATE_MANY, {
    input: { projectId: globalId('Project', projectId), scores },
  });
  expect(res.body.errors).toBeUndefined();
  return res.body.data.createScores.scores.map((s: { id: string }) => s.id) as string[];
};

const SUBSCRIBE = `subscription($p: ID!, $filter: ScoreCreatedFilter) {
  scoreCreated(projectId: $p, filter: $filter) { id name value stringValue source clientId trace { externalId } } }`;

describe('scoreCreated', () => {
  it("streams a project's new scores as its filter asks, and nothing else", async () => {
    const other = await app.seedProject();
    await ingest(app, other, [span({ traceId: 'theirs', spanId: 'root', name: 'root' })]);
    const otherTrace = globalId(
      'Trace',
      (await app.server.deps.db.prisma.trace.findFirstOrThrow({ where: { projectId: other } })).id,
    );
    const client = wsClient(app.url, app.adminKey);
    const all = subscribeWs(client, SUBSCRIBE, { p });
    const byName = subscribeWs(client, SUBSCRIBE, { p, filter: { name: 'wanted' } });
    const bySource = subscribeWs(client, SUBSCRIBE, { p, filter: { source: 'FEEDBACK' } });
    const theirs = subscribeWs(client, SUBSCRIBE, { p: globalId('Project', other) });
    await until(
      () => app.server.services.subscriptions.openCount(adminKeyId) >= 4,
      5_000,
      'four subscriptions',
    );

    const [unwanted, wanted, feedback] = await createScores(app.projectId, [
      { traceId: trace, name: 'other', value: 1, clientId: 'live-1' },
      { traceId: trace, name: 'wanted', value: 2 },
      { traceId: trace, name: 'wanted', stringValue: 'yes', source: 'FEEDBACK' },
    ]);
    // Sent again by its client id: an update, not a new score.
    await createScores(app.projectId, [
      { traceId: trace, name: 'other', value: 5, clientId: 'live-1' },
    ]);
    // A last score every filter takes: once each stream has it, each has had all it will get.
    const [last] = await createScores(app.projectId, [
      { traceId: trace, name: 'wanted', value: 3, source: 'FEEDBACK' },
    ]);
    const [theirLast] = await createScores(other, [
      { traceId: otherTrace, name: 'wanted', value: 9 },
    ]);
    const ids = (stream: { events: any[] }) => stream.events.map((e) => e.data.scoreCreated.id);
    const ended = (stream: { events: any[] }, id: string) => () => ids(stream).includes(id);
    await until(ended(all, last), 5_000, 'the unfiltered stream');
    await until(ended(byName, last), 5_000, 'the stream by name');
    await until(ended(bySource, last), 5_000, 'the stream by source');
    await until(ended(theirs, theirLast), 5_000, 'the other project');

    expect(all.events.every((e) => !e.errors)).toBe(true);
    expect(ids(all)).toEqual([unwanted, wanted, feedback, last]);
    expect(all.events[1].data.scoreCreated).toEqual({
      id: wanted,
      name: 'wanted',
      value: 2,
      stringValue: null,
      source: 'API',
      clientId: null,
      trace: { externalId: 'live' },
    });
    expect(all.events[0].data.scoreCreated).toMatchObject({ clientId: 'live-1', value: 1 });
    expect(ids(byName)).toEqual([wanted, feedback, last]);
    expect(ids(bySource)).toEqual([feedback, last]);
    expect(ids(theirs)).toEqual([theirLast]);
    await client.dispose();
  });

  it("shows each event's trace and span with their scores as they are then, not as at the first event", async () => {
    const prisma = app.server.deps.db.prisma;
    const spanId = globalId(
      'Span',
      (await prisma.span.findFirstOrThrow({ where: { trace: { externalId: 'live' } } })).id,
    );
    // Streams of the test before may still be closing.
    await until(() => app.server.services.subscriptions.openCount(adminKeyId) === 0, 5_000, 'none');
    const client = wsClient(app.url, app.adminKey);
    const stream = subscribeWs(
      client,
      `subscription($p: ID!) { scoreCreated(projectId: $p, filter: { name: "fresh" }) {
        value trace { scores(first: 50) { totalCount edges { node { value } } } }
        span { scores(first: 50) { totalCount } } } }`,
      { p },
    );
    await until(
      () => app.server.services.subscriptions.openCount(adminKeyId) >= 1,
      5_000,
      'the subscription',
    );
    const before = await app.gql(
      `query($id: ID!) { trace(id: $id) { scores(first: 1) { totalCount } } }`,
      { id: trace },
    );
    const n: number = before.body.data.trace.scores.totalCount;
    for (const value of [1, 2, 3]) {
      await createScores(app.projectId, [{ spanId, name: 'fresh', value }]);
      await until(() => stream.events.length === value, 5_000, `event ${value}`);
    }
    expect(stream.events.every((e) => !e.errors)).toBe(true);
    expect(
      stream.events.map((e) => {
        const s = e.data.scoreCreated;
        return [s.value, s.trace.scores.totalCount, s.trace.scores.edges[0].node.value];
      }),
    ).toEqual([
      [1, n + 1, 1],
      [2, n + 2, 2],
      [3, n + 3, 3],
    ]);
    expect(stream.events.map((e) => e.data.scoreCreated.span.scores.totalCount)).toEqual([1, 2, 3]);
    await client.dispose();
  });

  it('refuses a reader of another project (NOT_FOUND) and a BILLING member (FORBIDDEN)', async () => {
    const other = await app.seedProject();
    const outsider = await app.seedUser({ role: 'ADMIN', projectId: other });
    const billing = await app.seedUser({ role: 'BILLING' });
    for (const [key, code] of [
      [outsider.key, 'NOT_FOUND'],
      [billing.key, 'FORBIDDEN'],
    ]) {
      const client = wsClient(app.url, key);
      const refused = subscribeWs(client, SUBSCRIBE, { p });
      const events = await refused.done.catch((errors) => [{ errors }]);
      const errors = events[0]?.errors ?? [];
      expect(errors.map((e: any) => e.extensions?.code)).toEqual([code]);
      await client.dispose();
    }
  });
});

describe('score.created webhooks', () => {
  const CREATE_ENDPOINT = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret webhookEndpoint { id events } } }`;

  it('go to endpoints that list the event, not to one created without a list', async () => {
    const messages = async () =>
      (
        await app.server.deps.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM webhook_messages WHERE event_type = 'score.created'`,
        )
      )[0].n;
    // With no endpoint that lists it, a score writes no webhook message at all.
    await app.gql(CREATE_ENDPOINT, { input: { projectId: p, url: `${receiver.url}?first` } });
    await createScores(app.projectId, [{ traceId: trace, name: 'unheard', value: 1 }]);
    expect(await messages()).toBe(0);

    const optedIn = await app.gql(CREATE_ENDPOINT, {
      input: { projectId: p, url: receiver.url, events: ['score.created'] },
    });
    const byDefault = await app.gql(CREATE_ENDPOINT, {
      input: { projectId: p, url: `${receiver.url}?default` },
    });
    expect(optedIn.body.errors).toBeUndefined();
    const defaults = byDefault.body.data.createWebhookEndpoint.webhookEndpoint.events;
    expect(defaults).not.toContain('score.created');
    expect(defaults).toEqual(expect.arrayContaining(['evaluation.completed', 'alert.fired']));

    const [id] = await createScores(app.projectId, [
      { traceId: trace, name: 'hooked', value: 0.5, comment: 'fine' },
    ]);
    // The outbox was written with the score: one delivery, to the endpoint that listed the event.
    const deliveries = await app.server.deps.db.query<{ endpoint: string }>(
      `SELECT d.endpoint_id::text AS endpoint FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id
        WHERE m.event_type = 'score.created'`,
    );
    const endpointId = (gid: string) => Buffer.from(gid, 'base64').toString().split(':')[1];
    expect(deliveries.map((d) => d.endpoint)).toEqual([
      endpointId(optedIn.body.data.createWebhookEndpoint.webhookEndpoint.id),
    ]);

    await until(() => receiver.received.length > 0, 15_000, 'the score.created webhook');
    const [request] = receiver.received;
    const body = new Webhook(optedIn.body.data.createWebhookEndpoint.secret).verify(
      request.body,
      request.headers as Record<string, string>,
    ) as any;
    expect(body.type).toBe('score.created');
    expect(body.data).toMatchObject({
      id,
      projectId: p,
      traceId: trace,
      spanId: null,
      name: 'hooked',
      dataType: 'NUMERIC',
      value: 0.5,
      comment: 'fine',
      source: 'API',
    });
  });

  it('carry half of a character (a text cut inside an emoji) as U+FFFD, failing nothing', async () => {
    const project = await app.seedProject();
    await ingest(app, project, [span({ traceId: 'cut', spanId: 'root', name: 'root' })]);
    const cutTrace = await app.server.deps.db.prisma.trace.findFirstOrThrow({
      where: { projectId: project },
    });
    const endpoint = await app.gql(CREATE_ENDPOINT, {
      input: {
        projectId: globalId('Project', project),
        url: `${receiver.url}?cut`,
        events: ['score.created'],
      },
    });
    expect(endpoint.body.errors).toBeUndefined();
    await createScores(project, [
      {
        traceId: globalId('Trace', cutTrace.id),
        name: 'cut',
        value: 1,
        comment: 'great 😀'.slice(0, -1),
      },
    ]);
    const [message] = await app.server.deps.db.query<{ payload: string }>(
      `SELECT payload::text FROM webhook_messages WHERE project_id = $1::uuid`,
      [project],
    );
    expect(JSON.parse(message.payload).data.comment).toBe('great \ufffd');
  });
});
