// A stopping worker hands back what it holds: its deliveries and its endpoints' sender leases, so
// that another worker sends to them at once, not after the lease (3 x the timeout + 5 s) lapses.
// Postgres only: on the embedded database one process owns it, and there is no other worker.
import pino from 'pino';
import { parseConfig } from '../src/config';
import { topics } from '../src/modules/events/catalogue';
import { serve } from '../src/serve';
import { createTestApp, globalId, type TestApp } from './support/app';
import { startReceiver, type Receiver } from './support/receiver';

jest.setTimeout(60_000);

let app: TestApp;
let receiver: Receiver;

beforeAll(async () => {
  app = await createTestApp({ EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
  receiver = await startReceiver();
});
afterAll(async () => {
  await app?.close();
  await receiver?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('a worker that stops hands its endpoint to another worker at once', async () => {
  const config = app.server.deps.config;
  if (config.database.kind !== 'postgres') {
    // Nothing to hand over to: the embedded database has one worker.
    expect(config.database.kind).toBe('embedded');
    return;
  }
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
  for (let i = 0; i < 200 && receiver.received.length < 4; i++) await sleep(25);
  expect(receiver.received.length).toBeGreaterThanOrEqual(4);
  const second = await serve(
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
  try {
    // The first worker stops now (its requests in flight cut short and handed back).
    await app.server.worker!.stop(Date.now());
    const stoppedAt = Date.now();
    const before = receiver.received.length;
    for (let i = 0; i < 200 && receiver.received.length === before; i++) await sleep(25);
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
    for (let i = 0; i < 400 && (await delivered()) < 40; i++) await sleep(50);
    expect(await delivered()).toBe(40);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(40);
  } finally {
    await second.stop();
  }
});
