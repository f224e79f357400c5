import type { Deps } from './deps';
import type { Services } from './services';
import type { Job } from './worker';

/** Every module's background jobs; the worker role runs them. */
export function createJobs(_deps: Deps, _services: Services): Job[] {
  return [];
}
