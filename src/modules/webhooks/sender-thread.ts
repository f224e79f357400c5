// Webhook and alert-channel POSTs are made in a thread of their own (one per process, started on
// first use): the HTTP client's work (connecting, writing, reading each answer: most of a
// delivery's CPU) no longer shares the event loop with the queue's SQL and with the API's requests
// in the same process. The queue stays on the main thread: it claims, caps, signs and records;
// the thread only POSTs (send.ts, with its address guard and timeout) and answers each attempt.
// Requests and answers cross in batches (those started in one turn of either loop), not one
// message each. measured: bench/README.md "webhooks".
import { isMainThread, parentPort, type Worker } from 'node:worker_threads';
import { startTsThread } from '../../lib/ts-thread';
import { ABORTED, sendWebhook, type AttemptResult } from './send';
import { parseAllowList, type AllowList } from './ssrf';

/** A POST as send.ts makes it, made in the sender thread. */
export type Post = (
  target: string,
  headers: Record<string, string>,
  body: string,
  options: { timeoutMs: number; signal?: AbortSignal },
) => Promise<AttemptResult>;

interface Request {
  id: number;
  target: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** EVALGRAPH_WEBHOOK_ALLOWED_HOSTS as configured (a process may hold several configurations: tests). */
  allowedHosts: string;
}
/** `stall`: the thread's loop blocks this long (a test's fault: a thread that stops answering). */
type ToThread = { send: Request[] } | { abort: number } | { stall: number };
type FromThread = [id: number, result: AttemptResult][];

/** A POST handed to the thread: how it is settled, and by when the thread must have answered. */
interface Waiting {
  settle(result: AttemptResult): void;
  deadline: number;
}

/**
 * A POST's answer is due within its timeout (kept in the thread); a thread that has not answered
 * within twice that, and a second more, is stuck (its loop blocked): it is ended, what it was
 * sending is cut short, and the next POST starts another. Checked once a second.
 */
const answerDueMs = (timeoutMs: number) => 2 * timeoutMs + 1_000;
const WATCH_MS = 1_000;

interface Thread {
  worker: Worker;
  waiting: Map<number, Waiting>;
  /** Requests not yet handed to the thread: handed over at the end of this turn. */
  batch: Request[];
}
let thread: Thread | null = null;
let nextId = 1;

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
  // Decided after this turn's I/O: when the main thread itself was blocked (a long statement of
  // the embedded database, say), this tick comes before the answers the thread sent meanwhile,
  // and those settle their POSTs first.
  const watch = setInterval(
    () =>
      setImmediate(() => {
        const now = performance.now();
        for (const { deadline } of current.waiting.values()) {
          if (now < deadline) continue;
          fail('the sender thread stopped answering: ended, and another started');
          void worker.terminate();
          return;
        }
      }).unref(),
    WATCH_MS,
  ).unref();
  worker.on('error', (error) => fail(`the sender thread failed: ${error.message}`));
  worker.on('exit', (code) => {
    clearInterval(watch);
    fail(`the sender thread exited (${code})`);
  });
  worker.unref();
  thread = current;
  return current;
}

/** Settles a POST. The thread is kept alive by what it is sending, not after: a stopped server's process may exit. */
function answer(to: Thread, id: number, result: AttemptResult) {
  to.waiting.get(id)?.settle(result);
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

/** POSTs through the sender thread, with `allowedHosts` (EVALGRAPH_WEBHOOK_ALLOWED_HOSTS). */
export function threadPost(allowedHosts: string): Post {
  return (target, headers, body, { timeoutMs, signal }) => {
    if (signal?.aborted) return Promise.resolve({ ...ABORTED, latencyMs: 0 });
    const to = sender();
    const id = nextId++;
    if (!to.batch.length) queueMicrotask(() => flush(to));
    const request: Request = { id, target, headers, body, timeoutMs, allowedHosts };
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
      to.waiting.set(id, {
        settle(result) {
          signal?.removeEventListener('abort', abort);
          resolve(result);
        },
        deadline: performance.now() + answerDueMs(timeoutMs),
      });
    });
  };
}

/** Ends the sender thread (a test's fault): what it was sending is cut short, and the next POST starts another. */
export async function stopSenderThread() {
  await thread?.worker.terminate();
}

/** Blocks the sender thread's loop for `ms` (a test's fault: a thread that stops answering). */
export function stallSenderThread(ms: number) {
  thread?.worker.postMessage({ stall: ms } satisfies ToThread);
}

/** The thread's side: POSTs each request and answers, batched per turn of its loop. */
export function postInThread() {
  if (isMainThread || !parentPort) return;
  const port = parentPort;
  const allowLists = new Map<string, AllowList>();
  const aborts = new Map<number, AbortController>();
  let answers: FromThread = [];
  const answer = () => {
    port.postMessage(answers);
    answers = [];
  };
  port.on('message', (message: ToThread) => {
    if ('abort' in message) return void aborts.get(message.abort)?.abort();
    if ('stall' in message) {
      // Busy, not asleep: a loop stuck in our code or a library's (terminate() can end it).
      const end = Date.now() + message.stall;
      while (Date.now() < end);
      return;
    }
    for (const r of message.send) {
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
          if (!answers.length) setImmediate(answer);
          answers.push([r.id, result]);
        });
    }
  });
}
