// The webhook delivery job on the worker pool: claims due deliveries, sends up to `concurrency` at
// once and at most `perEndpoint` to one endpoint (the pool's `limitBy`; this worker is the
// endpoint's one sender while it holds any of its deliveries: delivery-sql.ts), and records each
// attempt under its claim. At least once: a delivery is marked done only after the receiver
// answered 2xx, so a worker killed mid-send leaves it to be sent again after its lease.
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
  renewLeases,
  type ClaimedDelivery,
  type Outcome,
} from './delivery-sql';
import { createChannelSender, type ChannelResult } from './channel-send';
import { classify, nextAttemptDelay } from './retry';
import { threadPost } from './sender-thread';
import { signatureHeader } from './signature';

export function createWebhookJob(deps: Deps): Job<ClaimedDelivery, Outcome> {
  const { concurrency, perEndpoint, timeoutMs, retryScheduleMs, disableAfterMs, allowedHosts } =
    deps.config.webhooks;
  // Every POST (webhooks and alert channels) is made in the sender thread.
  const post = threadPost(allowedHosts);
  // Longer than any attempt can take, so a live worker never loses a delivery it is sending.
  const leaseMs = 3 * timeoutMs + 5_000;
  // Alert channels' deliveries (Slack, PagerDuty, email): the same queue, formatted per type.
  const sendToChannel = createChannelSender(deps, post);

  const deliveries = new Counter({
    name: 'evalgraph_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome.',
    labelNames: ['outcome'],
    registers: [deps.metrics],
  });
  // This worker's claims: with a delivery's attempt number, its token tells them apart.
  const owner = randomUUID();
  // Whether the last claim found work.
  let found = false;
  // When an endpoint or a project last changed (by id): what was claimed of it before is handed
  // back unsent (the row it was claimed with no longer holds: a new URL, disabled, deleted), and
  // claimed again with what holds now, or not at all. Endpoints that answered 410 Gone: what is
  // held of them is dropped (the record disables them; their leases lapse).
  const changedAt = new Map<string, number>();
  const gone = new Set<string>();
  const change = (id: string) => {
    const now = Date.now();
    changedAt.set(id, now);
    gone.delete(id); // enabled again, say: what is claimed from now on is sent
    // Anything held longer than this was renewed past many checks: kept small, not exact.
    for (const [key, at] of changedAt) if (now - at > 10 * leaseMs) changedAt.delete(key);
  };
  const unlisten = [
    deps.pubsub.listen<{ endpointId: string }>(topics.webhookEndpointChanged, ({ endpointId }) =>
      change(endpointId),
    ),
    deps.pubsub.listen<{ projectId: string }>(topics.projectDeleted, ({ projectId }) =>
      change(projectId),
    ),
  ];
  const stale = (d: ClaimedDelivery) =>
    [d.endpoint_id, d.channel_id, d.project_id].some(
      (id) => id !== null && (changedAt.get(id) ?? -1) >= (d.claimed_at ?? 0),
    );
  // Outcomes finishing while a write runs, or within a few ms before it, are recorded together:
  // nothing waits on the write but the outcome's own lease, so a busy queue writes large groups.
  const recorder = createGroupCommit(
    async (group: Outcome[]) => {
      const held = await recordOutcomes(deps.db.query, group, disableAfterMs);
      return group.map((o) => held.has(o.deliveryId));
    },
    { lingerMs: 10 },
  );
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
    return post(delivery.url ?? '', headers, delivery.payload, { timeoutMs, signal });
  }

  async function attempt(delivery: ClaimedDelivery, signal: AbortSignal): Promise<Outcome | null> {
    if (delivery.endpoint_id && gone.has(delivery.endpoint_id)) return null;
    if (stale(delivery)) {
      await releaseDeliveries(
        deps.db.query,
        owner,
        [{ id: delivery.id, attempts: delivery.attempts }],
        [],
      );
      return null;
    }
    const now = deps.clock.now();
    const result: ChannelResult = delivery.channel_id
      ? await sendToChannel(delivery, signal)
      : await sendSigned(delivery, signal, now);
    // Cut short on our side (a stop, the sender thread gone): not recorded as the receiver's
    // failure; sent again (handed back by a stop, or after its lease).
    if (result.aborted) throw new Error(result.error ?? 'aborted');
    const kind = result.delivered ? 'delivered' : classify(result.statusCode);
    if (kind === 'gone' && delivery.endpoint_id) gone.add(delivery.endpoint_id);
    const delay =
      kind === 'retry'
        ? nextAttemptDelay(delivery.attempts, retryScheduleMs, result.retryAfterMs)
        : null;
    latency.observe(result.latencyMs / 1000);
    return {
      deliveryId: delivery.id,
      token: delivery.token,
      attempts: delivery.attempts,
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
    // A delivery claimed again (its lease lapsed while in flight) is a new claim, recorded apart.
    key: (d) => `${d.id}:${d.attempts}`,
    limitBy: { key: (d) => d.endpoint_id, max: perEndpoint },
    // Enough ahead to keep every slot busy while outcomes are written and the next claim runs, and
    // to hold a receiver that answers slowly to few deliveries waiting on it.
    maxHeld: 8 * concurrency,
    // An idle poll (every second) is one statement; the claim's lock and transaction only when
    // something is due.
    // (Skipped while claims find work: the claim itself is then the cheaper check.)
    async claim(limit, keys = { full: [], idle: [] }) {
      if (!found && !(await hasDueDeliveries(deps.db.query))) {
        await claimDeliveries(deps.db.query, { owner, leaseMs, limit: 0, perClaim: 0 }, keys);
        return [];
      }
      const claimedAt = Date.now();
      const claimed = await claimDeliveries(
        deps.db.query,
        { owner, leaseMs, limit, perClaim: 4 * perEndpoint },
        keys,
      );
      for (const d of claimed) d.claimed_at = claimedAt;
      found = claimed.length > 0;
      return claimed;
    },
    run: attempt,
    async record(outcome) {
      const recorded = await recorder.add(outcome);
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
    release: (claimed, idle) =>
      releaseDeliveries(
        deps.db.query,
        owner,
        claimed.map((d) => ({ id: d.id, attempts: d.attempts })),
        idle,
      ),
    every: [
      {
        // Deliveries wait behind their endpoint's cap: their leases (and their endpoints') are
        // renewed while held. Those of an endpoint this worker may no longer send to (disabled,
        // deleted, its project deleted, taken over) are cut short: checked every 2 s, so that a
        // slow receiver's waiting deliveries are not sent long after it was disabled.
        name: 'lease renewal',
        ms: Math.min(leaseMs / 4, 2_000),
        async run(held) {
          if (!held.works.length) return;
          const lost = await renewLeases(deps.db.query, owner, leaseMs, held.works);
          if (lost.size) held.abort((d) => d.endpoint_id !== null && lost.has(d.endpoint_id));
        },
      },
    ],
    // A receiver may be handling a request in flight: it may finish until the drain deadline.
    onStop: 'finish',
    stopping: () => unlisten.forEach((off) => off()),
  };
}
