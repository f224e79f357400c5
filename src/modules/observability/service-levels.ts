// Counts for the SLOs, per minute and API process, in Postgres (service_minutes) so that
// serviceStatus sums every process: requests and their failures (5xx, unexpected errors) for
// availability, queries and the slow ones for latency. Each process adds its counts every 10 s.
// Webhook success is read from the attempts table, which every delivery writes.
import { randomUUID } from 'node:crypto';
import type { Deps } from '../../deps';
import { sloWindow, type SloWindow } from './slo';

const FLUSH_MS = 10_000;
const KEEP_DAYS = 8;

interface Counts {
  requests: number;
  errors: number;
  queries: number;
  slowQueries: number;
}

export interface SloStatus {
  name: string;
  description: string;
  objective: number;
  windows: SloWindow[];
}

export function createServiceLevels(deps: Deps) {
  const instance = randomUUID();
  const slo = deps.config.slo;
  let pending = new Map<number, Counts>();
  let flushes = 0;

  async function flush() {
    if (!pending.size) return;
    const taken = pending;
    pending = new Map();
    const rows = [...taken].map(([minute, c]) => ({
      minute: new Date(minute).toISOString(),
      ...c,
    }));
    await deps.db
      .query(
        `INSERT INTO service_minutes (minute, instance, requests, errors, queries, slow_queries)
       SELECT r.minute, $2::uuid, r.requests, r.errors, r.queries, r."slowQueries"
       FROM json_to_recordset($1::json) AS r(minute timestamptz, requests int, errors int, queries int, "slowQueries" int)
       ON CONFLICT (minute, instance) DO UPDATE SET requests = service_minutes.requests + EXCLUDED.requests,
         errors = service_minutes.errors + EXCLUDED.errors, queries = service_minutes.queries + EXCLUDED.queries,
         slow_queries = service_minutes.slow_queries + EXCLUDED.slow_queries`,
        [JSON.stringify(rows), instance],
      )
      .catch((error) => {
        // Kept for the next flush: a database blip loses no counts.
        for (const [minute, c] of taken) {
          const now = pending.get(minute) ?? { requests: 0, errors: 0, queries: 0, slowQueries: 0 };
          pending.set(minute, {
            requests: now.requests + c.requests,
            errors: now.errors + c.errors,
            queries: now.queries + c.queries,
            slowQueries: now.slowQueries + c.slowQueries,
          });
        }
        throw error;
      });
    if (++flushes % 360 === 1)
      await deps.db.query(`DELETE FROM service_minutes WHERE minute < $1`, [
        new Date(deps.clock.now().getTime() - KEEP_DAYS * 86_400_000),
      ]);
  }

  const timer = setInterval(
    () =>
      void flush().catch((error) => deps.log.warn({ err: error }, 'could not store SLO counts')),
    FLUSH_MS,
  );
  timer.unref();

  async function totals(sinceMs: number) {
    const since = new Date(deps.clock.now().getTime() - sinceMs);
    const [requests] = await deps.db.query<{
      requests: number;
      errors: number;
      queries: number;
      slow: number;
    }>(
      `SELECT COALESCE(sum(requests), 0)::int AS requests, COALESCE(sum(errors), 0)::int AS errors, COALESCE(sum(queries), 0)::int AS queries, COALESCE(sum(slow_queries), 0)::int AS slow
       FROM service_minutes WHERE minute >= date_trunc('minute', $1::timestamptz)`,
      [since],
    );
    const [webhooks] = await deps.db.query<{ total: number; good: number }>(
      `SELECT count(*)::int AS total, (count(*) FILTER (WHERE status_code BETWEEN 200 AND 299))::int AS good FROM webhook_attempts WHERE attempted_at >= $1`,
      [since],
    );
    return { ...requests, webhooks };
  }

  return {
    /** One answered request: `failed` for a 5xx or an unexpected error; `query` with its duration. */
    record(failed: boolean, query: { ms: number } | null) {
      const minute = Math.floor(deps.clock.now().getTime() / 60_000) * 60_000;
      const c = pending.get(minute) ?? { requests: 0, errors: 0, queries: 0, slowQueries: 0 };
      c.requests += 1;
      if (failed) c.errors += 1;
      if (query) {
        c.queries += 1;
        if (query.ms > slo.queryLatencyMs) c.slowQueries += 1;
      }
      pending.set(minute, c);
    },
    flush,

    /** Every SLO over the last hour and day, from every process's counts (this one's flushed first). */
    async status(): Promise<SloStatus[]> {
      await flush();
      const windows = [
        ['1h', 3_600_000],
        ['24h', 86_400_000],
      ] as const;
      const measured = await Promise.all(
        windows.map(async ([name, ms]) => ({ name, t: await totals(ms) })),
      );
      return [
        {
          name: 'availability',
          description: 'Requests answered without a 5xx or an unexpected error.',
          objective: slo.availability,
          windows: measured.map(({ name, t }) =>
            sloWindow(name, slo.availability, t.requests - t.errors, t.requests),
          ),
        },
        {
          name: 'query_latency',
          description: `Queries answered within ${slo.queryLatencyMs} ms (p${Math.round(slo.queryLatencyTarget * 100)} < ${slo.queryLatencyMs} ms).`,
          objective: slo.queryLatencyTarget,
          windows: measured.map(({ name, t }) =>
            sloWindow(name, slo.queryLatencyTarget, t.queries - t.slow, t.queries),
          ),
        },
        {
          name: 'webhook_success',
          description: 'Webhook delivery attempts answered 2xx.',
          objective: slo.webhookSuccess,
          windows: measured.map(({ name, t }) =>
            sloWindow(name, slo.webhookSuccess, t.webhooks.good, t.webhooks.total),
          ),
        },
      ];
    },
    close() {
      clearInterval(timer);
      return flush().catch(() => undefined);
    },
  };
}

export type ServiceLevels = ReturnType<typeof createServiceLevels>;
