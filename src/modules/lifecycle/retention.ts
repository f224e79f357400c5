// Retention on the worker pool (docs/ARCHITECTURE.md, "Retention"): each project's traces (with
// their spans and scores) and scores of no trace older than its trace retention, and its finished
// evaluations older than its evaluation retention, are deleted by the business clock in bounded
// batches, one transaction each, through the same deleters as the API's deletions
// (delete-sql.ts). A pass takes one batch per project with expired data, round after round, until
// none is left or its time is up, so one project's backlog neither starves the others nor holds
// the worker's shutdown.
import type { Deps } from '../../deps';
import type { Job } from '../../worker/job';
import { periodicJob } from '../../worker/periodic';
import {
  deleteEvaluationBatch,
  deleteScoresWhere,
  deleteTraceBatch,
  type TakeBack,
} from './delete-sql';

/** Traces per transaction: a few thousand spans, well under a second (as data jobs). */
const TRACE_BATCH = 200;
const SCORE_BATCH = 1_000;
/** Evaluations carry all their items and results: a few per transaction. */
const EVALUATION_BATCH = 5;
/** Longest a pass deletes before it hands back to the pool (which claims again at once). */
const PASS_MS = 5_000;
const DAY_MS = 86_400_000;

/** A project with something past its retention, and how to remove it. */
export interface DueProject {
  id: string;
  /** The project's trace retention, else EVALGRAPH_RETENTION_DAYS; null: traces kept. */
  traceDays: number | null;
  evaluationDays: number | null;
  keepAggregates: boolean;
}

/** A project's trace retention in effect: its own, else EVALGRAPH_RETENTION_DAYS; null: kept. */
export const effectiveTraceDays = (deps: Deps, own: number | null) =>
  own ?? deps.config.lifecycle.retentionDays;

export function createRetention(deps: Deps, invalidate: (projectId: string) => Promise<void>) {
  const db = deps.db;

  /** Keeping aggregates leaves the rollups whole; otherwise what goes leaves them, as a deletion. */
  const takeBack = (p: DueProject): TakeBack =>
    p.keepAggregates
      ? { spans: false, scores: false }
      : { spans: deps.config.rollups.enabled, scores: true };

  /**
   * Projects (not deleted) with data past their retention, by the business clock. One probe per
   * kind on an index: traces (project_id, start_time desc), scores (project_id, scored_at desc),
   * evaluations (project_id, created_at desc). Days of 86,400 s, as the batches' cutoffs.
   */
  const dueProjects = () =>
    db.query<DueProject>(
      `WITH p AS (
         SELECT id, coalesce(trace_retention_days, $2::int) AS trace_days,
           evaluation_retention_days AS evaluation_days, keep_aggregates
         FROM projects WHERE deleted_at IS NULL
           AND (trace_retention_days IS NOT NULL OR $2::int IS NOT NULL
             OR evaluation_retention_days IS NOT NULL))
       SELECT id::text AS id, trace_days AS "traceDays", evaluation_days AS "evaluationDays",
         keep_aggregates AS "keepAggregates"
       FROM p
       WHERE (trace_days IS NOT NULL AND (
           EXISTS (SELECT 1 FROM traces t WHERE t.project_id = p.id
             AND t.start_time < $1::timestamptz - trace_days * interval '86400 seconds')
           OR EXISTS (SELECT 1 FROM scores s WHERE s.project_id = p.id
             AND s.scored_at < $1::timestamptz - trace_days * interval '86400 seconds'
             AND s.trace_id IS NULL AND s.evaluation_item_id IS NULL)))
         OR (evaluation_days IS NOT NULL AND EXISTS (SELECT 1 FROM evaluations e
           WHERE e.project_id = p.id AND e.status NOT IN ('QUEUED', 'RUNNING')
             AND e.created_at < $1::timestamptz - evaluation_days * interval '86400 seconds'))
       ORDER BY p.id`,
      [deps.clock.now(), deps.config.lifecycle.retentionDays],
    );

  /**
   * One batch of one project in one transaction: expired traces first, then expired scores of no
   * trace, then expired evaluations. Scores and evaluations another worker is deleting are skipped
   * (SKIP LOCKED); traces another worker deletes are waited for and found gone. How many rows went
   * (0: nothing left, or another worker took them).
   */
  async function step(p: DueProject): Promise<number> {
    const now = deps.clock.now().getTime();
    const removed = await db.transaction(async (sql) => {
      if (p.traceDays != null) {
        const cutoff = new Date(now - p.traceDays * DAY_MS);
        // Not locked here: deleteTraceBatch takes the locks in the one order every writer shares
        // (a lock taken first in another order could deadlock with ingest or a score writer).
        const ids = await sql<{ id: string }>(
          `SELECT id::text AS id FROM traces WHERE project_id = $1::uuid AND start_time < $2
           ORDER BY start_time LIMIT ${TRACE_BATCH}`,
          [p.id, cutoff],
        );
        if (ids.length) {
          const d = await deleteTraceBatch(
            sql,
            p.id,
            ids.map((r) => r.id),
            takeBack(p),
          );
          return d.traces + d.spans + d.scores;
        }
        // Scores of sessions and the like: evaluation items' scores go with their evaluations.
        const scores = await deleteScoresWhere(
          sql,
          `ctid IN (SELECT ctid FROM scores WHERE project_id = $1::uuid AND scored_at < $2
             AND trace_id IS NULL AND evaluation_item_id IS NULL
             LIMIT ${SCORE_BATCH} FOR UPDATE SKIP LOCKED)`,
          [p.id, cutoff],
          !p.keepAggregates,
        );
        if (scores) return scores;
      }
      if (p.evaluationDays != null) {
        // A queued or running evaluation is left to finish: its runner holds its items.
        const ids = await sql<{ id: string }>(
          `SELECT id::text AS id FROM evaluations WHERE project_id = $1::uuid AND created_at < $2
             AND status NOT IN ('QUEUED', 'RUNNING')
           ORDER BY created_at LIMIT ${EVALUATION_BATCH} FOR UPDATE SKIP LOCKED`,
          [p.id, new Date(now - p.evaluationDays * DAY_MS)],
        );
        if (ids.length) {
          const d = await deleteEvaluationBatch(
            sql,
            p.id,
            ids.map((r) => r.id),
            !p.keepAggregates,
          );
          return d.evaluations + d.scores;
        }
      }
      return 0;
    });
    // What a batch removed is gone from cached answers as soon as it is gone from the tables.
    if (removed) await invalidate(p.id);
    return removed;
  }

  return {
    dueProjects,
    /**
     * One pass: a batch per due project, round after round, until nothing is left, `until` (epoch
     * ms) passes or `signal` aborts. How many rows it removed.
     */
    async pass(until = Date.now() + PASS_MS, signal?: AbortSignal): Promise<number> {
      let due = await dueProjects();
      let removed = 0;
      while (due.length) {
        const more: DueProject[] = [];
        for (const p of due) {
          if (signal?.aborted || Date.now() >= until) return removed;
          const n = await step(p);
          removed += n;
          if (n) more.push(p);
        }
        due = more;
      }
      return removed;
    },
  };
}

export type Retention = ReturnType<typeof createRetention>;

export function createRetentionJob(deps: Deps, retention: Retention): Job<'pass', null> {
  return periodicJob(deps, {
    name: 'retention',
    idleMs: deps.config.lifecycle.retentionMs,
    due: async () => (await retention.dueProjects()).length > 0,
    pass: async (signal) => ({ removed: await retention.pass(Date.now() + PASS_MS, signal) }),
    // A batch in flight commits or rolls back whole; the pass stops before the next.
    onStop: 'abort',
  });
}
