// The sender thread makes every webhook and alert-channel POST (sender-thread.ts): real requests
// to a receiver on loopback, through the address guard with the allow-list each POST names,
// cut short by their signal, and a thread that dies fails what it was sending without taking
// the process with it, nor counting against the receivers: the next POST starts another thread.
import {
  stallSenderThread,
  stopSenderThread,
  threadPost,
} from '../src/modules/webhooks/sender-thread';
import { startReceiver, type Receiver } from './support/receiver';

jest.setTimeout(30_000);

let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
});

const allowed = threadPost('127.0.0.1');

it('POSTs the body with its headers and answers the status and a snippet of the answer', async () => {
  receiver.answer = () => ({ status: 202, headers: { 'retry-after': '7' } });
  const result = await allowed(receiver.url, { 'webhook-id': 'msg_1' }, '{"a":1}', {
    timeoutMs: 5_000,
  });
  expect(result).toMatchObject({
    statusCode: 202,
    error: null,
    snippet: 'answer 202',
    retryAfterMs: 7_000,
  });
  const last = receiver.received.at(-1)!;
  expect(last.body).toBe('{"a":1}');
  expect(last.headers['webhook-id']).toBe('msg_1');
  expect(last.headers['content-type']).toBe('application/json');
});

it("refuses a loopback target unless the POST's allow-list names it", async () => {
  const before = receiver.received.length;
  const refused = await threadPost('')(receiver.url, {}, '{}', { timeoutMs: 5_000 });
  expect(refused.statusCode).toBeNull();
  expect(refused.error).toMatch(/^refused: .*loopback/);
  expect(receiver.received).toHaveLength(before);
});

it('cuts a POST short when its signal aborts', async () => {
  receiver.answer = () => ({ status: 200, delayMs: 20_000 });
  const abort = new AbortController();
  const pending = allowed(receiver.url, {}, '{}', { timeoutMs: 25_000, signal: abort.signal });
  const before = receiver.received.length;
  while (receiver.received.length === before) await new Promise((r) => setTimeout(r, 10));
  abort.abort();
  expect(await pending).toMatchObject({ statusCode: null, aborted: true });
});

it('a sender thread that dies cuts short what it was sending, on our side; the next POST starts another', async () => {
  receiver.answer = () => ({ status: 200, delayMs: 20_000 });
  const pending = allowed(receiver.url, {}, '{}', { timeoutMs: 25_000 });
  const before = receiver.received.length;
  while (receiver.received.length === before) await new Promise((r) => setTimeout(r, 10));
  await stopSenderThread();
  // Said to be ours, not the receiver's: the runner does not count it toward disabling the endpoint.
  expect(await pending).toMatchObject({
    statusCode: null,
    aborted: true,
    error: expect.stringMatching(/^the sender thread exited/),
  });
  receiver.answer = () => ({ status: 204 });
  expect((await allowed(receiver.url, {}, '{}', { timeoutMs: 5_000 })).statusCode).toBe(204);
});

it('cuts a POST short when its signal aborts in the turn it was asked for (before it reached the thread)', async () => {
  receiver.answer = () => ({ status: 200, delayMs: 20_000 });
  const abort = new AbortController();
  const pending = allowed(receiver.url, {}, '{}', { timeoutMs: 25_000, signal: abort.signal });
  abort.abort();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const result = await Promise.race([
    pending,
    new Promise((resolve) => (timer = setTimeout(() => resolve('still sending'), 3_000))),
  ]);
  clearTimeout(timer);
  expect(result).toMatchObject({ statusCode: null, aborted: true });
});

it('a POST that throws (a header Node refuses) fails alone: the others in the thread are sent', async () => {
  receiver.answer = () => ({ status: 200, delayMs: 300 });
  const sending = allowed(receiver.url, {}, '{}', { timeoutMs: 5_000 });
  const refused = await allowed(receiver.url, { 'x-bad': 'a\nb' }, '{}', { timeoutMs: 5_000 });
  expect(refused).toMatchObject({ statusCode: null, error: expect.stringMatching(/header/i) });
  expect((await sending).statusCode).toBe(200);
});

it('a sender thread that stops answering is ended: its POSTs are cut short on our side, and the next POST starts another', async () => {
  receiver.answer = () => ({ status: 200 });
  expect((await allowed(receiver.url, {}, '{}', { timeoutMs: 5_000 })).statusCode).toBe(200);
  // Stalled for longer than the test may run: only the watchdog (an answer due within 2 x 500 ms
  // + 1 s, checked every second) can settle the POST, and it says so.
  stallSenderThread(60_000);
  const stuck = await allowed(receiver.url, {}, '{}', { timeoutMs: 500 });
  expect(stuck).toMatchObject({
    statusCode: null,
    aborted: true,
    error: expect.stringMatching(/stopped answering/),
  });
  expect((await allowed(receiver.url, {}, '{}', { timeoutMs: 5_000 })).statusCode).toBe(200);
});

it('a thread that answered while the main thread itself was blocked is not taken for stuck', async () => {
  // The receiver runs on the main thread: it blocks it (as a long statement of the embedded
  // database would) past the POST's due time; the thread's own timeout answers meanwhile.
  receiver.answer = () => {
    const end = Date.now() + 2_500;
    while (Date.now() < end);
    return { status: 200, delayMs: 20_000 };
  };
  const result = await allowed(receiver.url, {}, '{}', { timeoutMs: 200 });
  expect(result).toMatchObject({ statusCode: null, error: 'timed out after 200 ms' });
});
