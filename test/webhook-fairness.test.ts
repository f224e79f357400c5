// Webhooks are fair (issue 22): a receiver that answers after 9 s holds at most
// EVALGRAPH_WEBHOOK_ENDPOINT_CONCURRENCY (4) deliveries in flight, so another endpoint's
// deliveries, queued behind and among its own, arrive within a second. Without the cap its
// deliveries would take every one of a worker's 16 slots for 9 s each.
import pino from 'pino';
import { parseConfig } from '../src/config';
import { topics } from '../src/modules/events/catalogue';
import { serve } from '../src/serve';
import { createTestApp, globalId, type TestApp } from './support/app';
import { startReceiver, type Receiver } from './support/receiver';
import { createEndpoint, sendTest } from './support/webhooks';

jest.setTimeout(60_000);

let app: TestApp;
let slow: Receiver;
let fast: Receiver;
let steady: Receiver;

beforeAll(async () => {
  app = await createTestApp({ EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
  slow = await startReceiver();
  fast = await startReceiver();
  steady = await startReceiver();
  slow.answer = () => ({ status: 200, delayMs: 9_000 });
});
afterAll(async () => {
  await app?.close();
  await slow?.close();
  await fast?.close();
  await steady?.close();
});

/**
 * Queues `n` messages to the endpoint at once (as the event emitter writes them), so that its cap
 * binds from the start, and wakes the workers; returns the endpoint's raw id.
 */
async function enqueue(id: string, n: number) {
  const raw = Buffer.from(id, 'base64').toString().split(':')[1];
  await app.server.deps.db.query(
    `WITH m AS (
       INSERT INTO webhook_messages (id, project_id, event_type, payload, created_at)
       SELECT 'msg_' || replace(evalgraph_uuid7()::text, '-', ''), $1::uuid, 'webhook.test', '{"type":"webhook.test"}', clock_timestamp()
         FROM generate_series(1, $3) RETURNING id)
     INSERT INTO webhook_deliveries (id, message_id, endpoint_id, next_attempt_at, created_at)
     SELECT evalgraph_uuid7(), id, $2::uuid, clock_timestamp(), clock_timestamp() FROM m`,
    [app.projectId, raw, n],
  );
  await app.server.deps.pubsub.publish(topics.webhookWork, {});
  return raw;
}

/**
 * The most requests in flight at the receiver at once, each answered after `delayMs`: at each
 * arrival, those that arrived before and were not yet answered (a few ms short of the delay, so
 * that an answer and the next arrival never overlap by rounding).
 */
function mostInFlight(receiver: Receiver, delayMs: number) {
  const at = receiver.received.map((r) => r.at);
  return Math.max(...at.map((t) => at.filter((u) => u <= t && t < u + delayMs - 5).length));
}

/** Another worker process's worker, on the app's Postgres database and Redis prefix. */
function startSecondWorker() {
  const config = app.server.deps.config;
  if (config.database.kind !== 'postgres') throw new Error('expected Postgres');
  return serve(
    parseConfig({
      LOG_LEVEL: 'silent',
      DATABASE_URL: config.database.url,
      EVALGRAPH_MIGRATE_ON_START: 'false',
      EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      ...(process.env.REDIS_URL
        ? { REDIS_URL: process.env.REDIS_URL, REDIS_KEY_PREFIX: config.redis?.keyPrefix ?? '' }
        : {}),
    }),
    'worker',
    { log: pino({ level: 'silent' }), print: () => {} },
  );
}

it("a slow endpoint holds at most its cap of deliveries; another endpoint's arrive at once", async () => {
  const slowId = await createEndpoint(app, slow.url);
  const fastId = await createEndpoint(app, fast.url);
  // The slow endpoint's deliveries first, then the fast one's among more of the slow one's.
  for (let i = 0; i < 20; i++) expect((await sendTest(app, slowId)).body.errors).toBeUndefined();
  const sentAt = new Map<string, number>();
  for (let i = 0; i < 10; i++) {
    const res = await sendTest(app, fastId);
    sentAt.set(res.body.data.sendTestWebhook.messageId, Date.now());
    expect((await sendTest(app, slowId)).body.errors).toBeUndefined();
  }
  for (let i = 0; i < 200 && fast.received.length < 10; i++)
    await new Promise((r) => setTimeout(r, 25));
  expect(fast.received).toHaveLength(10);
  // Each arrived well before the slow receiver answered anything (9 s): without the cap they
  // would wait for its deliveries to free the worker's slots. (The issue asks for 1 s; the bound
  // here leaves room for a loaded CI machine, and the measured figure is printed.)
  const waits = fast.received.map((r) => r.at - sentAt.get(String(r.headers['webhook-id']))!);
  console.log(`fast endpoint: slowest delivery ${Math.max(...waits)} ms after its event`);
  for (const wait of waits) expect(wait).toBeLessThan(3_000);
  // The slow receiver never had more than 4 requests at once: it has answered none yet.
  expect(slow.received.length).toBe(4);
  // Its worker holds a few more, claimed ahead to take a freed place at once: not its backlog.
  const [{ n }] = await app.server.deps.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
     WHERE e.url = $1 AND d.status = 'PENDING' AND d.lease_expires_at >= now()`,
    [slow.url],
  );
  expect(n).toBeGreaterThanOrEqual(4);
  expect(n).toBeLessThanOrEqual(12);
});

it('a backlog to one endpoint moves with its cap full and never over it, each message once', async () => {
  // A delivered one's place goes to the endpoint's next due delivery in the statement recording
  // it: the receiver sees 4 requests at a time from the first to the last, never 5.
  const delayMs = 300;
  steady.answer = () => ({ status: 200, delayMs });
  const id = await createEndpoint(app, steady.url);
  const raw = await enqueue(id, 20);
  const delivered = async () =>
    (
      await app.server.deps.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1::uuid AND status = 'DELIVERED'`,
        [raw],
      )
    )[0].n;
  for (let i = 0; i < 600 && (await delivered()) < 20; i++)
    await new Promise((r) => setTimeout(r, 50));
  expect(await delivered()).toBe(20);
  const ids = steady.received.map((r) => String(r.headers['webhook-id']));
  expect(ids).toHaveLength(20);
  expect(new Set(ids).size).toBe(20);
  expect(mostInFlight(steady, delayMs)).toBe(4);
});

it('deliveries waiting behind a slow endpoint are not sent once it is disabled', async () => {
  // The worker holds more of an endpoint than its cap (claimed ahead): those still waiting when
  // the endpoint is disabled are cut short by the next lease check, not sent after it.
  const receiver = await startReceiver();
  receiver.answer = () => ({ status: 200, delayMs: 5_000 });
  try {
    const id = await createEndpoint(app, receiver.url);
    await enqueue(id, 12);
    for (let i = 0; i < 200 && receiver.received.length < 4; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(receiver.received).toHaveLength(4);
    const res = await app.gql(
      `mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { webhookEndpoint { enabled } } }`,
      { input: { id, enabled: false } },
    );
    expect(res.body.data.updateWebhookEndpoint.webhookEndpoint.enabled).toBe(false);
    // The first 4 are answered after 5 s; the worker held up to 8 more of this endpoint, checked
    // every 2 s.
    await new Promise((r) => setTimeout(r, 6_500));
    expect(receiver.received).toHaveLength(4);
  } finally {
    await receiver.close();
  }
});

// With Postgres, workers in other processes share the queue: an endpoint has one sender at a time
// (the worker whose claim took its deliveries), so the cap holds across them. On the embedded
// database one process owns it: the test above is the whole story there.
if (process.env.DATABASE_URL)
  it('two workers sending to one endpoint keep its cap between them', async () => {
    const second = await startSecondWorker();
    try {
      const receiver = await startReceiver();
      const delayMs = 200;
      receiver.answer = () => ({ status: 200, delayMs });
      try {
        await enqueue(await createEndpoint(app, receiver.url), 24);
        for (let i = 0; i < 400 && receiver.received.length < 24; i++)
          await new Promise((r) => setTimeout(r, 25));
        expect(receiver.received).toHaveLength(24);
        expect(mostInFlight(receiver, delayMs)).toBe(4);
      } finally {
        await receiver.close();
      }
    } finally {
      await second.stop();
    }
  });

// Deliveries claimed ahead wait in the worker behind their endpoint's cap. A change to the
// endpoint (deleted, disabled, moved to another URL) must stop them: what was not yet in flight
// when the change was made must not reach the old receiver (a deleted endpoint's URL may belong
// to somebody else by then). A cap's worth is allowed for requests on their way at that moment.
it.each([
  [
    'deleted',
    (id: string) =>
      app.gql(`mutation($id: ID!) { deleteWebhookEndpoint(input: { id: $id }) { deletedId } }`, {
        id,
      }),
  ],
  [
    'disabled',
    (id: string) =>
      app.gql(
        `mutation($id: ID!) { updateWebhookEndpoint(input: { id: $id, enabled: false }) { webhookEndpoint { id } } }`,
        { id },
      ),
  ],
  [
    'moved to another URL',
    (id: string) =>
      app.gql(
        `mutation($id: ID!, $url: String!) { updateWebhookEndpoint(input: { id: $id, url: $url }) { webhookEndpoint { id } } }`,
        { id, url: `${fast.url}?moved` },
      ),
  ],
])(
  'an endpoint %s receives nothing more at its old URL once the change is made',
  async (_what, change) => {
    const receiver = await startReceiver();
    receiver.answer = () => ({ status: 200, delayMs: 300 });
    try {
      const id = await createEndpoint(app, receiver.url);
      await enqueue(id, 40);
      for (let i = 0; i < 200 && receiver.received.length < 4; i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(receiver.received.length).toBeGreaterThanOrEqual(4);
      const res = await change(id);
      expect(res.body.errors).toBeUndefined();
      const atChange = receiver.received.length;
      await new Promise((r) => setTimeout(r, 2_000));
      const after = receiver.received.length - atChange;
      console.log(`after the endpoint was changed: ${after} more requests to its old URL`);
      expect(after).toBeLessThanOrEqual(4);
    } finally {
      await receiver.close();
    }
  },
);

it('a receiver that answers 410 Gone gets no more than the requests already in flight', async () => {
  // 410 disables the endpoint in the statement recording it; deliveries claimed ahead of the cap
  // must not be sent to it afterwards.
  const receiver = await startReceiver();
  receiver.answer = () => ({ status: 410, delayMs: 300 });
  try {
    await enqueue(await createEndpoint(app, receiver.url), 40);
    await new Promise((r) => setTimeout(r, 3_000));
    console.log(`a receiver answering 410 got ${receiver.received.length} requests`);
    // The first 4 at once; a second round at most, sent before the first answer was recorded.
    expect(receiver.received.length).toBeLessThanOrEqual(8);
  } finally {
    await receiver.close();
  }
});

// A stopping worker hands back what it holds: its deliveries and its endpoints' sender leases, so
// that another worker sends to them at once, not after the lease (3 x the timeout + 5 s) lapses.
// Last in this file: it stops the app's own worker. (Postgres only, as the test of two workers.)
if (process.env.DATABASE_URL)
  it('a worker that stops hands its endpoint to another worker at once', async () => {
    const receiver = await startReceiver();
    receiver.answer = () => ({ status: 200, delayMs: 300 });
    const res = await app.gql(
      `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { webhookEndpoint { id } } }`,
      {
        input: {
          projectId: globalId('Project', app.projectId),
          url: receiver.url,
          events: ['webhook.test'],
        },
      },
    );
    const id = res.body.data.createWebhookEndpoint.webhookEndpoint.id as string;
    const raw = Buffer.from(id, 'base64').toString().split(':')[1];
    await app.server.deps.db.query(
      `WITH m AS (
         INSERT INTO webhook_messages (id, project_id, event_type, payload, created_at)
         SELECT 'msg_' || replace(evalgraph_uuid7()::text, '-', ''), $1::uuid, 'webhook.test', '{"type":"webhook.test"}', clock_timestamp()
           FROM generate_series(1, 40) RETURNING id)
       INSERT INTO webhook_deliveries (id, message_id, endpoint_id, next_attempt_at, created_at)
       SELECT evalgraph_uuid7(), id, $2::uuid, clock_timestamp(), clock_timestamp() FROM m`,
      [app.projectId, raw],
    );
    await app.server.deps.pubsub.publish(topics.webhookWork, {});
    // The app's own worker is the endpoint's sender (the only worker so far).
    for (let i = 0; i < 200 && receiver.received.length < 4; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(receiver.received.length).toBeGreaterThanOrEqual(4);
    const second = await startSecondWorker();
    try {
      // The first worker stops now (its requests in flight cut short and handed back).
      await app.server.worker!.stop(Date.now());
      const stoppedAt = Date.now();
      const before = receiver.received.length;
      for (let i = 0; i < 200 && receiver.received.length === before; i++)
        await new Promise((r) => setTimeout(r, 25));
      const waited = Date.now() - stoppedAt;
      console.log(`the second worker sent ${waited} ms after the first stopped`);
      // Its idle poll runs every second: 3 s leaves room for CI, far short of the lease (35 s).
      expect(waited).toBeLessThan(3_000);
      // Every message is delivered, and recorded DELIVERED once (the ones cut short sent again).
      const delivered = async () =>
        (
          await app.server.deps.db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1::uuid AND status = 'DELIVERED'`,
            [raw],
          )
        )[0].n;
      for (let i = 0; i < 400 && (await delivered()) < 40; i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(await delivered()).toBe(40);
      expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(40);
    } finally {
      await second.stop();
      await receiver.close();
    }
  });
