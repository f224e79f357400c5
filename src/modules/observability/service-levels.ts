// Counts for the SLOs, per minute and API process, in Postgres (service_minutes) so that
// serviceStatus sums every process: requests, the 5xx among them (availability) and the failed
// ones (5xx or an unexpected error: error rate), queries and those over each latency threshold
// (p95, p99). Each process adds its counts every 10 s. Webhook success is read from the attempts
// table, which every delivery writes.
import { randomUUID } from 'node:crypto';
import type { Deps } from '../../deps';
import { sloWindow, type SloWindow } from './slo';

const FLUSH_MS = 10_000;
const KEEP_DAYS = 8;

interface Counts {
  requests: number;
  unavailable: number;
  errors: number;
  queries: number;
  slowQueries: number;
  slowQueriesP99: number;
}

const ZERO: Counts = {
  requests: 0,
  unavailable: 0,
  errors: 0,
  queries: 0,
  slowQueries: 0,
  slowQueriesP99: 0,
};

/** Burn-rate windows, ending now: the fast and slow windows of the alerts, and a day. */
const WINDOWS = [
  ['1h', 3_600_000],
  ['6h', 21_600_000],
  ['24h', 86_400_000],
] as const;

export interface SloStatus {
  name: string;
  description: string;
  objective: number;
  /** A latency SLO's threshold. */
  thresholdMs: number | null;
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
        `INSERT INTO service_minutes (minute, instance, requests, unavailable, errors, queries, slow_queries, slow_queries_p99)
       SELECT r.minute, $2::uuid, r.requests, r.unavailable, r.errors, r.queries, r."slowQueries", r."slowQueriesP99"
       FROM json_to_recordset($1::json) AS r(minute timestamptz, requests int, unavailable int, errors int, queries int, "slowQueries" int, "slowQueriesP99" int)
       ON CONFLICT (minute, instance) DO UPDATE SET requests = service_minutes.requests + EXCLUDED.requests,
         unavailable = service_minutes.unavailable + EXCLUDED.unavailable,
         errors = service_minutes.errors + EXCLUDED.errors, queries = service_minutes.queries + EXCLUDED.queries,
         slow_queries = service_minutes.slow_queries + EXCLUDED.slow_queries,
         slow_queries_p99 = service_minutes.slow_queries_p99 + EXCLUDED.slow_queries_p99`,
        [JSON.stringify(rows), instance],
      )
      .catch((error) => {
        // Kept for the next flush: a database blip loses no counts.
        for (const [minute, c] of taken) {
          const now = pending.get(minute) ?? ZERO;
          pending.set(
            minute,
            Object.fromEntries(
              (Object.keys(ZERO) as (keyof Counts)[]).map((k) => [k, now[k] + c[k]]),
            ) as unknown as Counts,
          );
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
      unavailable: number;
      errors: number;
      queries: number;
      slow: number;
      slowP99: number;
    }>(
      `SELECT COALESCE(sum(requests), 0)::int AS requests, COALESCE(sum(unavailable), 0)::int AS unavailable,
         COALESCE(sum(errors), 0)::int AS errors, COALESCE(sum(queries), 0)::int AS queries,
         COALESCE(sum(slow_queries), 0)::int AS slow, COALESCE(sum(slow_queries_p99), 0)::int AS "slowP99"
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
    /**
     * One answered request: `unavailable` for a 5xx, `failed` for a 5xx or an unexpected error;
     * `query` with its duration.
     */
    record(answer: { unavailable: boolean; failed: boolean }, query: { ms: number } | null) {
      const minute = Math.floor(deps.clock.now().getTime() / 60_000) * 60_000;
      const c = pending.get(minute) ?? { ...ZERO };
      c.requests += 1;
      if (answer.unavailable) c.unavailable += 1;
      if (answer.failed || answer.unavailable) c.errors += 1;
      if (query) {
        c.queries += 1;
        if (query.ms > slo.queryP95Ms) c.slowQueries += 1;
        if (query.ms > slo.queryP99Ms) c.slowQueriesP99 += 1;
      }
      pending.set(minute, c);
    },
    flush,

    /** Every SLO over the last 1 h, 6 h and day, from every process's counts (this one's flushed first). */
    async status(): Promise<SloStatus[]> {
      await flush();
      const measured = await Promise.all(
        WINDOWS.map(async ([name, ms]) => ({ name, t: await totals(ms) })),
      );
      type Totals = (typeof measured)[number]['t'];
      const objective = (
        name: string,
        description: string,
        target: number,
        thresholdMs: number | null,
        count: (t: Totals) => [good: number, total: number],
      ): SloStatus => ({
        name,
        description,
        objective: target,
        thresholdMs,
        windows: measured.map(({ name, t }) => sloWindow(name, target, ...count(t))),
      });
      return [
        objective(
          'availability',
          'Requests answered without a 5xx.',
          slo.availability,
          null,
          (t) => [t.requests - t.unavailable, t.requests],
        ),
        objective(
          'error_rate',
          `Requests answered without a 5xx or an unexpected error (error rate < ${+(slo.errorRate * 100).toFixed(4)} %).`,
          1 - slo.errorRate,
          null,
          (t) => [t.requests - t.errors, t.requests],
        ),
        objective(
          'query_latency_p95',
          `Queries answered within ${slo.queryP95Ms} ms (p95 < ${slo.queryP95Ms} ms).`,
          0.95,
          slo.queryP95Ms,
          (t) => [t.queries - t.slow, t.queries],
        ),
        objective(
          'query_latency_p99',
          `Queries answered within ${slo.queryP99Ms} ms (p99 < ${slo.queryP99Ms} ms).`,
          0.99,
          slo.queryP99Ms,
          (t) => [t.queries - t.slowP99, t.queries],
        ),
        objective(
          'webhook_success',
          'Webhook delivery attempts answered 2xx.',
          slo.webhookSuccess,
          null,
          (t) => [t.webhooks.good, t.webhooks.total],
        ),
      ];
    },
    close() {
      clearInterval(timer);
      return flush().catch(() => undefined);
    },
  };
}

export type ServiceLevels = ReturnType<typeof createServiceLevels>;
