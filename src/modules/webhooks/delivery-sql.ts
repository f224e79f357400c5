// The webhook delivery queue: deliveries are rows claimed in batches with a lease (FOR UPDATE SKIP
// LOCKED), so any number of workers share them and a killed worker's deliveries are taken over
// when their leases expire. An outcome is recorded only by the claim that holds the delivery.
import type { Sql } from '../../storage/db';
import type { StoredSecret } from './signature';

export interface ClaimedDelivery {
  id: string;
  attempts: number;
  message_id: string;
  payload: string;
  event_type: string;
  endpoint_id: string;
  url: string;
  secrets: StoredSecret[];
}

export async function claimDeliveries(sql: Sql, token: string, leaseMs: number, limit: number): Promise<ClaimedDelivery[]> {
  if (limit <= 0) return [];
  return sql<ClaimedDelivery>(
    `WITH picked AS (
       SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.status = 'PENDING' AND d.next_attempt_at <= now() AND (d.lease_expires_at IS NULL OR d.lease_expires_at < now()) AND e.enabled
        ORDER BY d.next_attempt_at LIMIT $3 FOR UPDATE OF d SKIP LOCKED
     ), claimed AS (
       UPDATE webhook_deliveries d SET lease_token = $1::uuid, lease_expires_at = now() + $2 * interval '1 millisecond', attempts = d.attempts + 1
         FROM picked WHERE d.id = picked.id
       RETURNING d.id, d.attempts, d.message_id, d.endpoint_id
     )
     SELECT c.id::text, c.attempts, c.message_id, m.payload, m.event_type, c.endpoint_id::text, e.url, e.secrets
       FROM claimed c JOIN webhook_messages m ON m.id = c.message_id JOIN webhook_endpoints e ON e.id = c.endpoint_id
      ORDER BY m.created_at`,
    [token, leaseMs, limit],
  );
}

export interface Outcome {
  deliveryId: string;
  endpointId: string;
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

/** Records an attempt; false when the claim was lost (another worker holds the delivery now). */
export async function recordOutcome(sql: Sql, token: string, outcome: Outcome, disableAfterMs: number): Promise<boolean> {
  const held = await sql(
    `UPDATE webhook_deliveries SET status = $3::"WebhookDeliveryStatus", next_attempt_at = COALESCE($4, next_attempt_at), last_status_code = $5, last_error = $6,
       delivered_at = CASE WHEN $3 = 'DELIVERED' THEN now() ELSE delivered_at END, lease_token = NULL, lease_expires_at = NULL
     WHERE id = $1::uuid AND lease_token = $2::uuid RETURNING id`,
    [outcome.deliveryId, token, outcome.status, outcome.retryAt, outcome.statusCode, outcome.error],
  );
  if (!held.length) return false;
  await sql(
    `INSERT INTO webhook_attempts (id, delivery_id, attempted_at, status_code, latency_ms, error, response_snippet)
     VALUES (gen_random_uuid(), $1::uuid, now(), $2, $3, $4, $5)`,
    [outcome.deliveryId, outcome.statusCode, outcome.latencyMs, outcome.error, outcome.snippet],
  );
  if (outcome.status === 'DELIVERED') {
    await sql(`UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1::uuid AND failing_since IS NOT NULL`, [outcome.endpointId]);
  } else if (outcome.disable) {
    await sql(`UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, disabled_at = now() WHERE id = $1::uuid AND enabled`, [outcome.endpointId, outcome.disable]);
  } else {
    // A run of failures that lasts too long disables the endpoint, saying why.
    await sql(
      `UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, now()),
         enabled = CASE WHEN failing_since < now() - $2 * interval '1 millisecond' THEN false ELSE enabled END,
         disabled_reason = CASE WHEN enabled AND failing_since < now() - $2 * interval '1 millisecond'
           THEN 'every delivery failed since ' || to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') ELSE disabled_reason END,
         disabled_at = CASE WHEN enabled AND failing_since < now() - $2 * interval '1 millisecond' THEN now() ELSE disabled_at END
       WHERE id = $1::uuid`,
      [outcome.endpointId, disableAfterMs],
    );
  }
  return true;
}
