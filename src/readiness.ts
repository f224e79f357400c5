// What /health/ready reports, the same in the API (plugins/use-readiness.ts) and in a worker's
// probes (worker/probes.ts): the database and Redis must answer; the rest is reported, never failing.
import type { Deps } from './deps';
import type { ReadinessCheck } from './plugins/use-readiness';
import type { Services } from './services';

/** What /health/ready reports, in the API and in a worker's probes (worker/probes.ts). */
export function readinessChecks(deps: Deps, services: Services): Record<string, ReadinessCheck> {
  return {
    database: () => deps.db.ping().then(() => ({ kind: deps.db.kind })),
    ...(deps.redis ? { redis: () => deps.redis!.ping().then(() => undefined) } : {}),
    // Reported, never failing readiness: an open circuit stops judging, not the API.
    // `circuit` is the best of the providers' (open: none would take a call).
    judge: async () => ({
      configured: services.judge.configured,
      circuit: services.judge.state(),
      providers: Object.fromEntries(services.judge.providers().map(({ name, ...p }) => [name, p])),
    }),
    // Reported, never failing: where each limit of the whole instance stands (null: unread).
    instanceLimits: () => services.instanceLimits.details(),
    // Reported, never failing: a backlog is work for the workers, not a reason to stop serving.
    queues: async () =>
      Object.fromEntries(
        (await services.queues().catch(() => [])).map((q) => [
          q.queue,
          { depth: q.depth, lagSeconds: Math.round(q.age * 10) / 10 },
        ]),
      ),
  };
}
