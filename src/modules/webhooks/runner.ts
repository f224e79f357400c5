// The webhook delivery worker job: claims due deliveries, sends up to `concurrency` at once, and
// records each attempt under its claim. At least once: a delivery is marked done only after the
// receiver answered 2xx, so a worker killed mid-send leaves it to be sent again after its lease.
import { randomUUID } from 'node:crypto';
import { Counter, Histogram } from 'prom-client';
import type { Deps } from '../../deps';
import type { Job } from '../../worker';
import { claimDeliveries, recordOutcome, type ClaimedDelivery, type Outcome } from './delivery-sql';
import { classify, nextAttemptDelay } from './retry';
import { sendWebhook } from './send';
import { signatureHeader } from './signature';
import { parseAllowList } from './ssrf';

export function createWebhookJob(deps: Deps): Job {
  const { concurrency, timeoutMs, retryScheduleMs, disableAfterMs } = deps.config.webhooks;
  const allow = parseAllowList(deps.config.webhooks.allowedHosts);
  // Longer than any attempt can take, so a live worker never loses a delivery it is sending.
  const leaseMs = 3 * timeoutMs + 5_000;
  const token = randomUUID();
  const inFlight = new Set<Promise<void>>();
  let slotFreed: () => void = () => {};
  let abortHooked = false;

  const deliveries = new Counter({ name: 'evalgraph_webhook_deliveries_total', help: 'Webhook delivery attempts by outcome.', labelNames: ['outcome'], registers: [deps.metrics] });
  const latency = new Histogram({ name: 'evalgraph_webhook_delivery_seconds', help: 'Time from sending a webhook to its answer.', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [deps.metrics] });

  async function attempt(delivery: ClaimedDelivery) {
    const now = deps.clock.now();
    const timestamp = Math.floor(now.getTime() / 1000);
    const headers = {
      'webhook-id': delivery.message_id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(delivery.secrets, delivery.message_id, timestamp, delivery.payload, now),
    };
    const result = await sendWebhook(delivery.url, headers, delivery.payload, { timeoutMs, allow });
    const kind = classify(result.statusCode);
    const delay = kind === 'retry' ? nextAttemptDelay(delivery.attempts, retryScheduleMs, result.retryAfterMs) : null;
    const outcome: Outcome = {
      deliveryId: delivery.id,
      endpointId: delivery.endpoint_id,
      statusCode: result.statusCode,
      latencyMs: result.latencyMs,
      error: result.error ?? (kind === 'delivered' ? null : `HTTP ${result.statusCode}`),
      snippet: result.snippet,
      status: kind === 'delivered' ? 'DELIVERED' : delay === null ? 'FAILED' : 'PENDING',
      retryAt: delay === null ? null : new Date(Date.now() + delay),
      disable: kind === 'gone' ? `the endpoint answered 410 Gone at ${now.toISOString()}` : null,
    };
    const recorded = await deps.db.transaction((sql) => recordOutcome(sql, token, outcome, disableAfterMs));
    const label = !recorded ? 'claim_lost' : kind === 'delivered' ? 'delivered' : kind === 'gone' ? 'gone' : outcome.status === 'FAILED' ? 'exhausted' : 'retry';
    deliveries.inc({ outcome: label });
    latency.observe(result.latencyMs / 1000);
  }

  return {
    name: 'webhooks',
    idleMs: 1_000,
    async stop() {
      // Attempts in flight finish (each within the timeout) and are recorded.
      await Promise.all(inFlight);
    },
    async run(signal) {
      if (!abortHooked) {
        signal.addEventListener('abort', () => slotFreed(), { once: true });
        abortHooked = true;
      }
      while (inFlight.size >= concurrency && !signal.aborted) await new Promise<void>((resolve) => (slotFreed = resolve));
      if (signal.aborted) return 0;
      const claimed = await claimDeliveries(deps.db.query, token, leaseMs, concurrency - inFlight.size);
      for (const delivery of claimed) {
        const running: Promise<void> = attempt(delivery)
          .catch((error) => deps.log.warn({ err: error, deliveryId: delivery.id }, 'webhook attempt could not be recorded; its lease will expire'))
          .finally(() => {
            inFlight.delete(running);
            slotFreed();
          });
        inFlight.add(running);
      }
      return claimed.length;
    },
  };
}
