import pino from 'pino';
import { createMemoryPubSub } from '../storage/pubsub';
import type { Job } from './job';
import { startWorkerPool, type WorkerPool } from './pool';

// A queue in memory standing in for a job's table: units are claimed in order, each once.
interface Unit {
  id: number;
}

/** Resolves once `predicate` holds (checked on each turn of the event loop); the test's timeout guards a hang. */
async function until(predicate: () => boolean) {
  while (!predicate()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** A promise with its resolve, to hold work until the test lets it go. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

function fakeJob(units: number, over: Partial<Job<Unit, number>> = {}) {
  const queue = Array.from({ length: units }, (_, i) => ({ id: i }));
  const seen = {
    claims: [] as number[],
    runs: [] as number[],
    running: 0,
    most: 0,
    recorded: [] as number[],
    released: [] as number[],
    failed: [] as number[],
    signals: new Map<number, AbortSignal>(),
  };
  const gates = new Map<number, ReturnType<typeof gate>>();
  const gateOf = (id: number) => gates.get(id) ?? (gates.set(id, gate()), gates.get(id)!);
  const job: Job<Unit, number> = {
    name: 'fake',
    concurrency: 2,
    idleMs: 3_600_000,
    onStop: 'abort',
    key: (u) => String(u.id),
    async claim(limit) {
      seen.claims.push(limit);
      return queue.splice(0, limit);
    },
    async run(unit, signal) {
      seen.signals.set(unit.id, signal);
      seen.runs.push(unit.id);
      seen.running += 1;
      seen.most = Math.max(seen.most, seen.running);
      try {
        await Promise.race([
          gateOf(unit.id).opened,
          new Promise((_resolve, reject) =>
            signal.addEventListener('abort', () => reject(new Error('aborted'))),
          ),
        ]);
        return unit.id * 10;
      } finally {
        seen.running -= 1;
      }
    },
    async record(outcome) {
      seen.recorded.push(outcome);
    },
    failed(unit) {
      seen.failed.push(unit.id);
    },
    async release(released) {
      seen.released.push(...released.map((u) => u.id));
    },
    ...over,
  };
  return { job, seen, queue, open: (id: number) => gateOf(id).open() };
}

const log = pino({ level: 'silent' });
let pool: WorkerPool | null = null;
afterEach(async () => {
  await pool?.stop(0);
  pool = null;
});

it('runs at most `concurrency` units at once, claims more as its buffer runs low, and records each outcome once', async () => {
  const { job, seen, open } = fakeJob(10);
  pool = startWorkerPool({ log, pubsub: createMemoryPubSub(log) }, [job]);
  for (let id = 0; id < 10; id++) {
    await until(() => seen.signals.has(id));
    open(id);
  }
  await until(() => seen.recorded.length === 10);
  expect(seen.recorded.sort((a, b) => a - b)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
  expect(seen.most).toBe(2);
  // Never more claimed than twice the concurrency held at once.
  expect(Math.max(...seen.claims)).toBeLessThanOrEqual(4);
  expect(seen.failed).toEqual([]);
});

it('on stop aborts units running (onStop abort) and hands them back with the units never started; recorded units are not', async () => {
  const { job, seen, open } = fakeJob(10, { concurrency: 2, maxHeld: 6 });
  pool = startWorkerPool({ log, pubsub: createMemoryPubSub(log) }, [job]);
  await until(() => seen.signals.has(0) && seen.signals.has(1));
  open(0);
  await until(() => seen.recorded.length === 1 && seen.signals.has(2));
  await pool.stop();
  pool = null;
  expect(seen.signals.get(1)!.aborted).toBe(true);
  expect(seen.signals.get(2)!.aborted).toBe(true);
  // 0 recorded; 1 and 2 cut short; 3, 4 and 5 claimed, never started.
  expect(seen.released.sort()).toEqual([1, 2, 3, 4, 5]);
  expect(seen.failed).toEqual([]);
});

it('on stop lets units run until the drain deadline (onStop finish) and records those that finish', async () => {
  const { job, seen, open } = fakeJob(2, { onStop: 'finish' });
  pool = startWorkerPool({ log, pubsub: createMemoryPubSub(log) }, [job]);
  await until(() => seen.signals.has(0) && seen.signals.has(1));
  const stopped = pool.stop(Date.now() + 60_000);
  pool = null;
  open(0);
  await until(() => seen.recorded.length === 1);
  expect(seen.signals.get(1)!.aborted).toBe(false);
  open(1);
  await stopped;
  expect(seen.recorded.sort()).toEqual([0, 10]);
  expect(seen.released).toEqual([]);
});

it('at the drain deadline aborts what still runs (onStop finish) and hands it back', async () => {
  const { job, seen } = fakeJob(1, { onStop: 'finish' });
  pool = startWorkerPool({ log, pubsub: createMemoryPubSub(log) }, [job]);
  await until(() => seen.signals.has(0));
  await pool.stop(Date.now());
  pool = null;
  expect(seen.signals.get(0)!.aborted).toBe(true);
  expect(seen.released).toEqual([0]);
  expect(seen.recorded).toEqual([]);
});

it('a unit that fails is given to `failed` and not handed back; a failed claim backs off, logged once', async () => {
  const lines: string[] = [];
  const logged = pino(
    { level: 'info' },
    { write: (line: string) => lines.push(JSON.parse(line).msg) },
  );
  let claimFailures = 2;
  const { job, seen } = fakeJob(1, {
    idleMs: 10,
    async claim() {
      if (claimFailures-- > 0) throw new Error('database away');
      return claimFailures === -1 ? [{ id: 7 }] : [];
    },
    async run() {
      throw new Error('provider down');
    },
  });
  pool = startWorkerPool({ log: logged, pubsub: createMemoryPubSub(logged) }, [job]);
  await until(() => seen.failed.length === 1);
  await pool.stop();
  pool = null;
  expect(seen.failed).toEqual([7]);
  expect(seen.released).toEqual([]);
  expect(lines.filter((l) => /job failed/.test(l))).toHaveLength(1);
  expect(lines).toContain('job runs again');
});

it('claims at once when woken over pub/sub, and does not take a claim it holds twice', async () => {
  const pubsub = createMemoryPubSub(log);
  const { job, seen, queue, open } = fakeJob(1, { wakeOn: [{ topic: 'fake:work' }] });
  pool = startWorkerPool({ log, pubsub }, [job]);
  await until(() => seen.signals.has(0));
  // Its next claim found nothing: it sleeps (for an hour) until woken.
  await until(() => seen.claims.length === 2);
  // The claim it holds again (its lease lapsed while held), and a new unit.
  queue.push({ id: 0 }, { id: 1 });
  pubsub.publish('fake:work', {});
  await until(() => seen.signals.has(1));
  open(0);
  open(1);
  await until(() => seen.recorded.length === 2);
  expect(seen.recorded.sort()).toEqual([0, 10]);
  expect(seen.runs.sort()).toEqual([0, 1]);
});

it('claims again soon when a claim finds nothing just after one found work (a lock passing), and then sleeps its poll interval', async () => {
  // The second claim meets rows another statement holds for a moment (SKIP LOCKED): it finds
  // nothing, though unit 1 is due. Not found again for an hour (idleMs) before, now at once.
  const { job, seen, queue, open } = fakeJob(1);
  const claim = job.claim;
  job.claim = async (limit) =>
    seen.claims.length === 1 ? (seen.claims.push(limit), []) : claim(limit);
  pool = startWorkerPool({ log, pubsub: createMemoryPubSub(log) }, [job]);
  await until(() => seen.signals.has(0));
  queue.push({ id: 1 });
  open(0);
  await until(() => seen.signals.has(1));
  open(1);
  await until(() => seen.recorded.length === 2);
  // Found nothing twice in a row: asleep, not claiming again and again.
  const claims = seen.claims.length;
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(seen.claims.length).toBe(claims);
  expect(seen.recorded.sort()).toEqual([0, 10]);
});

it('renews the leases of what it holds, and runs the job timers over it', async () => {
  const renewed: number[][] = [];
  const { job, seen } = fakeJob(2, {
    lease: { ms: 40, renew: async (units) => void renewed.push(units.map((u) => u.id).sort()) },
    every: [{ name: 'cancel check', ms: 10, run: async (held) => held.abort((u) => u.id === 1) }],
  });
  pool = startWorkerPool({ log, pubsub: createMemoryPubSub(log) }, [job]);
  await until(
    () =>
      renewed.some((ids) => ids.length === 1 && ids[0] === 0) ||
      renewed.some((ids) => ids.join() === '0,1'),
  );
  // Aborted by the job's own timer (a cancel): not failed, not handed back.
  await until(() => seen.signals.get(1)?.aborted === true);
  await pool.stop();
  pool = null;
  expect(seen.failed).toEqual([]);
  expect(seen.released).toEqual([0]);
});

it('runs at most `limitBy.max` units of one key at once, passing over them to start others, and names full and idle keys to the claim', async () => {
  // Units 0–5 are key "a", 6 and 7 key "b": with a cap of 2 per key and 4 slots, b's start while
  // a's wait behind their cap.
  const keyOf = (u: Unit) => (u.id < 6 ? 'a' : 'b');
  const keys: { full: string[]; idle: string[] }[] = [];
  const runningA = { now: 0, most: 0 };
  const { job, seen, queue, open } = fakeJob(8, {
    concurrency: 4,
    maxHeld: 12,
    limitBy: { key: keyOf, max: 2 },
  });
  const { claim, run } = job;
  job.claim = (limit, k) => {
    if (k) keys.push(k);
    return claim(limit, k);
  };
  job.run = async (unit, signal) => {
    if (keyOf(unit) === 'a') runningA.most = Math.max(runningA.most, ++runningA.now);
    try {
      return await run(unit, signal);
    } finally {
      if (keyOf(unit) === 'a') runningA.now -= 1;
    }
  };
  pool = startWorkerPool({ log, pubsub: createMemoryPubSub(log) }, [job]);
  await until(() => seen.runs.length === 4);
  expect([...seen.runs].sort()).toEqual([0, 1, 6, 7]);
  // b's places free up, a's 4 wait behind its cap: the claim then is told not to take more of a
  // (and finds nothing), and none follows while a stays full.
  for (const id of [6, 7]) open(id);
  await until(() => keys.length === 2);
  expect(keys[1].full).toEqual(['a']);
  await until(() => seen.recorded.length === 2);
  await new Promise((r) => setTimeout(r, 50));
  expect(keys.length).toBeLessThanOrEqual(3);
  // b holds nothing any more: idle, and named once to a claim.
  queue.push({ id: 100 }); // key b again
  for (const id of [0, 1, 2, 3, 4, 5]) {
    await until(() => seen.signals.has(id));
    open(id);
  }
  await until(() => seen.runs.includes(100));
  expect(keys.filter((k) => k.idle.includes('b'))).toHaveLength(1);
  open(100);
  await until(() => seen.recorded.length === 9);
  expect(runningA.most).toBe(2);
  expect(seen.failed).toEqual([]);
});

it("a unit cut short by the job's own timer leaves its key's count at zero: the cap holds when the key is claimed again", async () => {
  // The webhook job's lease renewal aborts the units of an endpoint it lost (disabled, taken over).
  // Such a unit is forgotten before its run's slot is freed; the key's running count must not
  // come back as -1, or the next units of that key run one over the cap (here 2 with a cap of 1).
  const pubsub = createMemoryPubSub(log);
  let cut = false;
  const running = { now: 0, most: 0 };
  const { job, seen, queue, open } = fakeJob(1, {
    concurrency: 4,
    limitBy: { key: () => 'a', max: 1 },
    wakeOn: [{ topic: 'fake:work' }],
    every: [
      {
        name: 'cut',
        ms: 5,
        run: async (held) => {
          if (!cut && held.works.some((u) => u.id === 0)) {
            cut = true;
            held.abort((u) => u.id === 0);
          }
        },
      },
    ],
  });
  const { run } = job;
  job.run = async (unit, signal) => {
    if (unit.id > 0) running.most = Math.max(running.most, ++running.now);
    try {
      return await run(unit, signal);
    } finally {
      if (unit.id > 0) running.now -= 1;
    }
  };
  pool = startWorkerPool({ log, pubsub }, [job]);
  await until(() => seen.signals.get(0)?.aborted === true);
  await new Promise((r) => setTimeout(r, 20));
  queue.push({ id: 1 }, { id: 2 });
  pubsub.publish('fake:work', {});
  await until(() => seen.signals.has(1));
  await new Promise((r) => setTimeout(r, 50));
  expect(running.most).toBe(1);
  open(1);
  await until(() => seen.signals.has(2));
  open(2);
  await until(() => seen.recorded.length === 2);
  expect(running.most).toBe(1);
});

it('work that comes due without a wake-up is claimed by the idle poll while a key is full', async () => {
  // A webhook retry comes due at its time, announced by nobody: the poll (idleMs) is the only way
  // to it. A full key (a slow receiver's deliveries waiting behind its cap) must not stop the poll
  // until that key drains, or every other endpoint's retries wait for a slow receiver.
  const { job, seen, queue, open } = fakeJob(2, {
    concurrency: 2,
    idleMs: 20,
    limitBy: { key: (u) => (u.id < 10 ? 'slow' : 'other'), max: 1 },
  });
  pool = startWorkerPool({ log, pubsub: createMemoryPubSub(log) }, [job]);
  // Unit 0 runs (and hangs), unit 1 waits behind the cap: 'slow' is full; a claim finds nothing.
  await until(() => seen.signals.has(0) && seen.claims.length >= 2);
  queue.push({ id: 10 });
  for (let i = 0; i < 100 && !seen.runs.includes(10); i++)
    await new Promise((r) => setTimeout(r, 10));
  expect(seen.runs).toContain(10);
  open(10);
  open(0);
  open(1);
  await until(() => seen.recorded.length === 3);
});
