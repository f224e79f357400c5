// The real `evalgraph serve` in a child process, for what only a process shows: first start
// output, signals, single ownership of the embedded database.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
// tsx loaded into node itself, not its CLI: the CLI wrapper relays signals only when the server
// answers its check in time, and kills a server that is busy (PGlite work) instead.
const TSX = ['--import', 'tsx'];

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Sends the signal (SIGKILL: to the whole process group) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startServeProcess(
  env: Record<string, string>,
  args: string[] = [],
): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [...TSX, path.join(ROOT, 'src', 'cli.ts'), 'serve', ...args],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so that SIGKILL reaches the server itself and not only tsx's wrapper.
      detached: true,
    },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 60_000);
    const check = () => {
      const match = /Evalgraph API on (http:\/\/[^\s]+)\/graphql/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${out}`));
    });
  });
  return {
    child,
    url,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      // Signals go to node itself; SIGKILL is sent to the whole group, as a crash would take it all.
      if (child.exitCode === null) {
        if (signal === 'SIGKILL') process.kill(-child.pid!, 'SIGKILL');
        else child.kill(signal);
      }
      return exited;
    },
  };
}

/** `serve --role worker` in a child process (no HTTP port: nothing to wait for). */
export function startWorkerProcess(env: Record<string, string>) {
  const child = spawn(
    process.execPath,
    [...TSX, path.join(ROOT, 'src', 'cli.ts'), 'serve', '--role', 'worker'],
    {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', LOG_LEVEL: 'warn', ...env },
      stdio: 'ignore',
      // Its own process group: SIGKILL reaches node itself, not only the tsx wrapper.
      detached: true,
    },
  );
  return {
    kill: () => process.kill(-child.pid!, 'SIGKILL'),
    stop: () => process.kill(-child.pid!, 'SIGTERM'),
    exited: new Promise((r) => child.once('exit', r)),
  };
}

/** Stops worker processes (those still alive) and waits for them to exit. */
export async function stopWorkers(workers: ReturnType<typeof startWorkerProcess>[]) {
  for (const w of workers) {
    try {
      w.stop();
    } catch {
      // already gone
    }
  }
  await Promise.all(workers.map((w) => w.exited));
}
