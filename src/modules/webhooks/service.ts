// Webhook endpoints of a project: create (the secret is shown once), update, enable/disable,
// delete, rotate the secret (the old one keeps signing for 24 h), send a test message, redeliver,
// and delivery statistics. Messages themselves are written to the outbox by the event emitter
// (events/emitter.ts) in the transaction of the change they announce.
import type { Prisma, WebhookEndpoint } from '../../generated/prisma/client';
import type { Sql } from '../../storage/db';
import type { Deps } from '../../deps';
import { badInput, notFound } from '../../errors';
import { PROGRESS, topics, WEBHOOK_EVENTS } from '../events/catalogue';
import type { Events } from '../events/emitter';
import { rotate, generateSecret, type StoredSecret } from './signature';
import { checkTarget, parseAllowList, TargetRefusedError } from './ssrf';

const MAX_ENDPOINTS_PER_PROJECT = 50;
const ROTATION_OVERLAP_MS = 24 * 3600_000;

export interface EndpointInput {
  url?: string | null;
  events?: string[] | null;
  description?: string | null;
  enabled?: boolean | null;
  progressIntervalSeconds?: number | null;
}

export function createWebhookService(deps: Deps, services: { events: Events }) {
  const { db } = deps;
  const allow = parseAllowList(deps.config.webhooks.allowedHosts);
  const wake = () => deps.pubsub.publish(topics.webhookWork, {});
  const changed = (endpointId: string) =>
    deps.pubsub.publish(topics.webhookEndpointChanged, { endpointId });

  async function checkUrl(url: string) {
    if (url.length > 2_000)
      throw badInput('The URL is longer than 2,000 characters.', ['input', 'url']);
    try {
      return (await checkTarget(url, allow)).toString();
    } catch (error) {
      if (error instanceof TargetRefusedError)
        throw badInput(`The URL is refused: ${error.message}.`, ['input', 'url']);
      throw error;
    }
  }

  function checkFields(input: EndpointInput) {
    if (input.events != null) {
      if (!input.events.length) throw badInput('Give at least one event.', ['input', 'events']);
      const unknown = input.events.find((e) => !(WEBHOOK_EVENTS as string[]).includes(e));
      if (unknown)
        throw badInput(`Unknown event "${unknown}"; known: ${WEBHOOK_EVENTS.join(', ')}.`, [
          'input',
          'events',
        ]);
    }
    if (input.description != null && input.description.length > 500)
      throw badInput('The description is longer than 500 characters.', ['input', 'description']);
    if (
      input.progressIntervalSeconds != null &&
      (input.progressIntervalSeconds < 1 || input.progressIntervalSeconds > 3_600)
    ) {
      throw badInput('progressIntervalSeconds must be 1 to 3,600.', [
        'input',
        'progressIntervalSeconds',
      ]);
    }
  }

  /** Deliveries matching `where` go back to the queue as new: attempted now, from the first try. */
  async function requeue(where: string, params: unknown[]) {
    const rows = await db.query<{ id: string }>(
      `UPDATE webhook_deliveries SET status = 'PENDING', attempts = 0, next_attempt_at = now(), lease_token = NULL, lease_expires_at = NULL
       WHERE ${where} RETURNING id::text`,
      params,
    );
    wake();
    return rows.length;
  }

  async function endpoint(id: string) {
    const found = await db.prisma.webhookEndpoint.findUnique({ where: { id } });
    if (!found) throw notFound('Webhook endpoint');
    return found;
  }

  return {
    /** `within`: more writes of the same transaction (the audit entry), given the new endpoint. */
    async create(
      projectId: string,
      input: EndpointInput & { url: string; events: string[] },
      within?: (tx: Prisma.TransactionClient, created: WebhookEndpoint) => Promise<void>,
    ) {
      checkFields(input);
      const url = await checkUrl(input.url);
      if (
        (await db.prisma.webhookEndpoint.count({ where: { projectId } })) >=
        MAX_ENDPOINTS_PER_PROJECT
      ) {
        throw badInput(`A project has at most ${MAX_ENDPOINTS_PER_PROJECT} webhook endpoints.`, [
          'input',
          'projectId',
        ]);
      }
      const secret = generateSecret();
      const secrets: StoredSecret[] = [
        { secret, createdAt: deps.clock.now().toISOString(), expiresAt: null },
      ];
      const created = await db.prisma.$transaction(async (tx) => {
        const row = await tx.webhookEndpoint.create({
          data: {
            projectId,
            url,
            events: [...new Set(input.events)],
            description: input.description ?? null,
            progressIntervalSeconds:
              input.progressIntervalSeconds ?? PROGRESS.webhookIntervalSeconds,
            secrets: secrets as object[],
          },
        });
        await within?.(tx, row);
        return row;
      });
      return { endpoint: created, secret };
    },

    async update(
      id: string,
      input: EndpointInput,
      within?: (tx: Prisma.TransactionClient) => Promise<void>,
    ) {
      checkFields(input);
      const url = input.url != null ? await checkUrl(input.url) : undefined;
      await endpoint(id);
      return db.prisma
        .$transaction(async (tx) => {
          const row = await tx.webhookEndpoint.update({
            where: { id },
            data: {
              ...(url ? { url } : {}),
              ...(input.events ? { events: [...new Set(input.events)] } : {}),
              ...(input.description !== undefined ? { description: input.description } : {}),
              ...(input.progressIntervalSeconds != null
                ? { progressIntervalSeconds: input.progressIntervalSeconds }
                : {}),
              // Enabling starts afresh; disabling by hand says so.
              ...(input.enabled === true
                ? { enabled: true, disabledReason: null, disabledAt: null, failingSince: null }
                : {}),
              ...(input.enabled === false
                ? {
                    enabled: false,
                    disabledReason: 'disabled by a user',
                    disabledAt: deps.clock.now(),
                  }
                : {}),
            },
          });
          await within?.(tx);
          return row;
        })
        .then((row) => {
          changed(id);
          return row;
        });
    },

    /** `within`: more writes of the same transaction (the audit entry). */
    async remove(id: string, within?: (sql: Sql) => Promise<void>) {
      await endpoint(id);
      await db.transaction(async (sql) => {
        await sql(`DELETE FROM webhook_endpoints WHERE id = $1::uuid`, [id]);
        await within?.(sql);
      });
      changed(id);
    },

    async rotateSecret(id: string, within?: (sql: Sql) => Promise<void>) {
      await endpoint(id);
      // The row is locked while the new list is made: two rotations at once both keep their secret.
      const secret = await db.transaction(async (sql) => {
        const [row] = await sql<{ secrets: StoredSecret[] }>(
          `SELECT secrets FROM webhook_endpoints WHERE id = $1::uuid FOR UPDATE`,
          [id],
        );
        const rotated = rotate(row.secrets, deps.clock.now(), ROTATION_OVERLAP_MS);
        await sql(
          `UPDATE webhook_endpoints SET secrets = $2::jsonb, updated_at = now() WHERE id = $1::uuid`,
          [id, JSON.stringify(rotated.secrets)],
        );
        await within?.(sql);
        return rotated.secret;
      });
      changed(id);
      return { endpoint: await endpoint(id), secret };
    },

    /** A `webhook.test` message to this endpoint only; returns the message id. */
    async sendTest(id: string) {
      const found = await endpoint(id);
      if (!found.enabled)
        throw badInput('The endpoint is disabled: enable it first.', ['input', 'id']);
      const sent = await services.events.transaction(async (_sql, emit) =>
        emit('webhook.test', { endpointId: id, projectId: found.projectId }, { endpoints: [id] }),
      );
      // Disabled (or deleted) meanwhile.
      if (!sent.written)
        throw badInput('The endpoint is disabled: enable it first.', ['input', 'id']);
      return sent.messageId;
    },

    /** Sends a message again (same webhook-id) to its endpoints, or to one of them. */
    redeliverMessage: (messageId: string, endpointId: string | null) =>
      requeue(`message_id = $1 AND ($2::uuid IS NULL OR endpoint_id = $2::uuid)`, [
        messageId,
        endpointId,
      ]),

    /** Sends again every delivery to the endpoint that failed since `since`. */
    redeliverFailed: (endpointId: string, since: Date) =>
      requeue(`endpoint_id = $1::uuid AND status = 'FAILED' AND created_at >= $2`, [
        endpointId,
        since,
      ]),

    async stats(endpointId: string) {
      const [row] = await db.query<{
        delivered: number;
        failed: number;
        pending: number;
        p95: number | null;
      }>(
        `SELECT count(*) FILTER (WHERE status = 'DELIVERED')::int AS delivered, count(*) FILTER (WHERE status = 'FAILED')::int AS failed,
           count(*) FILTER (WHERE status = 'PENDING')::int AS pending,
           (SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY a.latency_ms) FROM webhook_attempts a JOIN webhook_deliveries d2 ON d2.id = a.delivery_id
             WHERE d2.endpoint_id = $1::uuid AND a.attempted_at > now() - interval '7 days') AS p95
         FROM webhook_deliveries WHERE endpoint_id = $1::uuid`,
        [endpointId],
      );
      const done = row.delivered + row.failed;
      return {
        delivered: row.delivered,
        failed: row.failed,
        pending: row.pending,
        successRate: done ? row.delivered / done : null,
        p95LatencyMs: row.p95 === null ? null : Math.round(Number(row.p95)),
      };
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
