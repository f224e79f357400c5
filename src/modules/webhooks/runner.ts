// The webhook delivery worker job: claims due deliveries, sends up to `concurrency` at once, and
// records each attempt under its claim. At least once: a delivery is marked done only after the
// receiver answered 2xx, so a worker killed mid-send leaves it to be sent again after its lease.
import { randomUUID } from 'node:crypto';
import { Counter, Histogram } from 'prom-client';
import type { Deps } from '../../deps';
import type { Job } from '../../worker';
import { createGroupCommit } from '../../lib/group-commit';
import { settledBy } from '../../lib/deadline';
import { claimDeliveries, recordOutcomes, releaseDeliveries, type ClaimedDelivery, type Outcome } from './delivery-sql';
import { classify, nextAttemptDelay } from './retry';
import { sendWebhook } from './send';
import { signatureHeader } from './signature';
import type { AllowList } from './ssrf';

export function createWebhookJob(deps: Deps, webhooks: { allow: AllowList }): Job {
  const { concurrency, timeoutMs, retryScheduleMs, disableAfterMs } = deps.config.webhooks;
  const { allow } = webhooks;
  // Longer than any attempt can take, so a live worker never loses a delivery it is sending.
  const leaseMs = 3 * timeoutMs + 5_000;
  const inFlight = new Set<Promise<void>>();
  let slotFreed: () => void = () => {};
  let abortHooked = false;
  // Aborts the attempts still in flight at the drain deadline of a stop.
  const stopping = new AbortController();

  const deliveries = new Counter({ name: 'evalgraph_webhook_deliveries_total', help: 'Webhook delivery attempts by outcome.', labelNames: ['outcome'], registers: [deps.metrics] });
  // Outcomes finishing while a write runs are recorded together by the next one.
  const recorder = createGroupCommit(async (group: Outcome[]) => {
    const held = await recordOutcomes(deps.db.query, group, disableAfterMs);
    return group.map((o) => held.has(o.deliveryId));
  });
  const latency = new Histogram({ name: 'evalgraph_webhook_delivery_seconds', help: 'Time from sending a webhook to its answer.', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [deps.metrics] });

  async function attempt(delivery: ClaimedDelivery) {
    const now = deps.clock.now();
    const timestamp = Math.floor(now.getTime() / 1000);
    const headers = {
      'webhook-id': delivery.message_id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(delivery.secrets, delivery.message_id, timestamp, delivery.payload, now),
    };
    const result = await sendWebhook(delivery.url, headers, delivery.payload, { timeoutMs, allow, signal: stopping.signal });
    // Cut short by our own stop: handed back to be sent again, not recorded as the receiver's failure.
    if (result.aborted) {
      return () => releaseDeliveries(deps.db.query, [{ id: delivery.id, token: delivery.token }]);
    }
    const kind = classify(result.statusCode);
    const delay = kind === 'retry' ? nextAttemptDelay(delivery.attempts, retryScheduleMs, result.retryAfterMs) : null;
    const outcome: Outcome = {
      deliveryId: delivery.id,
      token: delivery.token,
      endpointId: delivery.endpoint_id,
      statusCode: result.statusCode,
      latencyMs: result.latencyMs,
      error: result.error ?? (kind === 'delivered' ? null : `HTTP ${result.statusCode}`),
      snippet: result.snippet,
      status: kind === 'delivered' ? 'DELIVERED' : delay === null ? 'FAILED' : 'PENDING',
      retryAt: delay === null ? null : new Date(Date.now() + delay),
      disable: kind === 'gone' ? `the endpoint answered 410 Gone at ${now.toISOString()}` : null,
    };
    latency.observe(result.latencyMs / 1000);
    // Recorded after the slot is freed: the next delivery need not wait for the database.
    return async () => {
      const recorded = await recorder.add(outcome);
      deliveries.inc({ outcome: !recorded ? 'claim_lost' : kind === 'delivered' ? 'delivered' : kind === 'gone' ? 'gone' : outcome.status === 'FAILED' ? 'exhausted' : 'retry' });
    };
  }

  // Outcomes being recorded (bounded: sending waits when the database falls behind).
  const writes = new Set<Promise<void>>();
  const full = () => inFlight.size >= concurrency || writes.size >= 4 * concurrency;

  // Claimed deliveries waiting for a slot: a freed slot starts the next without a database trip.
  const buffer: ClaimedDelivery[] = [];

  function launch(delivery: ClaimedDelivery) {
    const lost = (error: unknown) => deps.log.warn({ err: error, deliveryId: delivery.id }, 'webhook attempt could not be recorded; its lease will expire');
    const running: Promise<void> = attempt(delivery)
      .then((record) => {
        const writing: Promise<void> = record()
          .catch(lost)
          .finally(() => {
            writes.delete(writing);
            fill();
            slotFreed();
          });
        writes.add(writing);
      }, lost)
      .finally(() => {
        inFlight.delete(running);
        fill();
        slotFreed();
      });
    inFlight.add(running);
  }

  function fill() {
    let launched = 0;
    for (; !full() && buffer.length; launched++) launch(buffer.shift()!);
    return launched;
  }

  return {
    name: 'webhooks',
    idleMs: 1_000,
    async stop(drainBy) {
      // Claimed and never sent: handed back at once, so a successor need not wait for their leases.
      const unsent = buffer.splice(0).map((d) => ({ id: d.id, token: d.token }));
      const handedBack = releaseDeliveries(deps.db.query, unsent);
      handedBack.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
      // Attempts in flight may finish (and are recorded) until the drain deadline; then they are
      // aborted and handed back.
      if (!(await settledBy(inFlight, drainBy))) {
        deps.log.warn({ deliveries: inFlight.size }, 'webhook deliveries still in flight at the drain deadline; handing them back');
        stopping.abort();
      }
      await Promise.all(inFlight);
      await Promise.all([handedBack, ...writes]);
    },
    async run(signal) {
      if (!abortHooked) {
        signal.addEventListener('abort', () => slotFreed(), { once: true });
        abortHooked = true;
      }
      while (full() && !signal.aborted) await new Promise<void>((resolve) => (slotFreed = resolve));
      if (signal.aborted) return 0;
      let claimed = 0;
      if (buffer.length <= concurrency / 2) {
        // A token per claim: a delivery redelivered while in flight is a new claim, recorded apart.
        const rows = await claimDeliveries(deps.db.query, randomUUID(), leaseMs, 2 * concurrency - inFlight.size - buffer.length);
        buffer.push(...rows);
        claimed = rows.length;
      }
      return claimed + fill() + buffer.length;
    },
  };
}
