import type { Deps } from './deps';
import { createEvaluationJob } from './modules/evaluations/runner';
import { createWebhookJob } from './modules/webhooks/runner';
import type { Services } from './services';
import type { Job } from './worker';

/** Every module's background jobs; the worker role runs them. */
export function createJobs(deps: Deps, services: Services): Job[] {
  return [
    createEvaluationJob(deps, { costs: services.costs, judge: services.judge, quotas: services.quotas, events: services.events }),
    createWebhookJob(deps, services.webhooks),
    // Due alert rules, 100 per transaction; a full batch runs the next at once.
    { name: 'alerts', idleMs: deps.config.alerts.pollMs, run: () => services.alertRules.evaluateDue(100) },
  ];
}
