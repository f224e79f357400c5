// Gauges read when Prometheus scrapes: open subscriptions of this process, and the depth and age
// of the work queues (the database is the queue: items ready to grade, webhook deliveries due,
// sampled traces whose rule's delay has passed).
// Queue figures are read at most every 5 s, whatever the scrape rate (readiness shows them too).
import type { Deps } from '../../deps';
import { FINAL_EVENTS, type EvaluationData } from '../events/catalogue';
import type { Events } from '../events/emitter';

const QUEUE_SQL = `
  SELECT 'evaluation_items' AS queue, count(*)::int AS depth, COALESCE(extract(epoch FROM now() - min(next_attempt_at)), 0)::float8 AS age
    FROM evaluation_items WHERE state = 'PENDING' AND next_attempt_at <= now()
  UNION ALL
  SELECT 'webhook_deliveries', count(*)::int, COALESCE(extract(epoch FROM now() - min(next_attempt_at)), 0)::float8
    FROM webhook_deliveries WHERE status = 'PENDING' AND next_attempt_at <= now()
  UNION ALL
  SELECT 'online_evaluation_tasks', count(*)::int, COALESCE(extract(epoch FROM now() - min(due_at)), 0)::float8
    FROM online_evaluation_tasks WHERE state = 'PENDING' AND due_at <= now()`;

export interface QueueLag {
  queue: string;
  depth: number;
  /** Seconds the oldest ready work has waited. */
  age: number;
}

/** The queues' depth and lag, read at most every 5 s (scrapes and readiness checks share it). */
export function createQueueReader(deps: Deps) {
  let read: { at: number; rows: Promise<QueueLag[]> } | null = null;
  return () => {
    if (!read || Date.now() - read.at > 5_000)
      read = { at: Date.now(), rows: deps.db.query<QueueLag>(QUEUE_SQL) };
    return read.rows;
  };
}

export function registerGauges(
  deps: Deps,
  sources: { openSubscriptions: () => number; events: Events; queues: () => Promise<QueueLag[]> },
) {
  const { meters } = deps;
  meters.gauge(
    'evalgraph_active_subscriptions',
    'Subscription streams open in this process, over every transport.',
    [],
    (g) => g.set(sources.openSubscriptions()),
  );
  const queues = () => sources.queues().catch(() => [] as QueueLag[]);
  meters.gauge(
    'evalgraph_queue_depth',
    'Work ready and waiting, by queue (evaluation_items, webhook_deliveries, online_evaluation_tasks).',
    ['queue'],
    async (g) => {
      for (const row of await queues()) g.set({ queue: row.queue }, row.depth);
    },
  );
  meters.gauge(
    'evalgraph_queue_oldest_age_seconds',
    'How long the oldest ready work has waited, by queue.',
    ['queue'],
    async (g) => {
      for (const row of await queues()) g.set({ queue: row.queue }, row.age);
    },
  );

  // Evaluations that end in this process: by status, with their duration (from the event's payload).
  return sources.events.listen((event) => {
    if (!FINAL_EVENTS.has(event.type)) return;
    const e = event.data as EvaluationData;
    meters.evaluationsFinished.inc({ status: e.status });
    if (e.finishedAt)
      meters.evaluationDuration.observe(
        { status: e.status },
        (Date.parse(e.finishedAt) - Date.parse(e.startedAt ?? e.createdAt!)) / 1000,
      );
  });
}
