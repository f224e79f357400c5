// Limits for the whole instance, every user together (EVALGRAPH_GLOBAL_LIMITS): requests in
// flight, requests per clock hour, and judge spending per UTC day (that one is checked where judge
// spending is decided: quotas.ts `instanceExceeded`). Counted in Redis when there is one, so that
// every API process shares them (instance-store.ts), else in this process. Requests: HTTP on
// /graphql and /v1/traces (use-instance-limits.ts) and graphql-ws operations (hour only); a
// subscription holds no slot while it streams.
import { randomUUID } from 'node:crypto';
import type { Deps } from '../../deps';
import { instanceLimitExceeded, type InstanceLimit } from '../../errors';
import type { GraphQLError } from 'graphql';
import { createMemoryInstanceStore, type InstanceStore } from './instance-store';

export interface Admission {
  /** Gives the slot back; safe to call more than once. */
  release(): void;
}

export function createInstanceLimits(
  deps: Deps,
  quotas: { instanceJudgeCostToday(): Promise<string> },
) {
  const { config, log, meters } = deps;
  const limits = config.instanceLimits;
  const leaseMs = limits.leaseSeconds * 1000;
  const store = deps.instanceStore;
  // A failed store (Redis) is not asked again for a few seconds: this process's counts stand in,
  // so requests go on (limited per process) rather than all failing with it.
  const fallback = createMemoryInstanceStore();
  let failedAt = 0;
  const run = async <T>(
    step: (s: InstanceStore) => Promise<T>,
  ): Promise<{ value: T; used: InstanceStore }> => {
    if (store !== fallback && Date.now() - failedAt > 5_000) {
      try {
        return { value: await step(store), used: store };
      } catch (error) {
        if (Date.now() - failedAt > 60_000)
          log.warn({ err: error }, 'instance limit store failed; counting in this process');
        failedAt = Date.now();
      }
    }
    return { value: await step(fallback), used: fallback };
  };

  const refused = meters.instanceLimitRefused;

  // This process's slots, and the store that holds each: renewed while their requests run.
  const held = new Map<string, InstanceStore>();
  const renewal = limits.concurrent
    ? setInterval(
        () => {
          for (const s of new Set(held.values())) {
            const ids = [...held].filter(([, used]) => used === s).map(([id]) => id);
            s.renew(ids, leaseMs).catch((error) =>
              log.warn({ err: error }, 'renewing instance concurrency slots failed'),
            );
          }
        },
        Math.max(250, Math.floor(leaseMs / 3)),
      )
    : null;
  renewal?.unref();

  const refuse = (limit: InstanceLimit, message: string, retryAfter: number): GraphQLError => {
    refused.inc({ limit });
    return instanceLimitExceeded(limit, message, retryAfter);
  };

  /** The hour's request, or the error that refuses it. */
  async function countHour(): Promise<GraphQLError | null> {
    if (limits.requestsPerHour === null) return null;
    const { value } = await run((s) => s.countHour(limits.requestsPerHour));
    if (value.allowed) return null;
    return refuse(
      'requestsPerHour',
      `This instance has answered its limit of ${limits.requestsPerHour} requests this hour (for all users together). Retry after ${value.resetSeconds} s.`,
      Math.max(1, value.resetSeconds),
    );
  }

  const snapshot = async () => {
    const read = <T>(f: () => Promise<T>) => f().catch(() => null);
    const [inFlight, hour, judgeCost] = await Promise.all([
      read(async () => (await run((s) => s.inFlight())).value),
      read(async () => (await run((s) => s.peekHour())).value),
      read(() => quotas.instanceJudgeCostToday()),
    ]);
    return { inFlight, hour, judgeCost };
  };

  meters.gauge(
    'evalgraph_instance_requests_in_flight',
    'HTTP requests in flight in the whole instance (every API process, with Redis), as the concurrency limit counts them.',
    [],
    async (g) => {
      const n = await run((s) => s.inFlight()).catch(() => null);
      if (n === null) g.reset();
      else g.set(n.value);
    },
  );
  meters.gauge(
    'evalgraph_instance_requests_this_hour',
    'Requests counted in the current clock hour (UTC) in the whole instance, for the hourly limit.',
    [],
    async (g) => {
      const hour = await run((s) => s.peekHour()).catch(() => null);
      if (hour === null) g.reset();
      else g.set(hour.value.count);
    },
  );
  meters.gauge(
    'evalgraph_instance_judge_cost_today_usd',
    'Judge spending (USD) of every project today (UTC), as written to usage_counters.',
    [],
    async (g) => {
      const cost = await quotas.instanceJudgeCostToday().catch(() => null);
      if (cost === null) g.reset();
      else g.set(Number(cost));
    },
  );
  meters.gauge(
    'evalgraph_instance_limit',
    'The limits of the whole instance that are set (EVALGRAPH_GLOBAL_LIMITS), by limit.',
    ['limit'],
    (g) => {
      if (limits.concurrent !== null) g.set({ limit: 'concurrent' }, limits.concurrent);
      if (limits.requestsPerHour !== null)
        g.set({ limit: 'requestsPerHour' }, limits.requestsPerHour);
      if (limits.judgeCostPerDayUsd !== null)
        g.set({ limit: 'judgeCostPerDayUsd' }, Number(limits.judgeCostPerDayUsd));
    },
  );

  return {
    limits,
    /** Whether requests are limited at all (else the plugin does nothing). */
    limitsRequests: limits.concurrent !== null || limits.requestsPerHour !== null,
    /**
     * Admits an HTTP request: a slot in flight (until released) and a count in the hour. Answers
     * the error that refuses it instead (nothing held then).
     */
    async admit(): Promise<Admission | GraphQLError> {
      let release = () => {};
      if (limits.concurrent !== null) {
        const id = `${randomUUID()}`;
        const { value: taken, used } = await run((s) => s.acquire(id, limits.concurrent!, leaseMs));
        if (!taken)
          return refuse(
            'concurrent',
            `This instance is answering its limit of ${limits.concurrent} requests at once (for all users together). Retry in a moment.`,
            1,
          );
        held.set(id, used);
        let done = false;
        release = () => {
          if (done) return;
          done = true;
          held.delete(id);
          used
            .release(id)
            .catch((error) =>
              log.warn({ err: error }, 'releasing an instance concurrency slot failed'),
            );
        };
      }
      const error = await countHour().catch((e) => {
        release();
        throw e;
      });
      if (error) {
        release();
        return error;
      }
      return { release };
    },
    /** A graphql-ws operation: counted in the hour (a subscription holds no slot). */
    countOperation: countHour,
    /** For readiness: each limit and where it stands (null: could not be read). */
    async details() {
      const { inFlight, hour, judgeCost } = await snapshot();
      return {
        concurrent: { limit: limits.concurrent, inFlight },
        requestsPerHour: {
          limit: limits.requestsPerHour,
          count: hour?.count ?? null,
          resetSeconds: hour?.resetSeconds ?? null,
        },
        judgeCostPerDayUsd: { limit: limits.judgeCostPerDayUsd, spentToday: judgeCost },
      };
    },
    close() {
      if (renewal) clearInterval(renewal);
    },
  };
}

export type InstanceLimits = ReturnType<typeof createInstanceLimits>;
