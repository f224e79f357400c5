// Data jobs: deletions too large for one transaction, carried out in bounded batches. A job is a
// row of data_jobs; whoever holds its lease (the call that made it, while it has time, then any
// worker) deletes one batch per transaction, and the same transaction adds the batch's counts and
// renews the lease under the holder's token, so a kill loses at most a batch that never committed
// and a late holder writes nothing. The rows a job deletes are chosen again for every batch (what
// matched when the job was made and is still there), newest first after the last batch's last
// trace (a keyset kept in the job's target): a batch reads from where the last one ended, not
// through the rows (or the dead index entries) the batches before deleted, and a job taken over
// resumes where it was. At the keyset's end the job reads once more from the top (a trace's start
// may have moved past the keyset) and is done only when that finds none.
import { randomUUID } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { Deps } from '../../deps';
import type { Sql } from '../../storage/db';
import { topics } from '../events/catalogue';
import { traceFilterSql, type TraceListFilter } from '../traces/read-sql';
import { refreshTraces } from '../traces/ingest-sql';
import {
  deleteScoresWhere,
  deleteSpansWhere,
  deleteTraceBatch,
  type Deleted,
  type TakeBack,
} from './delete-sql';

export type DataJobKind = 'TRACES' | 'END_USER' | 'PROJECT';
export type DataJobStatus = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

/**
 * What a job deletes: traces by id or by filter, an end user's data, or a whole project; and how
 * far its batches have gone (`after`: the last trace deleted, by start time then id, newest first).
 */
export type DataJobTarget = (
  | { traceIds: string[] }
  | { filter: TraceListFilter }
  | { userId: string; prepared?: boolean }
  | Record<string, never>
) & { after?: { startTime: string; id: string } };

export interface DataJobRow {
  id: string;
  projectId: string;
  kind: DataJobKind;
  status: DataJobStatus;
  target: DataJobTarget;
  tracesMatched: number;
  tracesDeleted: number;
  spansDeleted: number;
  scoresDeleted: number;
  otherDeleted: number;
  error: string | null;
  attempts: number;
  requestedBy: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

/** A job claimed by this process: its row and the token its batches write under. */
export interface HeldDataJob {
  job: DataJobRow;
  token: string;
}

/** Traces per batch: a batch of a few thousand spans commits in well under a second. */
const BATCH = 200;
/** A job whose batches failed this often (a minute apart and more) is FAILED. */
const FAILURES = 5;

const COLUMNS = `id::text AS "id", project_id::text AS "projectId", kind, status, target,
  traces_matched AS "tracesMatched", traces_deleted AS "tracesDeleted", spans_deleted AS "spansDeleted",
  scores_deleted AS "scoresDeleted", other_deleted AS "otherDeleted", error, attempts,
  requested_by::text AS "requestedBy", created_at AS "createdAt", updated_at AS "updatedAt",
  finished_at AS "finishedAt"`;

/** The lease was lost (another holder took the job after ours expired): stop without writing. */
class LeaseLost extends Error {}

/** The traces a job deletes (`t`): what it named or matched and made before the job, after its keyset. */
function tracesOf(job: DataJobRow): { where: string; params: unknown[] } {
  const params: unknown[] = [];
  const cutoff = () => `t.created_at <= $${params.push(job.createdAt)}`;
  const t = job.target;
  let where: string;
  if (job.kind === 'PROJECT') {
    params.push(job.projectId);
    where = 't.project_id = $1::uuid';
  } else if ('traceIds' in t) {
    params.push(job.projectId);
    where = `t.project_id = $1::uuid AND t.id = ANY($${params.push(t.traceIds)}::uuid[])`;
  } else if ('filter' in t) {
    where = `${traceFilterSql(job.projectId, t.filter, params)} AND ${cutoff()}`;
  } else if ('userId' in t) {
    params.push(job.projectId);
    where = `t.project_id = $1::uuid AND t.user_id = $${params.push(t.userId)} AND ${cutoff()}`;
  } else throw new Error(`data job ${job.id} has no target`);
  // Newest first. A trace's start moves earlier with a late span (it stays ahead of the keyset),
  // but later too (a span sent again with a later start, its earliest span deleted): past the
  // keyset, so `step` reads once more from the top before the job is done.
  if (t.after)
    where += ` AND (t.start_time, t.id) < ($${params.push(t.after.startTime)}::timestamptz, $${params.push(t.after.id)}::uuid)`;
  return { where, params };
}

/** The next batch of a job's traces, newest first, with the keyset each leaves. */
function batchOf(job: DataJobRow) {
  const { where, params } = tracesOf(job);
  // The keyset's start time in UTC ISO form: read back the same whatever a session's DateStyle
  // or TimeZone, with the microseconds a Date would drop.
  return {
    text: `SELECT t.id::text AS id,
             to_char(t.start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "startTime"
           FROM traces t WHERE ${where} ORDER BY t.start_time DESC, t.id DESC LIMIT ${BATCH}`,
    params,
  };
}

/**
 * What a project's deletion removes after its traces, one bounded statement each until none is
 * left, then the project's row (whose cascade then finds little: memberships, keys, settings).
 */
const PROJECT_TABLES = [
  'evaluations',
  'datasets',
  'scores',
  'span_rollups',
  'score_rollups',
  'webhook_messages',
  'alert_events',
  'span_text_queue',
];

export function createDataJobs(deps: Deps, invalidate: (projectId: string) => Promise<void>) {
  const db = deps.db;
  // The lease of all claimed work (EVALGRAPH_EVAL_LEASE_MS): it outlives a slow batch, and the
  // pool renews a held job's every quarter of it.
  const leaseMs = deps.config.evaluations.leaseMs;
  const leaseSql = `now() + interval '${leaseMs} milliseconds'`;

  const takeBack = (job: DataJobRow): TakeBack =>
    job.kind === 'PROJECT'
      ? { spans: false, scores: false }
      : { spans: deps.config.rollups.enabled, scores: true };

  /** Before an end user's traces go: what refers to them from outside the traces. */
  async function prepareEndUser(sql: Sql, job: DataJobRow, userId: string) {
    const params = [job.projectId, userId];
    // Scores they gave, and scores of their sessions (sessions have no table: a session is theirs
    // when one of their traces names it).
    const scores = await deleteScoresWhere(
      sql,
      `project_id = $1::uuid AND (user_id = $2 OR session_id IN (
         SELECT DISTINCT session_id FROM traces WHERE project_id = $1::uuid AND user_id = $2 AND session_id IS NOT NULL))`,
      params,
    );
    // Dataset items copied from their spans, with every version of them; and the items of
    // evaluations that copied their text from those spans or items, emptied (the runs keep their
    // counts and scores, not the text) with their graders' reasoning, which may quote it.
    const [{ n }] = await sql<{ n: number }>(
      `WITH theirs AS (SELECT s.id FROM spans s WHERE s.project_id = $1::uuid AND (s.user_id = $2
         OR s.trace_id IN (SELECT id FROM traces WHERE project_id = $1::uuid AND user_id = $2))),
       items AS (DELETE FROM dataset_items di USING datasets d
         WHERE di.dataset_id = d.id AND d.project_id = $1::uuid AND di.source_span_id IN (SELECT id FROM theirs)
         RETURNING di.id),
       emptied AS (UPDATE evaluation_items ei SET input = 'null'::jsonb, expected_output = NULL,
           output = NULL, contexts = '{}', metadata = NULL
         FROM evaluations e WHERE e.id = ei.evaluation_id AND e.project_id = $1::uuid
           AND (ei.source_span_id IN (SELECT id FROM theirs) OR ei.dataset_item_id IN (SELECT id FROM items))
         RETURNING ei.id),
       reasons AS (UPDATE evaluation_results r SET reasoning = NULL
         WHERE r.evaluation_item_id IN (SELECT id FROM emptied) RETURNING 1)
       SELECT ((SELECT count(*) FROM items) + (SELECT count(*) FROM emptied))::int AS n`,
      params,
    );
    // Their spans in traces of someone else (a trace's user is its first span's): those spans go
    // with their scores, and the traces' totals are computed again from what is left. One scan of
    // the project's spans (no index on an end user's spans), once per erasure.
    const stray = await deleteSpansWhere(
      sql,
      `project_id = $1::uuid AND user_id = $2 AND trace_id IN (
         SELECT id FROM traces WHERE project_id = $1::uuid AND user_id IS DISTINCT FROM $2)`,
      params,
      takeBack(job),
    );
    if (stray.traceIds.length) await refreshTraces(sql, stray.traceIds);
    return { scores: scores + stray.scores, spans: stray.spans, other: n };
  }

  /** One more statement of a project's deletion after its traces; false when nothing was left. */
  async function removeProjectRows(sql: Sql, projectId: string): Promise<number> {
    for (const table of PROJECT_TABLES) {
      // An evaluation or a dataset takes its items (and results, versions) with it.
      const limit = table === 'evaluations' || table === 'datasets' ? 5 : 5_000;
      const rows = await sql<{ n: number }>(
        `WITH gone AS (DELETE FROM ${table} WHERE ctid IN (
           SELECT ctid FROM ${table} WHERE project_id = $1::uuid LIMIT ${limit}) RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [projectId],
      );
      if (rows[0].n) return rows[0].n;
    }
    await sql(`DELETE FROM projects WHERE id = $1::uuid`, [projectId]);
    return 0;
  }

  /** One batch in one transaction; true when the job is done. */
  async function step(held: HeldDataJob): Promise<boolean> {
    const { job, token } = held;
    const counts: Deleted & { other: number } = { traces: 0, spans: 0, scores: 0, other: 0 };
    let done = false;
    await db.transaction(async (sql) => {
      const lease = await sql(
        `UPDATE data_jobs SET lease_expires_at = ${leaseSql}
         WHERE id = $1::uuid AND lease_token = $2::uuid AND status = 'RUNNING' RETURNING 1`,
        [job.id, token],
      );
      if (!lease.length) throw new LeaseLost();
      const t = job.target;
      if (job.kind === 'END_USER' && 'userId' in t && !t.prepared) {
        const found = await prepareEndUser(sql, job, t.userId);
        counts.scores += found.scores;
        counts.spans += found.spans;
        counts.other += found.other;
        t.prepared = true;
      } else {
        const batch = () => {
          const { text, params } = batchOf(job);
          return sql<{ id: string; startTime: string }>(text, params);
        };
        let rows = await batch();
        // The keyset's end: once more from the top, for a trace whose start moved past it.
        if (!rows.length && t.after) {
          delete t.after;
          rows = await batch();
        }
        const ids = rows.map((r) => r.id);
        if (ids.length) {
          Object.assign(counts, await deleteTraceBatch(sql, job.projectId, ids, takeBack(job)));
          t.after = rows.at(-1)!;
        } else if (job.kind === 'PROJECT')
          counts.other = await removeProjectRows(sql, job.projectId);
        done = !ids.length && !counts.other;
      }
      const rows = await sql<DataJobRow>(
        `UPDATE data_jobs SET traces_deleted = traces_deleted + $2, spans_deleted = spans_deleted + $3,
           scores_deleted = scores_deleted + $4, other_deleted = other_deleted + $5, target = $6::jsonb,
           updated_at = now(), status = CASE WHEN $7 THEN 'SUCCEEDED'::"DataJobStatus" ELSE status END,
           finished_at = CASE WHEN $7 THEN now() END,
           lease_token = CASE WHEN $7 THEN NULL ELSE lease_token END,
           lease_expires_at = CASE WHEN $7 THEN NULL ELSE lease_expires_at END
         WHERE id = $1::uuid RETURNING ${COLUMNS}`,
        [job.id, counts.traces, counts.spans, counts.scores, counts.other, JSON.stringify(t), done],
      );
      held.job = rows[0];
    });
    // What a batch deleted is gone from cached answers as soon as it is gone from the tables.
    if (counts.traces || counts.scores || counts.other || done) await invalidate(job.projectId);
    return done;
  }

  /** After a batch failed: tried again later under a new claim, or FAILED after ATTEMPTS. */
  async function failed(held: HeldDataJob, error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    const rows = await db.query<DataJobRow>(
      `UPDATE data_jobs SET lease_token = NULL, updated_at = now(), error = $3, failures = failures + 1,
         status = CASE WHEN failures + 1 >= ${FAILURES} THEN 'FAILED'::"DataJobStatus" ELSE status END,
         finished_at = CASE WHEN failures + 1 >= ${FAILURES} THEN now() END,
         lease_expires_at = CASE WHEN failures + 1 >= ${FAILURES} THEN NULL
           ELSE now() + (failures + 1) * interval '1 minute' END
       WHERE id = $1::uuid AND lease_token = $2::uuid RETURNING ${COLUMNS}`,
      [held.job.id, held.token, message.slice(0, 1_000)],
    );
    if (rows[0]) held.job = rows[0];
    deps.log.warn({ err: error, dataJob: held.job.id }, 'data job batch failed');
  }

  return {
    leaseMs,
    /**
     * Makes a job in the caller's transaction, held by the caller (run it with `run`, then
     * `release` what is left for the workers). Counts the traces it matches now (unless told).
     */
    async create(
      sql: Sql,
      input: {
        projectId: string;
        kind: DataJobKind;
        target: DataJobTarget;
        requestedBy: string | null;
        /** The traces it matches, when the caller has read them already (deleteTraces by ids). */
        matched?: number;
      },
    ): Promise<HeldDataJob> {
      const token = randomUUID();
      const [job] = await sql<DataJobRow>(
        `INSERT INTO data_jobs (id, project_id, kind, status, target, requested_by, lease_token,
           lease_expires_at, attempts, created_at, updated_at)
         VALUES ($1::uuid, $2::uuid, $3::"DataJobKind", 'RUNNING', $4::jsonb, $5::uuid, $6::uuid,
           ${leaseSql}, 1, now(), now())
         RETURNING ${COLUMNS}`,
        [
          uuidv7(),
          input.projectId,
          input.kind,
          JSON.stringify(input.target),
          input.requestedBy,
          token,
        ],
      );
      let n = input.matched;
      if (n === undefined) {
        const { where, params } = tracesOf(job);
        [{ n }] = await sql<{ n: number }>(
          `SELECT count(*)::int AS n FROM traces t WHERE ${where}`,
          params,
        );
      }
      await sql(`UPDATE data_jobs SET traces_matched = $2 WHERE id = $1::uuid`, [job.id, n]);
      return { job: { ...job, tracesMatched: n }, token };
    },

    /**
     * Deletes batch after batch until the job is done, `until` (epoch ms) passes or `signal`
     * aborts. Resolves with the job as it stands; a failed batch is recorded (`failed`), not thrown.
     */
    async run(held: HeldDataJob, until = Infinity, signal?: AbortSignal): Promise<DataJobRow> {
      try {
        while (!(await step(held))) {
          if (Date.now() >= until || signal?.aborted) break;
          // Between batches, what waits for the database goes first: the embedded database runs
          // one statement at a time on this event loop, and ingest must not wait for a deletion.
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      } catch (error) {
        if (!(error instanceof LeaseLost)) await failed(held, error);
      }
      return held.job;
    },

    /**
     * A FAILED job back to the workers, to resume where it stopped (what it deleted stays
     * counted; its failures start again from none). Null when it is not FAILED: of concurrent
     * calls, one requeues it.
     */
    async retry(sql: Sql, id: string): Promise<DataJobRow | null> {
      const [job] = await sql<DataJobRow>(
        `UPDATE data_jobs SET status = 'RUNNING', error = NULL, failures = 0, finished_at = NULL,
           lease_token = NULL, lease_expires_at = NULL, updated_at = now()
         WHERE id = $1::uuid AND status = 'FAILED' RETURNING ${COLUMNS}`,
        [id],
      );
      return job ?? null;
    },

    /** Hands a job not done back to the workers at once (and wakes them). */
    async release(held: HeldDataJob) {
      await db.query(
        `UPDATE data_jobs SET lease_token = NULL, lease_expires_at = NULL
         WHERE id = $1::uuid AND lease_token = $2::uuid AND status = 'RUNNING'`,
        [held.job.id, held.token],
      );
      deps.pubsub.publish(topics.dataJobWork, {});
    },

    /** Takes up to `limit` jobs whose lease is free or expired (a killed holder's). */
    async claim(limit: number): Promise<HeldDataJob[]> {
      const token = randomUUID();
      const rows = await db.query<DataJobRow>(
        `UPDATE data_jobs j SET lease_token = $2::uuid, attempts = attempts + 1, status = 'RUNNING',
           lease_expires_at = ${leaseSql}
         WHERE id IN (SELECT id FROM data_jobs WHERE status IN ('PENDING', 'RUNNING')
           AND (lease_expires_at IS NULL OR lease_expires_at < now())
           ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING ${COLUMNS}`,
        [limit, token],
      );
      return rows.map((job) => ({ job, token }));
    },

    /** Keeps the held jobs' leases (the pool calls it while they run). */
    async renew(held: HeldDataJob[]) {
      for (const h of held)
        await db.query(
          `UPDATE data_jobs SET lease_expires_at = ${leaseSql}
           WHERE id = $1::uuid AND lease_token = $2::uuid`,
          [h.job.id, h.token],
        );
    },
  };
}

export type DataJobs = ReturnType<typeof createDataJobs>;
