// The webhook delivery job on the worker pool: claims due deliveries, sends up to `concurrency` at
// once, and records each attempt under its claim; recording a delivered one claims the next due
// delivery of its endpoint in its place (the per-endpoint cap's place needs no claim of its own). At least once: a delivery is marked done only
// after the receiver answered 2xx, so a worker killed mid-send leaves it to be sent again after its
// lease.
import { randomUUID } from 'node:crypto';
import { Counter, Histogram } from 'prom-client';
import type { Deps } from '../../deps';
import { createGroupCommit } from '../../lib/group-commit';
import type { Job } from '../../worker/job';
import { topics } from '../events/catalogue';
import {
  claimDeliveries,
  hasDueDeliveries,
  recordOutcomes,
  releaseDeliveries,
  type ClaimedDelivery,
  type Outcome,
} from './delivery-sql';
import { createChannelSender, type ChannelResult } from './channel-send';
import { classify, nextAttemptDelay } from './retry';
import { sendWebhook } from './send';
import { signatureHeader } from './signature';
import type { AllowList } from './ssrf';

export function createWebhookJob(
  deps: Deps,
  webhooks: { allow: AllowList },
): Job<ClaimedDelivery, Outcome> {
  const { concurrency, perEndpoint, timeoutMs, retryScheduleMs, disableAfterMs } =
    deps.config.webhooks;
  const { allow } = webhooks;
  // Longer than any attempt can take, so a live worker never loses a delivery it is sending.
  const leaseMs = 3 * timeoutMs + 5_000;
  // Alert channels' deliveries (Slack, PagerDuty, email): the same queue, formatted per type.
  const sendToChannel = createChannelSender(deps, allow);

  const deliveries = new Counter({
    name: 'evalgraph_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome.',
    labelNames: ['outcome'],
    registers: [deps.metrics],
  });
  // Outcomes finishing while a write runs are recorded together by the next one, which also
  // claims the deliveries that take the delivered ones' places (given back with the group's first).
  const recorder = createGroupCommit(async (group: Outcome[]) => {
    const { held, next } = await recordOutcomes(deps.db.query, group, disableAfterMs, {
      token: randomUUID(),
      leaseMs,
    });
    // Places not handed on (a failure, an endpoint with nothing more due, a channel's delivery)
    // may be another's: the claim loop is woken for them.
    const vacant = next.length < group.length;
    return group.map((o, i) => ({
      recorded: held.has(o.deliveryId),
      next: i === 0 ? next : [],
      vacant: i === 0 && vacant,
    }));
  });
  const latency = new Histogram({
    name: 'evalgraph_webhook_delivery_seconds',
    help: 'Time from sending a webhook to its answer.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [deps.metrics],
  });

  /** A webhook endpoint's delivery: the stored body, signed (Standard Webhooks). */
  function sendSigned(delivery: ClaimedDelivery, signal: AbortSignal, now: Date) {
    const timestamp = Math.floor(now.getTime() / 1000);
    const headers = {
      'webhook-id': delivery.message_id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(
        delivery.secrets ?? [],
        delivery.message_id,
        timestamp,
        delivery.payload,
        now,
      ),
    };
    return sendWebhook(delivery.url ?? '', headers, delivery.payload, {
      timeoutMs,
      allow,
      signal,
    });
  }

  async function attempt(delivery: ClaimedDelivery, signal: AbortSignal): Promise<Outcome> {
    const now = deps.clock.now();
    const result: ChannelResult = delivery.channel_id
      ? await sendToChannel(delivery, signal)
      : await sendSigned(delivery, signal, now);
    // Cut short by our own stop: handed back to be sent again, not recorded as the receiver's failure.
    if (result.aborted) throw new Error(result.error ?? 'aborted');
    const kind = result.delivered ? 'delivered' : classify(result.statusCode);
    const delay =
      kind === 'retry'
        ? nextAttemptDelay(delivery.attempts, retryScheduleMs, result.retryAfterMs)
        : null;
    latency.observe(result.latencyMs / 1000);
    return {
      deliveryId: delivery.id,
      token: delivery.token,
      endpointId: delivery.endpoint_id,
      statusCode: result.statusCode,
      latencyMs: result.latencyMs,
      error: result.error ?? (kind === 'delivered' ? null : `HTTP ${result.statusCode}`),
      snippet: result.snippet,
      status: kind === 'delivered' ? 'DELIVERED' : delay === null ? 'FAILED' : 'PENDING',
      retryAt: delay === null ? null : new Date(Date.now() + delay),
      disable:
        kind === 'gone' && delivery.endpoint_id
          ? `the endpoint answered 410 Gone at ${now.toISOString()}`
          : null,
    };
  }

  return {
    name: 'webhooks',
    concurrency,
    idleMs: 1_000,
    // Outbox rows written (or requeued) by any process: published only when an endpoint is to receive them.
    wakeOn: [{ topic: topics.webhookWork }],
    // A token per claim: a delivery redelivered while in flight is a new claim, recorded apart.
    key: (d) => `${d.id}:${d.token}`,
    // An idle poll (every second) is one statement; the claim's lock and transaction only when
    // something is due.
    claim: async (limit) =>
      (await hasDueDeliveries(deps.db.query))
        ? deps.db.transaction((sql) =>
            claimDeliveries(sql, randomUUID(), leaseMs, limit, perEndpoint),
          )
        : [],
    run: attempt,
    async record(outcome, adopt) {
      const { recorded, next, vacant } = await recorder.add(outcome);
      adopt(next, vacant);
      const sent =
        outcome.status === 'DELIVERED'
          ? 'delivered'
          : outcome.disable
            ? 'gone'
            : outcome.status === 'FAILED'
              ? 'exhausted'
              : 'retry';
      deliveries.inc({ outcome: recorded ? sent : 'claim_lost' });
    },
    failed: (delivery, error) =>
      void deps.log.warn(
        { err: error, deliveryId: delivery.id },
        'webhook attempt could not be recorded; its lease will expire',
      ),
    release: (claimed) =>
      releaseDeliveries(
        deps.db.query,
        claimed.map((d) => ({ id: d.id, token: d.token })),
      ),
    // A receiver may be handling a request in flight: it may finish until the drain deadline.
    onStop: 'finish',
  };
}
