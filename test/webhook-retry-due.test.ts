// A retry comes due at its time with no wake-up (nothing announces it): the worker's idle poll
// (every second) finds it. A slow receiver whose deliveries wait behind its cap must not stop that
// poll: another endpoint's retry would wait until the slow one's backlog drained (here 4 x 9 s).
import { createTestApp, type TestApp } from './support/app';
import { startReceiver, type Receiver } from './support/receiver';
import { createEndpoint, sendTest } from './support/webhooks';

jest.setTimeout(60_000);

let app: TestApp;
let slow: Receiver;
let flaky: Receiver;

beforeAll(async () => {
  app = await createTestApp({
    EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    EVALGRAPH_WEBHOOK_RETRY_SCHEDULE_MS: '0,500,500',
  });
  slow = await startReceiver();
  flaky = await startReceiver();
  slow.answer = () => ({ status: 200, delayMs: 9_000 });
  // The first request fails: its retry is due 0.5 s later.
  flaky.answer = (_r, i) => ({ status: i === 0 ? 500 : 200 });
});
afterAll(async () => {
  await app?.close();
  await slow?.close();
  await flaky?.close();
});

it("a retry comes at its time while a slow endpoint's deliveries wait behind its cap", async () => {
  const slowId = await createEndpoint(app, slow.url);
  const flakyId = await createEndpoint(app, flaky.url);
  for (let i = 0; i < 20; i++) expect((await sendTest(app, slowId)).body.errors).toBeUndefined();
  for (let i = 0; i < 200 && slow.received.length < 4; i++)
    await new Promise((r) => setTimeout(r, 25));
  expect((await sendTest(app, flakyId)).body.errors).toBeUndefined();
  for (let i = 0; i < 200 && flaky.received.length < 1; i++)
    await new Promise((r) => setTimeout(r, 25));
  const failedAt = Date.now();
  // Due 0.5 s later (±10 %), found by a poll within the next second: 5 s leaves room for CI.
  for (let i = 0; i < 200 && flaky.received.length < 2; i++)
    await new Promise((r) => setTimeout(r, 25));
  console.log(
    `retry arrived ${flaky.received.length >= 2 ? flaky.received[1].at - failedAt : '> 5000'} ms after the failure`,
  );
  expect(flaky.received).toHaveLength(2);
});
