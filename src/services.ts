import type { Deps } from './deps';
import { createAuthService } from './modules/auth/service';
import { createCostService } from './modules/costs/service';
import { createProjectsService } from './modules/projects/service';
import { createTraceService } from './modules/traces/service';

/** The domain services, built once per process over the deps. Used by GraphQL and the CLI. */
export function createServices(deps: Deps) {
  const auth = createAuthService(deps);
  const costs = createCostService(deps);
  return {
    auth,
    projects: createProjectsService(deps, { onAccessChange: () => auth.forget() }),
    costs,
    traces: createTraceService(deps, costs),
  };
}

export type Services = ReturnType<typeof createServices>;
