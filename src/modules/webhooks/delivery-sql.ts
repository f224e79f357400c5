// The webhook delivery queue: deliveries are rows claimed in batches with a lease (FOR UPDATE SKIP
// LOCKED), so any number of workers share them and a killed worker's deliveries are taken over
// when their leases expire. An outcome is recorded only by the claim that holds the delivery.
import type { Sql } from '../../storage/db';
import { jsonParam } from '../../storage/json-param';
import type { StoredSecret } from './signature';

export interface ClaimedDelivery {
  id: string;
  /** This claim's token: only it records the outcome. */
  token: string;
  attempts: number;
  message_id: string;
  payload: string;
  event_type: string;
  /** A webhook endpoint's delivery: its id, URL and secrets. */
  endpoint_id: string | null;
  url: string | null;
  secrets: StoredSecret[] | null;
  /** An alert channel's delivery (then endpoint_id is null): what to format it for and where. */
  channel_id: string | null;
  channel_type: 'SLACK' | 'PAGERDUTY' | 'EMAIL' | null;
  routing_key: string | null;
  addresses: string[] | null;
  project_id: string;
  project_name: string;
  /** When this worker claimed it (Date.now()): set by the job, not read from the database. */
  claimed_at?: number;
}

/** Whether any delivery is due and free: one cheap statement, so an idle poll takes no lock. */
export async function hasDueDeliveries(sql: Sql): Promise<boolean> {
  const rows = await sql(
    `SELECT 1 FROM webhook_deliveries WHERE status = 'PENDING' AND next_attempt_at <= now()
       AND (lease_expires_at IS NULL OR lease_expires_at < now()) LIMIT 1`,
  );
  return rows.length > 0;
}

/**
 * Claims up to `limit` due deliveries with a lease, oldest first, in one statement. Each endpoint
 * has one sender at a time: the worker whose claim took its deliveries holds the endpoint's lease
 * (renewed with theirs, let go of when it holds none: `idle`), and no other worker claims them
 * meanwhile. The sender keeps the per-endpoint cap on requests in flight itself (the pool's
 * `limitBy`), so it may hold more than the cap, claimed ahead: a place freed under the cap is
 * taken at once by one waiting, not after the outcome's write and a claim's round trip. At most
 * `perClaim` per endpoint per claim, none of the endpoints in `full` (enough of theirs waiting).
 * Two workers claiming at once cannot both take a free endpoint: its row is locked, and checked
 * again on its latest version (a claim committed since this statement's snapshot took it first).
 * Locked FOR NO KEY UPDATE: FOR UPDATE would skip an endpoint a transaction is writing deliveries
 * to (the foreign key's KEY SHARE lock), a busy endpoint's deliveries found only between events.
 * The claim starts from the endpoints with due deliveries (and alert channels, which have no cap
 * and no sender), each giving its oldest from its own index: its cost follows the endpoints and
 * what is claimed, not the backlog behind a slow receiver.
 * A claim lost with its commit (the database crashed before flushing it) only means its
 * deliveries are claimed again: its commit does not wait for the flush.
 */
export async function claimDeliveries(
  sql: Sql,
  claim: { owner: string; leaseMs: number; limit: number; perClaim: number },
  endpoints: { full: string[]; idle: string[] },
): Promise<ClaimedDelivery[]> {
  const { owner, leaseMs, limit, perClaim } = claim;
  // Let go of first (a statement only when there are any): the claim may take them again.
  await letGoOfEndpoints(sql, owner, endpoints.idle);
  if (limit <= 0) return [];
  // A deleted project's messages are not sent while its job removes them: its endpoints and
  // channels are left out (a message goes only to its own project's).
  return sql<ClaimedDelivery>(
    `WITH async AS (
       SELECT set_config('synchronous_commit', 'off', true)
     ), senders AS (
       SELECT e.id FROM webhook_endpoints e JOIN projects p ON p.id = e.project_id AND p.deleted_at IS NULL
        CROSS JOIN LATERAL (
          SELECT d.next_attempt_at FROM webhook_deliveries d
           WHERE d.endpoint_id = e.id AND ${FREE} ORDER BY d.next_attempt_at LIMIT 1) oldest
        WHERE e.enabled AND e.id <> ALL($5::uuid[])
          AND (e.lease_token IS NULL OR e.lease_token = $1::uuid OR e.lease_expires_at < now())
        ORDER BY oldest.next_attempt_at LIMIT $3
          FOR NO KEY UPDATE OF e SKIP LOCKED
     ), candidates AS (
       -- Locked where they are read, from each endpoint's (channel's) own index, and checked
       -- again on their latest version: the plan does not depend on the table's statistics
       -- (a join back to the table, planned on a small table's, read every due delivery).
       SELECT d.id, d.next_attempt_at FROM senders e
        CROSS JOIN LATERAL (
          SELECT d.id, d.next_attempt_at FROM webhook_deliveries d
           WHERE d.endpoint_id = e.id AND ${FREE}
           ORDER BY d.next_attempt_at LIMIT least($3::int, $4::int) FOR UPDATE SKIP LOCKED) d
       UNION ALL
       SELECT d.id, d.next_attempt_at
         FROM alert_channels ch JOIN projects p ON p.id = ch.project_id AND p.deleted_at IS NULL
        CROSS JOIN LATERAL (
          SELECT d.id, d.next_attempt_at FROM webhook_deliveries d
           WHERE d.channel_id = ch.id AND ${FREE}
           ORDER BY d.next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) d
     ), picked AS (
       SELECT id FROM candidates ORDER BY next_attempt_at LIMIT $3
     ), claimed AS (
       UPDATE webhook_deliveries d SET lease_token = $1::uuid, lease_expires_at = now() + $2 * interval '1 millisecond', attempts = d.attempts + 1
         FROM picked WHERE d.id = picked.id
       RETURNING d.id, d.lease_token, d.attempts, d.message_id, d.endpoint_id, d.channel_id
     ), taken AS (
       UPDATE webhook_endpoints e SET lease_token = $1::uuid, lease_expires_at = now() + $2 * interval '1 millisecond'
        WHERE e.id IN (SELECT endpoint_id FROM claimed)
     )
     SELECT c.id::text, c.lease_token::text AS token, c.attempts, c.message_id, m.payload, m.event_type,
            c.endpoint_id::text, COALESCE(e.url, ch.url) AS url, e.secrets,
            c.channel_id::text, ch.type::text AS channel_type, ch.routing_key, ch.addresses,
            m.project_id::text, p.name AS project_name
       FROM claimed c JOIN webhook_messages m ON m.id = c.message_id JOIN projects p ON p.id = m.project_id
       LEFT JOIN webhook_endpoints e ON e.id = c.endpoint_id LEFT JOIN alert_channels ch ON ch.id = c.channel_id
      WHERE (SELECT true FROM async)
      ORDER BY m.created_at`,
    [owner, leaseMs, limit, perClaim, endpoints.full],
  );
}

/** The endpoints this worker holds no delivery of any more: any worker may send to them. */
async function letGoOfEndpoints(sql: Sql, owner: string, idle: string[]) {
  if (!idle.length) return;
  // Locked in id order, as a record locks endpoints: two statements waiting for each other's rows
  // would deadlock. FOR NO KEY UPDATE (what an UPDATE of these columns takes), not FOR UPDATE: that
  // would wait for every transaction writing deliveries to them (the foreign key's KEY SHARE lock),
  // and deadlock with one writing to two of them.
  await sql(
    `UPDATE webhook_endpoints SET lease_token = NULL, lease_expires_at = NULL
      WHERE id IN (SELECT id FROM webhook_endpoints WHERE id = ANY($2::uuid[]) AND lease_token = $1::uuid
                    ORDER BY id FOR NO KEY UPDATE)`,
    [owner, idle],
  );
}

/**
 * Due and free: in a claim's lateral reads, and again on the row it locks (checked on the row's
 * latest version: a delivery another statement leased since the claim's snapshot is skipped).
 */
const FREE = `d.status = 'PENDING' AND d.next_attempt_at <= now() AND (d.lease_expires_at IS NULL OR d.lease_expires_at < now())`;

export interface Outcome {
  deliveryId: string;
  /** The claim's token and attempt number. */
  token: string;
  attempts: number;
  /** null: an alert channel's delivery (no endpoint failure record). */
  endpointId: string | null;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  snippet: string | null;
  /** DELIVERED, or PENDING again at `retryAt`, or FAILED (exhausted, or 410). */
  status: 'DELIVERED' | 'PENDING' | 'FAILED';
  retryAt: Date | null;
  /** Set when the endpoint is to be disabled now (410 Gone). */
  disable: string | null;
}

/**
 * Records a group of attempts in one statement: each delivery's new state (only under this
 * worker's claim), its attempt, and per endpoint its failure record: a success clears it, a 410
 * disables the endpoint, and failures that have lasted `disableAfterMs` disable it too.
 * Returns the ids of the deliveries whose claim was still held (the others were taken over).
 */
export async function recordOutcomes(
  sql: Sql,
  outcomes: Outcome[],
  disableAfterMs: number,
): Promise<Set<string>> {
  const [row] = await sql<{ held: string[] }>(
    `WITH o AS (
       SELECT * FROM json_to_recordset($1::json) AS x(delivery_id uuid, token uuid, attempts int, endpoint_id uuid, status text, retry_at timestamptz, status_code int, latency_ms int, error text, snippet text, disable text)
     ), held AS (
       UPDATE webhook_deliveries d SET status = o.status::"WebhookDeliveryStatus", next_attempt_at = COALESCE(o.retry_at, d.next_attempt_at),
         last_status_code = o.status_code, last_error = o.error, delivered_at = CASE WHEN o.status = 'DELIVERED' THEN now() ELSE d.delivered_at END,
         lease_token = NULL, lease_expires_at = NULL
       FROM o WHERE d.id = o.delivery_id AND d.lease_token = o.token AND d.attempts = o.attempts
       RETURNING d.id, o.endpoint_id, o.status, o.disable
     ), attempts AS (
       INSERT INTO webhook_attempts (id, delivery_id, attempted_at, status_code, latency_ms, error, response_snippet)
       SELECT evalgraph_uuid7(), o.delivery_id, now(), o.status_code, o.latency_ms, o.error, o.snippet FROM o JOIN held ON held.id = o.delivery_id
     ), ep AS (
       SELECT endpoint_id, bool_or(status = 'DELIVERED') AS ok, max(disable) AS gone FROM held GROUP BY endpoint_id
     ), locked AS (
       -- Endpoint rows locked in id order: two workers' groups sharing endpoints cannot deadlock.
       -- Only those whose failure record may change: a healthy endpoint's successes lock nothing.
       -- FOR NO KEY UPDATE: not waiting for (nor deadlocking with) a transaction writing
       -- deliveries to them (the foreign key's KEY SHARE lock).
       SELECT e.id FROM webhook_endpoints e JOIN ep ON ep.endpoint_id = e.id
        WHERE NOT ep.ok OR ep.gone IS NOT NULL OR e.failing_since IS NOT NULL ORDER BY e.id FOR NO KEY UPDATE OF e
     ), endpoints AS (
       UPDATE webhook_endpoints e SET
         failing_since = CASE WHEN ep.ok THEN NULL ELSE COALESCE(e.failing_since, now()) END,
         enabled = e.enabled AND ep.gone IS NULL AND (ep.ok OR e.failing_since IS NULL OR e.failing_since >= now() - $2 * interval '1 millisecond'),
         disabled_reason = CASE
           WHEN NOT e.enabled THEN e.disabled_reason
           WHEN ep.gone IS NOT NULL THEN ep.gone
           WHEN NOT ep.ok AND e.failing_since < now() - $2 * interval '1 millisecond'
             THEN 'every delivery failed since ' || to_char(e.failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
           ELSE e.disabled_reason END,
         disabled_at = CASE
           WHEN e.enabled AND (ep.gone IS NOT NULL OR (NOT ep.ok AND e.failing_since < now() - $2 * interval '1 millisecond')) THEN now()
           ELSE e.disabled_at END
       FROM ep JOIN locked ON locked.id = ep.endpoint_id
       WHERE e.id = ep.endpoint_id AND (NOT ep.ok OR ep.gone IS NOT NULL OR e.failing_since IS NOT NULL)
     )
     SELECT ARRAY(SELECT id::text FROM held) AS held`,
    [
      jsonParam(
        outcomes.map((o) => ({
          delivery_id: o.deliveryId,
          token: o.token,
          attempts: o.attempts,
          endpoint_id: o.endpointId,
          status: o.status,
          retry_at: o.retryAt?.toISOString() ?? null,
          status_code: o.statusCode,
          latency_ms: o.latencyMs,
          error: o.error,
          snippet: o.snippet,
          disable: o.disable,
        })),
      ),
      disableAfterMs,
    ],
  );
  return new Set(row.held);
}

/**
 * Hands claimed deliveries back (a stopping worker, before or while sending them): due again at
 * once for any worker, the attempt neither counted nor logged, since it says nothing about the
 * receiver. Only under each delivery's own claim. Lets go of the `idle` endpoints with them.
 */
export async function releaseDeliveries(
  sql: Sql,
  owner: string,
  claims: { id: string; attempts: number }[],
  idle: string[],
): Promise<void> {
  if (claims.length)
    await sql(
      `UPDATE webhook_deliveries d SET lease_token = NULL, lease_expires_at = NULL, attempts = greatest(d.attempts - 1, 0)
         FROM json_to_recordset($2::json) AS c(id uuid, attempts int)
        WHERE d.id = c.id AND d.lease_token = $1::uuid AND d.attempts = c.attempts AND d.status = 'PENDING'`,
      [owner, JSON.stringify(claims)],
    );
  await letGoOfEndpoints(sql, owner, idle);
}

/**
 * Renews the leases of the deliveries held (waiting behind their endpoint's cap, or sending) and
 * of their endpoints. Returns the endpoints among them this worker may no longer send to: taken
 * over after its lease lapsed, disabled, deleted, or of a deleted project.
 * A lease is renewed in the second half of its term only (what is sent within moments never is,
 * and a busy endpoint's claims renew its lease), and this statement never waits for a row lock
 * (SKIP LOCKED: a row being recorded or claimed is renewed at the next check). It ran beside the
 * claim and the record: locking their rows made the claim find nothing (it skips locked endpoints),
 * and deadlocked with the record (both updating the same deliveries in their own orders). Rows are
 * locked FOR NO KEY UPDATE, as an UPDATE locks them: FOR UPDATE would also skip an endpoint that a
 * transaction is writing deliveries to (the foreign key's KEY SHARE lock), its lease left to lapse.
 */
export async function renewLeases(
  sql: Sql,
  owner: string,
  leaseMs: number,
  claims: { id: string; attempts: number; endpoint_id: string | null }[],
): Promise<Set<string>> {
  const endpoints = [...new Set(claims.flatMap((c) => (c.endpoint_id ? [c.endpoint_id] : [])))];
  const rows = await sql<{ id: string }>(
    `WITH renewed AS (
       UPDATE webhook_deliveries SET lease_expires_at = now() + $2 * interval '1 millisecond'
        WHERE id IN (
          SELECT d.id FROM webhook_deliveries d JOIN json_to_recordset($3::json) AS c(id uuid, attempts int) ON d.id = c.id
           WHERE d.lease_token = $1::uuid AND d.attempts = c.attempts AND d.status = 'PENDING'
             AND d.lease_expires_at < now() + $2 / 2 * interval '1 millisecond'
             FOR NO KEY UPDATE OF d SKIP LOCKED)
     ), senders AS (
       SELECT e.id FROM webhook_endpoints e JOIN projects p ON p.id = e.project_id
        WHERE e.id = ANY($4::uuid[]) AND e.lease_token = $1::uuid AND e.enabled AND p.deleted_at IS NULL
     ), extended AS (
       UPDATE webhook_endpoints SET lease_expires_at = now() + $2 * interval '1 millisecond'
        WHERE id IN (
          SELECT e.id FROM webhook_endpoints e JOIN senders s ON s.id = e.id
           WHERE e.lease_token = $1::uuid AND e.lease_expires_at < now() + $2 / 2 * interval '1 millisecond'
             FOR NO KEY UPDATE OF e SKIP LOCKED)
     )
     SELECT id::text FROM unnest($4::uuid[]) AS held(id) WHERE id NOT IN (SELECT id FROM senders)`,
    [
      owner,
      leaseMs,
      JSON.stringify(claims.map(({ id, attempts }) => ({ id, attempts }))),
      endpoints,
    ],
  );
  return new Set(rows.map((r) => r.id));
}
