import type { Deps } from './deps';
import { createAuthService } from './modules/auth/service';
import { createProjectsService } from './modules/projects/service';

/** The domain services, built once per process over the deps. Used by GraphQL and the CLI. */
export function createServices(deps: Deps) {
  const auth = createAuthService(deps);
  return {
    auth,
    projects: createProjectsService(deps, { onAccessChange: () => auth.forget() }),
  };
}

export type Services = ReturnType<typeof createServices>;
