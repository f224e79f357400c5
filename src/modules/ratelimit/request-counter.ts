// Requests and cost points per user and UTC day. Counted in process and added to usage_counters
// every couple of seconds in one statement (a write per request would cost more than most
// requests); what a process knows of a user's day is the stored total as of its last write plus
// what it has counted since, so a daily request quota holds across processes within one flush.
import { utcDay } from '../../lib/days';
import type { Deps } from '../../deps';
import { addRequests, readUsage } from './usage-sql';

const FLUSH_MS = 2_000;

export function createRequestCounter(deps: Deps) {
  // "day|userId" → counted and not stored yet (by the day the request came, not the day of the write)
  let pending = new Map<string, { requests: number; points: number }>();
  // The batch being written: still counted by requestsToday until its totals come back.
  let writing = new Map<string, { requests: number; points: number }>();
  // userId → the stored total of `day` as last read or written
  const stored = new Map<string, { day: string; requests: number }>();
  const keyOf = (day: string, userId: string) => `${day}|${userId}`;

  async function flushDay(day: string, batch: [string, { requests: number; points: number }][]) {
    const rows = await addRequests(
      deps.db.query,
      day,
      batch.map(([id, c]) => ({ id, ...c })),
    );
    for (const row of rows) stored.set(row.subject_id, { day, requests: row.requests });
  }

  // Failing to write (the database is away) is logged when it starts and when it ends, not every 2 s.
  let failing = false;

  async function flush() {
    if (!pending.size) return;
    const batch = pending;
    pending = new Map();
    writing = batch;
    const byDay = new Map<string, [string, { requests: number; points: number }][]>();
    for (const [key, counts] of batch) {
      const [day, userId] = key.split('|');
      byDay.set(day, [...(byDay.get(day) ?? []), [userId, counts]]);
    }
    for (const [day, entries] of byDay) {
      try {
        await flushDay(day, entries);
        if (failing) deps.log.info('request counts stored again');
        failing = false;
      } catch (error) {
        // Kept for the next write rather than lost.
        for (const [userId, c] of entries) {
          const p = pending.get(keyOf(day, userId)) ?? { requests: 0, points: 0 };
          pending.set(keyOf(day, userId), {
            requests: p.requests + c.requests,
            points: p.points + c.points,
          });
        }
        if (!failing) deps.log.warn({ err: error }, 'could not store request counts; retrying');
        failing = true;
      }
      // Now in `stored` (or back in `pending`): counted once.
      for (const [userId] of entries) writing.delete(keyOf(day, userId));
    }
  }

  const timer = setInterval(() => void flush(), FLUSH_MS);
  timer.unref();

  return {
    count(userId: string, points: number) {
      const key = keyOf(utcDay(deps.clock.now()), userId);
      const p = pending.get(key) ?? { requests: 0, points: 0 };
      p.requests += 1;
      p.points += points;
      pending.set(key, p);
    },
    /** The user's requests today, as this process knows them. */
    async requestsToday(userId: string): Promise<number> {
      const day = utcDay(deps.clock.now());
      let known = stored.get(userId);
      if (!known || known.day !== day) {
        const row = await readUsage(deps.db.query, 'USER', userId, day);
        known = { day, requests: row?.requests ?? 0 };
        stored.set(userId, known);
      }
      const key = keyOf(day, userId);
      return known.requests + (pending.get(key)?.requests ?? 0) + (writing.get(key)?.requests ?? 0);
    },
    /** Counted here and not stored yet. */
    pendingOf(userId: string) {
      const p = pending.get(keyOf(utcDay(deps.clock.now()), userId));
      return { requests: p?.requests ?? 0, points: p?.points ?? 0 };
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

export type RequestCounter = ReturnType<typeof createRequestCounter>;
