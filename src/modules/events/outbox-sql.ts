// The webhook outbox: a message per event and a delivery per endpoint (or alert channel) to receive it, written in
// the transaction of the change the event announces, so that what commits is delivered (webhook
// workers read these rows) and what rolls back never is.
import type { Sql } from '../../storage/db';

export interface OutboxRow {
  /** The `webhook-id`: msg_ and 32 hex digits. */
  id: string;
  projectId: string;
  eventType: string;
  /** The body as JSON text. */
  body: string;
  /** When it was written (also its `timestamp`). */
  at: Date;
  /** The endpoints to receive it; null: every enabled endpoint of the project subscribed to `eventType`. */
  endpoints: string[] | null;
  /** Alert channels of the project to receive it too (alert rules name them); null: none. */
  channels?: string[] | null;
  /** An evaluation whose progress this is: sent to an endpoint at most once per its progressIntervalSeconds. */
  progressOf: string | null;
  /** The row the event is about (the catalogue's subjectId): deleting it deletes its messages. */
  subjectId: string;
}

/**
 * Writes the messages that some enabled endpoint is to receive, and their deliveries, in one
 * statement; returns the ids written. The stored payload is the body as jsonb prints it (keys
 * ordered, ", " and ": "): the exact bytes receivers have always been sent and verify.
 * Progress to an endpoint is marked sent in the same statement; the marks of one evaluation are
 * only written by the transaction holding its row, which the change announced holds.
 */
export async function writeOutbox(sql: Sql, rows: OutboxRow[]): Promise<Set<string>> {
  if (!rows.length) return new Set();
  const written = await sql<{ id: string }>(
    `WITH m AS (
       SELECT * FROM json_to_recordset($1::json) AS m(id text, project_id uuid, event_type text, body text, at timestamptz, endpoints uuid[], channels uuid[], progress_of uuid, subject_id uuid)),
     targets AS (
       SELECT m.id AS message_id, e.id AS endpoint_id, NULL::uuid AS channel_id, m.progress_of, m.at
         FROM m JOIN webhook_endpoints e ON e.project_id = m.project_id AND e.enabled
              AND CASE WHEN m.endpoints IS NULL THEN m.event_type = ANY(e.events) ELSE e.id = ANY(m.endpoints) END
         LEFT JOIN webhook_progress_marks k ON k.endpoint_id = e.id AND k.evaluation_id = m.progress_of
        WHERE m.progress_of IS NULL OR k.notified_at IS NULL OR k.notified_at <= m.at - make_interval(secs => e.progress_interval_seconds)
       UNION ALL
       -- Alert channels named by the event, of its own project only.
       SELECT m.id, NULL, c.id, NULL, m.at
         FROM m JOIN alert_channels c ON c.project_id = m.project_id AND c.id = ANY(m.channels)),
     marked AS (
       INSERT INTO webhook_progress_marks (endpoint_id, evaluation_id, notified_at)
       SELECT endpoint_id, progress_of, at FROM targets WHERE progress_of IS NOT NULL
       ON CONFLICT (endpoint_id, evaluation_id) DO UPDATE SET notified_at = EXCLUDED.notified_at),
     messages AS (
       INSERT INTO webhook_messages (id, project_id, event_type, payload, subject_id, created_at)
       SELECT m.id, m.project_id, m.event_type, m.body::jsonb::text, m.subject_id, m.at FROM m WHERE m.id IN (SELECT message_id FROM targets)
       RETURNING id),
     deliveries AS (
       INSERT INTO webhook_deliveries (id, message_id, endpoint_id, channel_id, next_attempt_at, created_at)
       SELECT evalgraph_uuid7(), message_id, endpoint_id, channel_id, clock_timestamp(), clock_timestamp() FROM targets)
     SELECT id FROM messages`,
    [
      JSON.stringify(
        rows.map((r) => ({
          id: r.id,
          project_id: r.projectId,
          event_type: r.eventType,
          body: r.body,
          at: r.at.toISOString(),
          endpoints: r.endpoints,
          channels: r.channels ?? null,
          progress_of: r.progressOf,
          subject_id: r.subjectId,
        })),
      ),
    ],
  );
  return new Set(written.map((r) => r.id));
}

/**
 * Of these projects and event types, the pairs that some enabled endpoint lists: opt-in events
 * (catalogue `optIn`) are written to the outbox only for them, so that a batch of frequent events
 * nobody asked for costs one small query instead of a statement carrying all their bodies.
 */
export async function optedIn(
  sql: Sql,
  projectIds: string[],
  eventTypes: string[],
): Promise<Set<string>> {
  const rows = await sql<{ projectId: string; eventType: string }>(
    `SELECT DISTINCT e.project_id::text AS "projectId", t AS "eventType"
       FROM webhook_endpoints e CROSS JOIN LATERAL unnest(e.events) AS t
      WHERE e.enabled AND e.project_id = ANY($1::uuid[]) AND t = ANY($2::text[])`,
    [projectIds, eventTypes],
  );
  return new Set(rows.map((r) => optInKey(r.projectId, r.eventType)));
}

export const optInKey = (projectId: string, eventType: string) => `${projectId}\u0000${eventType}`;
