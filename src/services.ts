import type { Deps } from './deps';
import { createAuthService } from './modules/auth/service';
import { createCostService } from './modules/costs/service';
import { createProjectsService } from './modules/projects/service';
import { createEvaluationEvents } from './modules/evaluations/events';
import { createEvaluationService } from './modules/evaluations/service';
import { createJudge } from './modules/providers/judge';
import { createQuotas } from './modules/ratelimit/quotas';
import { createTraceService } from './modules/traces/service';

/** The domain services, built once per process over the deps. Used by GraphQL and the CLI. */
export function createServices(deps: Deps) {
  const auth = createAuthService(deps);
  const costs = createCostService(deps);
  const judge = createJudge(deps.config.judge);
  const quotas = createQuotas(deps);
  const events = createEvaluationEvents();
  return {
    auth,
    projects: createProjectsService(deps, { onAccessChange: () => auth.forget() }),
    costs,
    traces: createTraceService(deps, costs),
    judge,
    quotas,
    evaluations: createEvaluationService(deps, { judge, quotas, events }),
  };
}

export type Services = ReturnType<typeof createServices>;
