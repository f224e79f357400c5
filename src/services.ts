import { Gauge } from 'prom-client';
import type { Deps } from './deps';
import { createAlertRules } from './modules/alerts/service';
import { createClientAddress } from './lib/client-address';
import { authenticateHeader } from './modules/auth/authenticate';
import { createAuthService } from './modules/auth/service';
import { createCostService } from './modules/costs/service';
import { createProjectsService } from './modules/projects/service';
import { createEvents } from './modules/events/emitter';
import { createProgressHub } from './modules/evaluations/progress';
import { createEvaluationService } from './modules/evaluations/service';
import { createSubscriptionGuard } from './modules/subscriptions/guard';
import { createWebhookService } from './modules/webhooks/service';
import { createJudges } from './modules/providers/router';
import { createPersistedOperations } from './modules/persisted-queries/service';
import { createResponseCacheService } from './modules/response-cache/service';
import { createQueueReader, registerGauges } from './modules/observability/gauges';
import { createServiceLevels } from './modules/observability/service-levels';
import { createAnonymousLimiter } from './modules/ratelimit/anonymous';
import { createInstanceLimits } from './modules/ratelimit/instance';
import { createQuotas } from './modules/ratelimit/quotas';
import { createRequestCounter } from './modules/ratelimit/request-counter';
import { createEvaluationRules } from './modules/online-evaluations/service';
import { createDataJobs } from './modules/lifecycle/data-jobs';
import { createRetention } from './modules/lifecycle/retention';
import { createScoreService } from './modules/scores/service';
import { createTraceService } from './modules/traces/service';

/** The domain services, built once per process over the deps. Used by GraphQL and the CLI. */
export function createServices(deps: Deps) {
  const auth = createAuthService(deps);
  const costs = createCostService(deps);
  const judge = createJudges(deps.config.judge, deps.meters.judgeRequests);
  const circuit = { closed: 0, 'half-open': 1, open: 2 } as const;
  new Gauge({
    name: 'evalgraph_judge_circuit_state',
    help: "State of each judge provider's circuit breaker: 0 closed, 1 half-open, 2 open.",
    labelNames: ['provider'],
    registers: [deps.metrics],
    collect() {
      for (const p of judge.providers()) this.set({ provider: p.name }, circuit[p.circuit]);
    },
  });
  const quotas = createQuotas(deps);
  const events = createEvents(deps);
  const cache = createResponseCacheService(deps, deps.responseCache, events);
  const subscriptions = createSubscriptionGuard(deps, {
    perKey: deps.config.subscriptions.maxPerKey,
    auth,
  });
  const queues = createQueueReader(deps);
  const stopGauges = registerGauges(deps, {
    openSubscriptions: subscriptions.totalOpen,
    events,
    queues,
  });
  const serviceLevels = createServiceLevels(deps);
  const evaluationRules = createEvaluationRules(deps);
  const instanceLimits = createInstanceLimits(deps, quotas);
  return {
    auth,
    projects: createProjectsService(deps, {
      onAccessChange: (userId) => auth.accessChanged(userId),
    }),
    costs,
    traces: createTraceService(deps, costs, evaluationRules.ingestListener),
    scores: createScoreService(deps, { events }),
    judge,
    quotas,
    requests: createRequestCounter(deps),
    operations: createPersistedOperations(deps),
    cache,
    /** Deletions carried out in batches (modules/lifecycle/). */
    dataJobs: createDataJobs(deps, (projectId) => cache.invalidateProjects([projectId])),
    /** Deletes what is past each project's retention (the worker's retention job runs it). */
    retention: createRetention(deps, (projectId) => cache.invalidateProjects([projectId])),
    /** Every event goes out through here (events/catalogue.ts lists them). */
    events,
    evaluations: createEvaluationService(deps, { judge, quotas, events }),
    alertRules: createAlertRules(deps, { events, cache }),
    /** Online evaluation rules; ingest matches batches against them. */
    evaluationRules,
    progress: createProgressHub(deps, { intervalMs: deps.config.subscriptions.progressIntervalMs }),
    webhooks: createWebhookService(deps, { events }),
    subscriptions,
    anonymous: createAnonymousLimiter({
      limits: deps.config.rateLimit.anonymous,
      store: deps.buckets,
      authenticate: (authorization, address) => authenticateHeader(auth, authorization, address),
      metrics: deps.metrics,
      onStoreError: (error) =>
        deps.log.warn(
          { err: error },
          'anonymous rate-limit store failed; using buckets in this process',
        ),
    }),
    serviceLevels,
    /** Limits of the whole instance (EVALGRAPH_GLOBAL_LIMITS): requests in flight and per hour. */
    instanceLimits,
    queues,
    /** The client's address of a request: (TCP peer, X-Forwarded-For) → address. */
    clientAddress: createClientAddress(deps.config.http.trustedProxies),
    /** Stops what the services run in the background besides what serve.ts stops itself. */
    async closeObservability() {
      stopGauges();
      instanceLimits.close();
      await serviceLevels.close();
    },
  };
}

export type Services = ReturnType<typeof createServices>;
