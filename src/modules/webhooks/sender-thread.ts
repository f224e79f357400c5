// Webhook and alert-channel POSTs are made in a thread of their own (one per process, started on
// first use): the HTTP client's work (connecting, writing, reading each answer: most of a
// delivery's CPU) no longer shares the event loop with the queue's SQL and with the API's requests
// in the same process. The queue stays on the main thread: it claims, signs and records; the
// thread POSTs (send.ts, with its address guard and timeout) and answers each attempt.
// The caps on requests in flight (a sender's in all, and per endpoint) are kept here, on the wire:
// the queue hands over up to twice as many, and a place freed here is taken at once by one
// waiting here, not after the answer's trip to the main thread and the next request's trip back.
// Requests and answers cross in batches, not one message each: requests those asked for in one
// turn of the main loop; answers those ready within ANSWER_LINGER_MS (each crossing wakes the
// other thread: measured, answers sent once per turn of this loop cost about a tenth of its time,
// and lingering is cheap while requests wait here to take the freed places).
// measured: bench/README.md "webhooks".
import { isMainThread, parentPort, type Worker } from 'node:worker_threads';
import { startTsThread } from '../../lib/ts-thread';
import { ABORTED, sendWebhook, type AttemptResult } from './send';
import { parseAllowList, type AllowList } from './ssrf';

/** A POST as send.ts makes it, made in the sender thread. */
export type Post = (
  target: string,
  headers: Record<string, string>,
  body: string,
  /** `key`: the endpoint whose cap it counts against (none: only the sender's). */
  options: { timeoutMs: number; signal?: AbortSignal; key?: string | null },
) => Promise<AttemptResult>;

/** A sender's caps on requests in flight: in all (EVALGRAPH_WEBHOOK_CONCURRENCY) and per key. */
export interface Caps {
  total: number;
  perKey: number;
}

interface Request {
  id: number;
  /** The threadPost it came from: its caps and counts are its own. */
  sender: number;
  caps: Caps;
  key: string | null;
  target: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** EVALGRAPH_WEBHOOK_ALLOWED_HOSTS as configured (a process may hold several configurations: tests). */
  allowedHosts: string;
}

/** Answers wait this long for others (measured: 1 ms)… */
const ANSWER_LINGER_MS = 1;
/** …or until this many are ready. */
const ANSWER_BATCH = 16;
type ToThread = { send: Request[] } | { abort: number };
type FromThread = [id: number, result: AttemptResult][];

interface Thread {
  worker: Worker;
  waiting: Map<number, (result: AttemptResult) => void>;
  /** Requests not yet handed to the thread: handed over at the end of this turn. */
  batch: Request[];
}
let thread: Thread | null = null;
let nextId = 1;
let nextSender = 1;

function sender() {
  if (thread) return thread;
  const worker = startTsThread(__filename, 'postInThread');
  const current: Thread = { worker, waiting: new Map(), batch: [] };
  worker.on('message', (answers: FromThread) => {
    for (const [id, result] of answers) answer(current, id, result);
  });
  // A thread that dies cuts short what it was sending: on our side, so not an attempt against the
  // receiver (not counted toward disabling it); each goes out again after its lease. The next
  // POST starts another thread.
  const fail = (why: string) => {
    if (thread === current) thread = null;
    for (const id of [...current.waiting.keys()])
      answer(current, id, { ...ABORTED, error: why, latencyMs: 0 });
  };
  worker.on('error', (error) => fail(`the sender thread failed: ${error.message}`));
  worker.on('exit', (code) => fail(`the sender thread exited (${code})`));
  worker.unref();
  thread = current;
  return current;
}

/** Settles a POST. The thread is kept alive by what it is sending, not after: a stopped server's process may exit. */
function answer(to: Thread, id: number, result: AttemptResult) {
  to.waiting.get(id)?.(result);
  to.waiting.delete(id);
  if (!to.waiting.size) to.worker.unref();
}

function flush(to: Thread) {
  const send = to.batch;
  to.batch = [];
  if (!send.length) return; // all taken back (aborted)
  // A thread that died meanwhile cut these short already.
  if (thread === to) to.worker.postMessage({ send } satisfies ToThread);
}

/**
 * POSTs through the sender thread, with `allowedHosts` (EVALGRAPH_WEBHOOK_ALLOWED_HOSTS), at most
 * `caps` of them on the wire (POSTs beyond wait in the thread, their timeout not started).
 */
export function threadPost(
  allowedHosts: string,
  caps: Caps = { total: Number.POSITIVE_INFINITY, perKey: Number.POSITIVE_INFINITY },
): Post {
  const senderId = nextSender++;
  return (target, headers, body, { timeoutMs, signal, key = null }) => {
    if (signal?.aborted) return Promise.resolve({ ...ABORTED, latencyMs: 0 });
    const to = sender();
    const id = nextId++;
    if (!to.batch.length) queueMicrotask(() => flush(to));
    const request: Request = {
      id,
      sender: senderId,
      caps,
      key,
      target,
      headers,
      body,
      timeoutMs,
      allowedHosts,
    };
    to.batch.push(request);
    to.worker.ref();
    const abort = () => {
      // Not handed over yet: an abort posted now would reach the thread before the request (and
      // be ignored there), so the request is taken back instead.
      const batched = to.batch.indexOf(request);
      if (batched < 0) return void to.worker.postMessage({ abort: id } satisfies ToThread);
      to.batch.splice(batched, 1);
      answer(to, id, { ...ABORTED, latencyMs: 0 });
    };
    signal?.addEventListener('abort', abort, { once: true });
    return new Promise((resolve) => {
      to.waiting.set(id, (result) => {
        signal?.removeEventListener('abort', abort);
        resolve(result);
      });
    });
  };
}

/** Ends the sender thread (a test's fault): what it was sending is cut short, and the next POST starts another. */
export async function stopSenderThread() {
  await thread?.worker.terminate();
}

/** What a sender has on the wire (in all and per key), and its requests waiting for a place. */
interface Lane {
  total: number;
  perKey: Map<string, number>;
  waiting: Request[];
}

/** The thread's side: POSTs each request within its sender's caps, and answers in batches. */
export function postInThread() {
  if (isMainThread || !parentPort) return;
  const port = parentPort;
  const allowLists = new Map<string, AllowList>();
  const aborts = new Map<number, AbortController>();
  const lanes = new Map<number, Lane>();
  let answers: FromThread = [];
  let timer: NodeJS.Timeout | null = null;
  const answer = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    port.postMessage(answers);
    answers = [];
  };
  const ready = (id: number, result: AttemptResult) => {
    answers.push([id, result]);
    if (answers.length >= ANSWER_BATCH) answer();
    else timer ??= setTimeout(answer, ANSWER_LINGER_MS);
  };
  const fits = (lane: Lane, r: Request) =>
    lane.total < r.caps.total && (r.key === null || (lane.perKey.get(r.key) ?? 0) < r.caps.perKey);
  const start = (lane: Lane, r: Request) => {
    lane.total += 1;
    if (r.key !== null) lane.perKey.set(r.key, (lane.perKey.get(r.key) ?? 0) + 1);
    let allow = allowLists.get(r.allowedHosts);
    if (!allow) allowLists.set(r.allowedHosts, (allow = parseAllowList(r.allowedHosts)));
    const abort = new AbortController();
    aborts.set(r.id, abort);
    // A POST that throws (a header Node refuses, say) fails alone: unhandled, it would end the
    // thread and fail every POST in it.
    const started = performance.now();
    void Promise.resolve()
      .then(() =>
        sendWebhook(r.target, r.headers, r.body, {
          timeoutMs: r.timeoutMs,
          allow: allow!,
          signal: abort.signal,
        }),
      )
      .catch(
        (error: NodeJS.ErrnoException): AttemptResult => ({
          statusCode: null,
          latencyMs: Math.round(performance.now() - started),
          error: `${error?.code ?? 'error'}: ${error?.message ?? String(error)}`,
          snippet: null,
          retryAfterMs: null,
        }),
      )
      .then((result) => {
        aborts.delete(r.id);
        lane.total -= 1;
        if (r.key !== null) {
          const left = lane.perKey.get(r.key)! - 1;
          if (left) lane.perKey.set(r.key, left);
          else lane.perKey.delete(r.key);
        }
        // The freed place goes to the first waiting request that fits (oldest first).
        const next = lane.waiting.findIndex((w) => fits(lane, w));
        if (next >= 0) start(lane, lane.waiting.splice(next, 1)[0]!);
        if (!lane.total && !lane.waiting.length) lanes.delete(r.sender);
        ready(r.id, result);
      });
  };
  port.on('message', (message: ToThread) => {
    if ('abort' in message) {
      // Waiting here: taken out and answered; on the wire: cut short.
      for (const lane of lanes.values()) {
        const at = lane.waiting.findIndex((w) => w.id === message.abort);
        if (at < 0) continue;
        lane.waiting.splice(at, 1);
        return ready(message.abort, { ...ABORTED, latencyMs: 0 });
      }
      return void aborts.get(message.abort)?.abort();
    }
    for (const r of message.send) {
      let lane = lanes.get(r.sender);
      if (!lane) lanes.set(r.sender, (lane = { total: 0, perKey: new Map(), waiting: [] }));
      if (fits(lane, r)) start(lane, r);
      else lane.waiting.push(r);
    }
  });
}
