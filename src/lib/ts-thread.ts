// A worker thread running a function of one of our TypeScript files: the thread loads the file
// through tsx, as the CLI does (jest's transform does not reach threads).
import { Worker } from 'node:worker_threads';

/** Starts a thread that calls `entry` of `file` (a module's `__filename`). */
export function startTsThread(file: string, entry: string): Worker {
  return new Worker(`require('tsx/cjs'); require(${JSON.stringify(file)}).${entry}();`, {
    eval: true,
  });
}
