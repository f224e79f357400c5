// Requests and cost points per user (or per project, for its FEEDBACK keys: limits.ts rateSubject)
// and UTC day. Counted in process and added to usage_counters every couple of seconds in one
// statement per kind (a write per request would cost more than most requests); what a process
// knows of a day is the stored total as of its last write plus what it has counted since, so a
// daily request quota holds across processes within one flush.
import { utcDay } from '../../lib/days';
import type { Deps } from '../../deps';
import { addRequests, readUsage, type UsageSubject } from './usage-sql';

const FLUSH_MS = 2_000;

/** Whose requests: a user's, or a project's FEEDBACK keys'. */
export interface CountedSubject {
  type: UsageSubject;
  id: string;
}

type Counts = { requests: number; points: number };

export function createRequestCounter(deps: Deps) {
  // "day|type|id" → counted and not stored yet (by the day the request came, not the day of the write)
  let pending = new Map<string, Counts>();
  // The batch being written: still counted by requestsToday until its totals come back.
  let writing = new Map<string, Counts>();
  // "type|id" → the stored total of `day` as last read or written
  const stored = new Map<string, { day: string; requests: number }>();
  const whose = (s: CountedSubject) => `${s.type}|${s.id}`;
  const keyOf = (day: string, s: CountedSubject) => `${day}|${whose(s)}`;

  async function flushDay(day: string, type: UsageSubject, batch: [string, Counts][]) {
    const rows = await addRequests(
      deps.db.query,
      day,
      type,
      batch.map(([id, c]) => ({ id, ...c })),
    );
    for (const row of rows)
      stored.set(whose({ type, id: row.subject_id }), { day, requests: row.requests });
  }

  // Failing to write (the database is away) is logged when it starts and when it ends, not every 2 s.
  let failing = false;

  async function flush() {
    if (!pending.size) return;
    const batch = pending;
    pending = new Map();
    writing = batch;
    const byDay = new Map<string, [string, Counts][]>();
    for (const [key, counts] of batch) {
      const [day, type, id] = key.split('|');
      const group = `${day}|${type}`;
      byDay.set(group, [...(byDay.get(group) ?? []), [id, counts]]);
    }
    for (const [group, entries] of byDay) {
      const [day, type] = group.split('|') as [string, UsageSubject];
      try {
        await flushDay(day, type, entries);
        if (failing) deps.log.info('request counts stored again');
        failing = false;
      } catch (error) {
        // Kept for the next write rather than lost.
        for (const [id, c] of entries) {
          const key = keyOf(day, { type, id });
          const p = pending.get(key) ?? { requests: 0, points: 0 };
          pending.set(key, { requests: p.requests + c.requests, points: p.points + c.points });
        }
        if (!failing) deps.log.warn({ err: error }, 'could not store request counts; retrying');
        failing = true;
      }
      // Now in `stored` (or back in `pending`): counted once.
      for (const [id] of entries) writing.delete(keyOf(day, { type, id }));
    }
  }

  const timer = setInterval(() => void flush(), FLUSH_MS);
  timer.unref();

  return {
    count(subject: CountedSubject, points: number) {
      const key = keyOf(utcDay(deps.clock.now()), subject);
      const p = pending.get(key) ?? { requests: 0, points: 0 };
      p.requests += 1;
      p.points += points;
      pending.set(key, p);
    },
    /** The subject's requests today, as this process knows them. */
    async requestsToday(subject: CountedSubject): Promise<number> {
      const day = utcDay(deps.clock.now());
      let known = stored.get(whose(subject));
      if (!known || known.day !== day) {
        const row = await readUsage(deps.db.query, subject.type, subject.id, day);
        known = { day, requests: row?.requests ?? 0 };
        stored.set(whose(subject), known);
      }
      const key = keyOf(day, subject);
      return known.requests + (pending.get(key)?.requests ?? 0) + (writing.get(key)?.requests ?? 0);
    },
    /** Counted here and not stored yet. */
    pendingOf(subject: CountedSubject) {
      const p = pending.get(keyOf(utcDay(deps.clock.now()), subject));
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
