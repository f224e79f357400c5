// A job of one repeated pass (compaction, indexing, retention): no units of work of its own, only
// "is there anything to do" and "do some of it". The pool runs it like any job: it looks every
// `idleMs` while there is nothing to do, and passes again at once while there is.
import type { Deps } from '../deps';
import type { Job } from './job';

export interface PeriodicPass {
  name: string;
  /** Longest sleep between looks while `due` answers no. */
  idleMs: number;
  /** Whether a pass has anything to do (one cheap statement). */
  due(): Promise<boolean>;
  /** One bounded pass; `signal` aborts when the pool stops (with `onStop: 'abort'`). */
  pass(signal: AbortSignal): Promise<unknown>;
  /** When the pool stops: a pass may finish until the drain deadline, or is aborted between batches. */
  onStop: 'finish' | 'abort';
}

export function periodicJob(deps: Deps, p: PeriodicPass): Job<'pass', null> {
  return {
    name: p.name,
    concurrency: 1,
    maxHeld: 1,
    idleMs: p.idleMs,
    key: () => 'pass',
    claim: async () => ((await p.due()) ? ['pass'] : []),
    run: async (_work, signal) => {
      const done = await p.pass(signal);
      deps.log.debug({ job: p.name, done }, 'pass done');
      return null;
    },
    record: async () => {},
    failed: (_work, error) => deps.log.warn({ err: error, job: p.name }, 'pass failed'),
    onStop: p.onStop,
  };
}
