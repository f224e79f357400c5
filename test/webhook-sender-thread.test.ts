// The sender thread makes every webhook and alert-channel POST (sender-thread.ts): real requests
// to a receiver on loopback, through the address guard with the allow-list each POST names,
// cut short by their signal, and a thread that dies fails what it was sending without taking
// the process with it, nor counting against the receivers: the next POST starts another thread.
import { stopSenderThread, threadPost } from '../src/modules/webhooks/sender-thread';
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

it("keeps its sender's caps on the wire: the others wait in the thread, unstarted, and take each freed place", async () => {
  const capped = threadPost('127.0.0.1', { total: 3, perKey: 2 });
  receiver.answer = () => ({ status: 200, delayMs: 3_000 });
  const before = receiver.received.length;
  const sent = (key: string) =>
    capped(receiver.url, { 'x-key': key }, '{}', { timeoutMs: 1_500, key });
  // Key a: 2 on the wire, 1 waiting (its cap); key b: 1 on the wire (the total), 1 waiting.
  const pending = ['a', 'a', 'a', 'b', 'b'].map(sent);
  const abort = new AbortController();
  const waitingAborted = capped(receiver.url, {}, '{}', {
    timeoutMs: 5_000,
    key: 'c',
    signal: abort.signal,
  });
  while (receiver.received.length - before < 3) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 300));
  expect(receiver.received.length - before).toBe(3);
  expect(receiver.received.slice(before).map((r) => r.headers['x-key'])).toEqual(['a', 'a', 'b']);
  // Waiting in the thread: taken out, answered on our side, never sent.
  abort.abort();
  expect(await waitingAborted).toMatchObject({ statusCode: null, aborted: true });
  // The first three time out after 1.5 s (their timeout starts on the wire); the waiting two then go.
  const results = await Promise.all(pending);
  expect(results.map((r) => r.error?.startsWith('timed out'))).toEqual([
    true,
    true,
    true,
    true,
    true,
  ]);
  expect(receiver.received.slice(before).map((r) => r.headers['x-key'])).toEqual([
    'a',
    'a',
    'b',
    'a',
    'b',
  ]);
});

it('aborts made in one turn take the waiting requests out before any place on the wire is freed', async () => {
  // A lease check cuts an endpoint's requests all at once: a place freed by cutting one on the
  // wire must not go to a waiting one of the same endpoint whose abort is on its way.
  const capped = threadPost('127.0.0.1', { total: 10, perKey: 2 });
  receiver.answer = () => ({ status: 200, delayMs: 3_000 });
  const before = receiver.received.length;
  const abort = new AbortController();
  const pending = [1, 2, 3, 4, 5].map(() =>
    capped(receiver.url, {}, '{}', { timeoutMs: 5_000, key: 'k', signal: abort.signal }),
  );
  while (receiver.received.length - before < 2) await new Promise((r) => setTimeout(r, 10));
  // Let the three waiting ones be handed over (an abort of one still in this turn's message is
  // taken back on this side, which proves nothing here).
  await new Promise((r) => setTimeout(r, 100));
  abort.abort();
  const results = await Promise.all(pending);
  expect(results.every((r) => r.aborted)).toBe(true);
  // The waiting three never went on the wire (not even to be cut short there).
  expect(results.map((r) => Boolean(r.unsent))).toEqual([false, false, true, true, true]);
  await new Promise((r) => setTimeout(r, 300));
  expect(receiver.received.length - before).toBe(2);
});

it('a recall takes back a request waiting behind its cap, and leaves one on the wire to finish', async () => {
  const capped = threadPost('127.0.0.1', { total: 10, perKey: 1 });
  receiver.answer = () => ({ status: 200, delayMs: 500 });
  const before = receiver.received.length;
  const recall = new AbortController();
  const [onWire, waiting] = ['first', 'second'].map((n) =>
    capped(receiver.url, { 'x-n': n }, '{}', { timeoutMs: 5_000, key: 'k', recall: recall.signal }),
  );
  while (receiver.received.length - before < 1) await new Promise((r) => setTimeout(r, 10));
  recall.abort();
  expect(await waiting).toMatchObject({ statusCode: null, aborted: true, unsent: true });
  expect(await onWire).toMatchObject({ statusCode: 200, error: null });
  await new Promise((r) => setTimeout(r, 300));
  expect(receiver.received.slice(before).map((r) => r.headers['x-n'])).toEqual(['first']);
});
