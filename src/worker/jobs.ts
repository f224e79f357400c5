// Every background job, each defined in its module's job file. The worker role runs them on the
// pool (pool.ts); adding a job is its file and a line here.
import type { Deps } from '../deps';
import { createAlertJob } from '../modules/alerts/job';
import { createRollupJob } from '../modules/analytics/job';
import { createAuditRetentionJob } from '../modules/audit/job';
import { createDataJobWorker } from '../modules/lifecycle/job';
import { createRetentionJob } from '../modules/lifecycle/retention';
import { createEvaluationJob } from '../modules/evaluations/runner';
import { createOnlineEvaluationJob } from '../modules/online-evaluations/job';
import { createTextIndexJob } from '../modules/traces/text-index';
import { createWebhookJob } from '../modules/webhooks/runner';
import type { Services } from '../services';
import type { AnyJob } from './pool';

export function createJobs(deps: Deps, services: Services): AnyJob[] {
  return [
    createEvaluationJob(deps, {
      costs: services.costs,
      judge: services.judge,
      quotas: services.quotas,
      events: services.events,
    }),
    createOnlineEvaluationJob(deps, {
      costs: services.costs,
      judge: services.judge,
      quotas: services.quotas,
      events: services.events,
    }),
    createWebhookJob(deps),
    createAlertJob(deps, services.alertRules),
    createRollupJob(deps),
    createTextIndexJob(deps),
    createAuditRetentionJob(deps),
    createDataJobWorker(deps, services.dataJobs),
    createRetentionJob(deps, services.retention),
  ];
}
