// Requests and cost points per user and UTC day. Counted in process and added to usage_counters
// every couple of seconds in one statement (a write per request would cost more than most
// requests); what a process knows of a user's day is the stored total as of its last write plus
// what it has counted since, so a daily request quota holds across processes within one flush.
import type { Deps } from '../../deps';

const FLUSH_MS = 2_000;
const dayOf = (now: Date) => now.toISOString().slice(0, 10);

export function createRequestCounter(deps: Deps) {
  let pending = new Map<string, { requests: number; points: number }>();
  // userId → the stored total of `day` as last read or written
  const stored = new Map<string, { day: string; requests: number }>();

  async function flush() {
    if (!pending.size) return;
    const batch = pending;
    pending = new Map();
    const day = dayOf(deps.clock.now());
    const ids = [...batch.keys()];
    try {
      const rows = await deps.db.query<{ subject_id: string; requests: number }>(
        `INSERT INTO usage_counters (id, subject_type, subject_id, day, requests, cost_points)
         SELECT gen_random_uuid(), 'USER', u.id, $1::date, u.requests, u.points FROM unnest($2::uuid[], $3::int[], $4::bigint[]) AS u(id, requests, points)
         ON CONFLICT (subject_type, subject_id, day) DO UPDATE SET requests = usage_counters.requests + EXCLUDED.requests, cost_points = usage_counters.cost_points + EXCLUDED.cost_points
         RETURNING subject_id::text, requests`,
        [day, ids, ids.map((id) => batch.get(id)!.requests), ids.map((id) => batch.get(id)!.points)],
      );
      for (const row of rows) stored.set(row.subject_id, { day, requests: row.requests });
    } catch (error) {
      // Kept for the next write rather than lost.
      for (const [id, c] of batch) {
        const p = pending.get(id) ?? { requests: 0, points: 0 };
        pending.set(id, { requests: p.requests + c.requests, points: p.points + c.points });
      }
      deps.log.warn({ err: error }, 'could not store request counts; retrying');
    }
  }

  const timer = setInterval(() => void flush(), FLUSH_MS);
  timer.unref();

  return {
    count(userId: string, points: number) {
      const p = pending.get(userId) ?? { requests: 0, points: 0 };
      p.requests += 1;
      p.points += points;
      pending.set(userId, p);
    },
    /** The user's requests today, as this process knows them. */
    async requestsToday(userId: string): Promise<number> {
      const day = dayOf(deps.clock.now());
      let known = stored.get(userId);
      if (!known || known.day !== day) {
        const [row] = await deps.db.query<{ requests: number }>(`SELECT requests FROM usage_counters WHERE subject_type = 'USER' AND subject_id = $1::uuid AND day = $2::date`, [userId, day]);
        known = { day, requests: row?.requests ?? 0 };
        stored.set(userId, known);
      }
      return known.requests + (pending.get(userId)?.requests ?? 0);
    },
    /** Counted here and not stored yet. */
    pendingOf: (userId: string) => ({ requests: pending.get(userId)?.requests ?? 0, points: pending.get(userId)?.points ?? 0 }),
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

export type RequestCounter = ReturnType<typeof createRequestCounter>;
