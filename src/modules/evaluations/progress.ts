// Live progress of evaluations for subscribers in this process. However many clients watch one
// evaluation, it is read from the database at most once per interval (default 250 ms) after an
// event, and every watcher gets that one snapshot; a watcher first gets the state as it is when
// it joins (the newest snapshot read, or the read in flight: a thousand clients joining at once
// make one read and share its object, so the executor's per-event sharing applies to their first
// event too), and its stream ends after the final state. Readers that fall behind skip to the
// newest snapshot. Events come through pub/sub from whichever process runs the evaluation; a slow
// poll covers a lost message. (How often progress goes out: PROGRESS in events/catalogue.ts.)
import type { Deps } from '../../deps';
import { createChannel, type Channel } from '../../lib/channel';
import { topics } from '../events/catalogue';
import { FINAL_STATUSES, loadSnapshot, type EvaluationSnapshot } from './summaries';

const SAFETY_POLL_MS = 5_000;

interface Watched {
  channels: Set<Channel<EvaluationSnapshot>>;
  unlisten: () => void;
  poll: NodeJS.Timeout;
  timer: NodeJS.Timeout | null;
  lastLoad: number;
  /**
   * The newest snapshot read since watching began. Every change published after it was read has
   * scheduled a read (the topic was listened to first), so a watcher joining now may start from
   * it: it is current, or a newer one follows.
   */
  latest: EvaluationSnapshot | null;
  /** The first read, in flight: watchers joining meanwhile wait for it rather than read again. */
  first: Promise<EvaluationSnapshot | null> | null;
}

const STATUS_RANK = { QUEUED: 0, RUNNING: 1, COMPLETED: 2, FAILED: 2, CANCELED: 2 } as const;
/** Snapshots never go backwards for a watcher (a slow first read must not follow a newer one). */
const order = (s: EvaluationSnapshot) => STATUS_RANK[s.status] * 1e9 + s.completed;
const fingerprint = (s: EvaluationSnapshot) =>
  `${s.status}:${s.completed}:${s.errored}:${s.judgeCost}:${s.judgeUnpricedCalls}:${s.judgeInputTokens}`;

export function createProgressHub(deps: Deps, options: { intervalMs: number }) {
  const watched = new Map<string, Watched>();
  // The snapshot each watcher got last (shared objects: nothing of its own per watcher).
  const last = new WeakMap<Channel<EvaluationSnapshot>, EvaluationSnapshot>();
  let closed = false;

  function deliver(channel: Channel<EvaluationSnapshot>, snapshot: EvaluationSnapshot) {
    const previous = last.get(channel);
    if (
      previous &&
      (previous === snapshot ||
        order(snapshot) < order(previous) ||
        fingerprint(snapshot) === fingerprint(previous))
    )
      return;
    last.set(channel, snapshot);
    channel.push(snapshot);
    if (FINAL_STATUSES.has(snapshot.status)) channel.end();
  }

  async function read(id: string, entry: Watched) {
    const snapshot = await loadSnapshot(deps.db.query, id);
    // Deleted: no snapshot to start from (its watchers' streams end).
    if (!snapshot) entry.latest = null;
    else if (!entry.latest || order(snapshot) >= order(entry.latest)) entry.latest = snapshot;
    return snapshot;
  }

  async function refresh(id: string, entry: Watched) {
    entry.timer = null;
    entry.lastLoad = Date.now();
    try {
      const snapshot = await read(id, entry);
      for (const channel of entry.channels) {
        // Deleted (with its project): the streams end.
        if (snapshot) deliver(channel, snapshot);
        else channel.end();
      }
    } catch (error) {
      deps.log.warn(
        { err: error, evaluationId: id },
        'progress read failed; the next event or poll retries',
      );
    }
  }

  function schedule(id: string, entry: Watched) {
    if (entry.timer || watched.get(id) !== entry) return;
    entry.timer = setTimeout(
      () => void refresh(id, entry),
      Math.max(0, entry.lastLoad + options.intervalMs - Date.now()),
    );
  }

  function stopWatching(id: string, entry: Watched) {
    entry.unlisten();
    clearInterval(entry.poll);
    if (entry.timer) clearTimeout(entry.timer);
    watched.delete(id);
  }

  function entryFor(id: string): Watched {
    let entry = watched.get(id);
    if (entry) return entry;
    const created: Watched = {
      channels: new Set(),
      unlisten: deps.pubsub.listen(topics.evaluation(id), () => schedule(id, created)),
      poll: setInterval(() => schedule(id, created), SAFETY_POLL_MS),
      timer: null,
      lastLoad: 0,
      latest: null,
      first: null,
    };
    created.poll.unref();
    watched.set(id, created);
    entry = created;
    return entry;
  }

  return {
    /** Number of evaluations and watchers in this process (metrics, tests). */
    stats: () => ({
      evaluations: watched.size,
      watchers: [...watched.values()].reduce((n, e) => n + e.channels.size, 0),
    }),

    /** The evaluation's progress: now, then after changes, ending with its final state. */
    watch(id: string): Channel<EvaluationSnapshot> {
      // Shutting down: nothing is watched any more (the stream ends at once).
      if (closed) {
        const ended = createChannel<EvaluationSnapshot>();
        ended.end();
        return ended;
      }
      const entry = entryFor(id);
      const channel = createChannel<EvaluationSnapshot>();
      channel.onClose(() => {
        entry.channels.delete(channel);
        if (!entry.channels.size && watched.get(id) === entry) stopWatching(id, entry);
      });
      entry.channels.add(channel);
      if (entry.latest) {
        deliver(channel, entry.latest);
        return channel;
      }
      // Listening before reading: a change during the read is delivered after it.
      if (!entry.first) {
        entry.first = read(id, entry);
        const clear = () => {
          entry.first = null;
        };
        entry.first.then(clear, clear);
      }
      entry.first.then(
        (snapshot) => (snapshot ? deliver(channel, snapshot) : channel.end()),
        (error) => {
          deps.log.warn({ err: error, evaluationId: id }, 'progress read failed');
          schedule(id, entry);
        },
      );
      return channel;
    },

    close() {
      closed = true;
      for (const [id, entry] of watched) {
        for (const channel of entry.channels) channel.end();
        stopWatching(id, entry);
      }
    },
  };
}

export type ProgressHub = ReturnType<typeof createProgressHub>;
