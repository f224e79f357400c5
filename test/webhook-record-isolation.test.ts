// Outcomes are recorded in groups (one statement for many deliveries, of any endpoints and
// projects). What one receiver answers must not stop the others' from being recorded: an answer
// whose body holds a NUL character (which Postgres text cannot store) failed its whole group
// before, and every delivery in it (another project's too) stayed leased, to be sent again.
import { createTestApp, type TestApp } from './support/app';
import { startReceiver, type Receiver } from './support/receiver';
import { createEndpoint, sendTest } from './support/webhooks';

jest.setTimeout(60_000);

let app: TestApp;
let odd: Receiver;
let plain: Receiver;

beforeAll(async () => {
  app = await createTestApp({ EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
  odd = await startReceiver();
  plain = await startReceiver();
  odd.answer = (_r, i) => ({ status: i % 2 ? 500 : 200, body: 'ok\u0000then \ud800 more' });
});
afterAll(async () => {
  await app?.close();
  await odd?.close();
  await plain?.close();
});

it("a receiver's odd answer is recorded, and so are the other deliveries recorded with it", async () => {
  const other = await app.seedProject('another tenant');
  const oddId = await createEndpoint(app, odd.url);
  const plainId = await createEndpoint(app, plain.url, other);
  for (let i = 0; i < 10; i++) {
    expect((await sendTest(app, oddId)).body.errors).toBeUndefined();
    expect((await sendTest(app, plainId)).body.errors).toBeUndefined();
  }
  const sql = app.server.deps.db.query;
  const settled = async () =>
    (
      await sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM webhook_deliveries WHERE lease_token IS NULL AND attempts > 0`,
      )
    )[0].n;
  for (let i = 0; i < 200 && (await settled()) < 20; i++)
    await new Promise((r) => setTimeout(r, 50));
  expect(await settled()).toBe(20);
  const attempts = await sql<{ response_snippet: string | null; status_code: number }>(
    `SELECT a.response_snippet, a.status_code FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
      JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE e.url = $1`,
    [odd.url],
  );
  expect(attempts.length).toBeGreaterThanOrEqual(10);
  // Kept as text Postgres can store: the NUL and the lone surrogate replaced, the rest as sent.
  expect(attempts[0].response_snippet).toMatch(/^ok.then . more$/);
  expect(attempts[0].response_snippet).not.toContain('\u0000');
  expect(plain.received).toHaveLength(10);
});
