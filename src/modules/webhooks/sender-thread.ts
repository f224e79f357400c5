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
  /**
   * `key`: the endpoint whose cap it counts against (none: only the sender's). `signal` cuts the
   * POST short wherever it is; `recall` takes it back only if it is not on the wire yet (what
   * waits behind a cap was checked when handed over: a change since must not be sent).
   */
  options: { timeoutMs: number; signal?: AbortSignal; recall?: AbortSignal; key?: string | null },
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
/**
 * What one turn of the main loop asked for, in one message. Aborts and recalls are handled before
 * the sends, and all of them before any place they free is taken: a cap's place freed by one abort
 * never goes to a request aborted in the same turn (a lease check cuts an endpoint's all at once).
 */
interface ToThread {
  send: Request[];
  abort: number[];
  recall: number[];
}
type FromThread = [id: number, result: AttemptResult][];

interface Thread {
  worker: Worker;
  waiting: Map<number, (result: AttemptResult) => void>;
  /** What is not yet handed to the thread: handed over at the end of this turn. */
  batch: ToThread;
  /** Whether this turn's message is due to be sent. */
  scheduled: boolean;
}
/** The answer to a POST taken back before it went on the wire. */
const UNSENT: AttemptResult = { ...ABORTED, latencyMs: 0, unsent: true };

let thread: Thread | null = null;
let nextId = 1;
let nextSender = 1;

function sender() {
  if (thread) return thread;
  const worker = startTsThread(__filename, 'postInThread');
  const current: Thread = { worker, waiting: new Map(), batch: emptyBatch(), scheduled: false };
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

const emptyBatch = (): ToThread => ({ send: [], abort: [], recall: [] });

/** Adds to this turn's message, sent at the end of the turn. */
function batched(to: Thread, add: (batch: ToThread) => void) {
  if (!to.scheduled) {
    to.scheduled = true;
    queueMicrotask(() => {
      const { batch } = to;
      to.batch = emptyBatch();
      to.scheduled = false;
      const empty = !batch.send.length && !batch.abort.length && !batch.recall.length;
      // A thread that died meanwhile cut these short already.
      if (!empty && thread === to) to.worker.postMessage(batch);
    });
  }
  add(to.batch);
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
  return (target, headers, body, { timeoutMs, signal, recall, key = null }) => {
    if (signal?.aborted || recall?.aborted) return Promise.resolve(UNSENT);
    const to = sender();
    const id = nextId++;
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
    batched(to, (batch) => batch.send.push(request));
    to.worker.ref();
    const takeBack = (how: 'abort' | 'recall') => {
      // Not handed over yet (this turn's message): taken back here, not sent at all.
      const unsent = to.batch.send.indexOf(request);
      if (unsent < 0) return batched(to, (batch) => batch[how].push(id));
      to.batch.send.splice(unsent, 1);
      answer(to, id, UNSENT);
    };
    const abort = () => takeBack('abort');
    const recalled = () => takeBack('recall');
    signal?.addEventListener('abort', abort, { once: true });
    recall?.addEventListener('abort', recalled, { once: true });
    return new Promise((resolve) => {
      to.waiting.set(id, (result) => {
        signal?.removeEventListener('abort', abort);
        recall?.removeEventListener('abort', recalled);
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
        ready(r.id, result);
        // A receiver that answered 410 Gone is disabled by the answer's record: what waits for it
        // here is taken back (answered after the 410), not sent while the answer is on its way.
        if (result.statusCode === 410 && r.key !== null)
          for (const w of lane.waiting.filter((w) => w.key === r.key)) takeWaiting(w.id);
        // The freed place goes to the first waiting request that fits (oldest first).
        const next = lane.waiting.findIndex((w) => fits(lane, w));
        if (next >= 0) start(lane, lane.waiting.splice(next, 1)[0]!);
        if (!lane.total && !lane.waiting.length) lanes.delete(r.sender);
      });
  };
  /** Takes a request out of its lane's waiting list and answers it: whether it was waiting. */
  const takeWaiting = (id: number) => {
    for (const lane of lanes.values()) {
      const at = lane.waiting.findIndex((w) => w.id === id);
      if (at < 0) continue;
      lane.waiting.splice(at, 1);
      ready(id, UNSENT);
      return true;
    }
    return false;
  };
  port.on('message', (message: ToThread) => {
    // Out of the waiting lists first (aborted or recalled), then cut short on the wire: the places
    // that frees are taken (in a later turn) by requests that are still wanted. A recalled request
    // already on the wire is left to finish.
    for (const id of message.recall) takeWaiting(id);
    const onWire = message.abort.filter((id) => !takeWaiting(id));
    for (const id of onWire) aborts.get(id)?.abort();
    for (const r of message.send) {
      let lane = lanes.get(r.sender);
      if (!lane) lanes.set(r.sender, (lane = { total: 0, perKey: new Map(), waiting: [] }));
      if (fits(lane, r)) start(lane, r);
      else lane.waiting.push(r);
    }
  });
}
