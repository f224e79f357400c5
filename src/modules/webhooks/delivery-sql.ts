// The webhook delivery queue: deliveries are rows claimed in batches with a lease (FOR UPDATE SKIP
// LOCKED), so any number of workers share them and a killed worker's deliveries are taken over
// when their leases expire. An outcome is recorded only by the claim that holds the delivery.
import type { Sql } from '../../storage/db';
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
  project_name: string;
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
 * Claims up to `limit` due deliveries with a lease, oldest first, at most `perEndpoint` in flight
 * per endpoint (counting those any worker holds): one slow receiver holds that many slots, not
 * every slot of every worker. The claim starts from the endpoints (and alert channels, which have
 * no cap), not from the deliveries: each endpoint with room gives its oldest due deliveries, as
 * many as it has room for, read from its own index. Its cost follows the endpoints and what is
 * claimed, not the backlog: a scan of the due deliveries would read every delivery of the
 * endpoints at their cap (thousands behind a slow receiver) on every claim.
 * `sql` is a transaction's: the claim takes a transaction-scoped advisory lock first, and reads in
 * a statement after it (a snapshot that sees the claims committed before): two workers claiming at
 * once would each see the same deliveries in flight, and both fill the cap.
 */
export async function claimDeliveries(
  sql: Sql,
  token: string,
  leaseMs: number,
  limit: number,
  perEndpoint: number,
): Promise<ClaimedDelivery[]> {
  if (limit <= 0) return [];
  await sql(`SELECT pg_advisory_xact_lock(${CLAIM_LOCK})`);
  // A deleted project's messages are not sent while its job removes them: its endpoints and
  // channels are left out (a message goes only to its own project's).
  return sql<ClaimedDelivery>(
    `WITH busy AS (
       SELECT endpoint_id, count(*) AS n FROM webhook_deliveries
        WHERE status = 'PENDING' AND lease_expires_at >= now() AND endpoint_id IS NOT NULL
        GROUP BY endpoint_id
     ), candidates AS (
       SELECT d.id, d.next_attempt_at
         FROM webhook_endpoints e JOIN projects p ON p.id = e.project_id AND p.deleted_at IS NULL
         LEFT JOIN busy b ON b.endpoint_id = e.id
        CROSS JOIN LATERAL (
          SELECT d.id, d.next_attempt_at FROM webhook_deliveries d
           WHERE d.endpoint_id = e.id AND d.status = 'PENDING' AND d.next_attempt_at <= now()
             AND (d.lease_expires_at IS NULL OR d.lease_expires_at < now())
           ORDER BY d.next_attempt_at LIMIT least($4 - COALESCE(b.n, 0), $3)) d
        WHERE e.enabled AND COALESCE(b.n, 0) < $4
       UNION ALL
       SELECT d.id, d.next_attempt_at
         FROM alert_channels ch JOIN projects p ON p.id = ch.project_id AND p.deleted_at IS NULL
        CROSS JOIN LATERAL (
          SELECT d.id, d.next_attempt_at FROM webhook_deliveries d
           WHERE d.channel_id = ch.id AND d.status = 'PENDING' AND d.next_attempt_at <= now()
             AND (d.lease_expires_at IS NULL OR d.lease_expires_at < now())
           ORDER BY d.next_attempt_at LIMIT $3) d
     ), picked AS (
       SELECT d.id FROM webhook_deliveries d JOIN candidates c ON c.id = d.id
        WHERE ${FREE}
        ORDER BY c.next_attempt_at LIMIT $3 FOR UPDATE OF d SKIP LOCKED
     ), claimed AS (
       UPDATE webhook_deliveries d SET lease_token = $1::uuid, lease_expires_at = now() + $2 * interval '1 millisecond', attempts = d.attempts + 1
         FROM picked WHERE d.id = picked.id
       RETURNING d.id, d.lease_token, d.attempts, d.message_id, d.endpoint_id, d.channel_id
     )
     ${CLAIMED_ROWS}`,
    [token, leaseMs, limit, perEndpoint],
  );
}

/** What a claim returns: the deliveries of the `claimed` CTE, with what sending them needs. */
const CLAIMED_ROWS = `SELECT c.id::text, c.lease_token::text AS token, c.attempts, c.message_id, m.payload, m.event_type,
            c.endpoint_id::text, COALESCE(e.url, ch.url) AS url, e.secrets,
            c.channel_id::text, ch.type::text AS channel_type, ch.routing_key, ch.addresses, p.name AS project_name
       FROM claimed c JOIN webhook_messages m ON m.id = c.message_id JOIN projects p ON p.id = m.project_id
       LEFT JOIN webhook_endpoints e ON e.id = c.endpoint_id LEFT JOIN alert_channels ch ON ch.id = c.channel_id
      ORDER BY m.created_at`;

/**
 * Due and free: in a claim's lateral reads, and again on the row it locks (checked on the row's
 * latest version: a delivery another statement leased since the claim's snapshot is skipped).
 */
const FREE = `d.status = 'PENDING' AND d.next_attempt_at <= now() AND (d.lease_expires_at IS NULL OR d.lease_expires_at < now())`;

/** The advisory lock key of claims (any constant no other lock of ours uses). */
const CLAIM_LOCK = 0x77_65_62_68;

export interface Outcome {
  deliveryId: string;
  /** The claim's token. */
  token: string;
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
 * Returns the ids of the deliveries whose claim was still held (the others were taken over), and
 * the deliveries claimed in their place (`handOn`): each delivered one's place under the
 * per-endpoint cap goes to that endpoint's oldest due delivery, leased with `handOn.token`, in the
 * same statement. One out, one in: no snapshot ever counts more in flight for the endpoint, so no
 * claim lock is needed, and the place does not wait for a claim. Endpoints with any failure in
 * the group hand nothing on (they may be disabled by this very statement).
 */
export async function recordOutcomes(
  sql: Sql,
  outcomes: Outcome[],
  disableAfterMs: number,
  handOn: { token: string; leaseMs: number },
): Promise<{ held: Set<string>; next: ClaimedDelivery[] }> {
  const [row] = await sql<{ held: string[]; next: ClaimedDelivery[] }>(
    `WITH o AS (
       SELECT * FROM json_to_recordset($1::json) AS x(delivery_id uuid, token uuid, endpoint_id uuid, status text, retry_at timestamptz, status_code int, latency_ms int, error text, snippet text, disable text)
     ), held AS (
       UPDATE webhook_deliveries d SET status = o.status::"WebhookDeliveryStatus", next_attempt_at = COALESCE(o.retry_at, d.next_attempt_at),
         last_status_code = o.status_code, last_error = o.error, delivered_at = CASE WHEN o.status = 'DELIVERED' THEN now() ELSE d.delivered_at END,
         lease_token = NULL, lease_expires_at = NULL
       FROM o WHERE d.id = o.delivery_id AND d.lease_token = o.token
       RETURNING d.id, o.endpoint_id, o.status, o.disable
     ), attempts AS (
       INSERT INTO webhook_attempts (id, delivery_id, attempted_at, status_code, latency_ms, error, response_snippet)
       SELECT evalgraph_uuid7(), o.delivery_id, now(), o.status_code, o.latency_ms, o.error, o.snippet FROM o JOIN held ON held.id = o.delivery_id
     ), ep AS (
       SELECT endpoint_id, bool_or(status = 'DELIVERED') AS ok, max(disable) AS gone FROM held GROUP BY endpoint_id
     ), locked AS (
       -- Endpoint rows locked in id order: two workers' groups sharing endpoints cannot deadlock.
       -- Only those whose failure record may change: a healthy endpoint's successes lock nothing.
       SELECT e.id FROM webhook_endpoints e JOIN ep ON ep.endpoint_id = e.id
        WHERE NOT ep.ok OR ep.gone IS NOT NULL OR e.failing_since IS NOT NULL ORDER BY e.id FOR UPDATE OF e
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
     ), freed AS (
       SELECT endpoint_id, count(*) AS n FROM held WHERE endpoint_id IS NOT NULL
        GROUP BY endpoint_id HAVING bool_and(status = 'DELIVERED')
     ), picked AS (
       SELECT d.id FROM freed f
         JOIN webhook_endpoints e ON e.id = f.endpoint_id AND e.enabled
         JOIN projects p ON p.id = e.project_id AND p.deleted_at IS NULL
        CROSS JOIN LATERAL (
          SELECT d.id FROM webhook_deliveries d WHERE d.endpoint_id = f.endpoint_id AND ${FREE}
           ORDER BY d.next_attempt_at LIMIT f.n) c
         JOIN webhook_deliveries d ON d.id = c.id
        WHERE ${FREE}
          FOR UPDATE OF d SKIP LOCKED
     ), claimed AS (
       UPDATE webhook_deliveries d SET lease_token = $3::uuid, lease_expires_at = now() + $4 * interval '1 millisecond', attempts = d.attempts + 1
         FROM picked WHERE d.id = picked.id
       RETURNING d.id, d.lease_token, d.attempts, d.message_id, d.endpoint_id, d.channel_id
     ), next AS (
       ${CLAIMED_ROWS}
     )
     SELECT ARRAY(SELECT id::text FROM held) AS held, COALESCE((SELECT json_agg(next) FROM next), '[]') AS next`,
    [
      JSON.stringify(
        outcomes.map((o) => ({
          delivery_id: o.deliveryId,
          token: o.token,
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
      handOn.token,
      handOn.leaseMs,
    ],
  );
  return { held: new Set(row.held), next: row.next };
}

/**
 * Hands claimed deliveries back (a stopping worker, before or while sending them): due again at
 * once for any worker, the attempt neither counted nor logged, since it says nothing about the
 * receiver. Only under each delivery's own claim.
 */
export async function releaseDeliveries(
  sql: Sql,
  claims: { id: string; token: string }[],
): Promise<void> {
  if (!claims.length) return;
  await sql(
    `UPDATE webhook_deliveries d SET lease_token = NULL, lease_expires_at = NULL, attempts = greatest(d.attempts - 1, 0)
     FROM json_to_recordset($1::json) AS c(id uuid, token uuid)
     WHERE d.id = c.id AND d.lease_token = c.token AND d.status = 'PENDING'`,
    [JSON.stringify(claims)],
  );
}
