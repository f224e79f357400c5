// The real `evalgraph serve` in a child process, for what only a process shows: first start
// output, signals, single ownership of the embedded database, work shared by several processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { createTestDatabase, uniqueName, type TestDatabase } from './databases';
import { deleteKeys } from './redis';

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
      if (child.exitCode === null && child.signalCode === null) {
        if (signal === 'SIGKILL') process.kill(-child.pid!, 'SIGKILL');
        else child.kill(signal);
      }
      return exited;
    },
  };
}

export interface WorkerProcess {
  /** SIGKILL to its process group. */
  kill(): void;
  /** SIGTERM. */
  stop(): void;
  exited: Promise<unknown>;
}

/** `serve --role worker` in a child process (no HTTP port: nothing to wait for). */
export function startWorkerProcess(env: Record<string, string>): WorkerProcess {
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
export async function stopWorkers(workers: WorkerProcess[]) {
  for (const w of workers) {
    try {
      w.stop();
    } catch {
      // already gone
    }
  }
  await Promise.all(workers.map((w) => w.exited));
}

export interface GqlBody {
  data?: any;
  errors?: unknown[];
}

/**
 * Evalgraph in processes of its own over one database, for a test: a data directory, on Postgres
 * a database (and with Redis a key prefix) of its own, an admin key, and the env that makes
 * `serve` bootstrap them. The processes it starts are stopped by close().
 */
export interface Deployment {
  /**
   * True: Postgres (and Redis when the run has it), shared by an API process and worker processes
   * apart. False: the embedded database, which one `serve` process (API and worker) owns.
   */
  shared: boolean;
  env: Record<string, string>;
  key: string;
  /** The API process last started (embedded: the one `serve` process); crash() replaces it. */
  readonly api: ServeProcess;
  /** `serve --role api` when shared, else `serve`. */
  startApi(): Promise<ServeProcess>;
  /** Starts `count` worker processes when shared (embedded: none, the `serve` process is the worker). */
  startWorkers(count: number): void;
  /** POSTs a GraphQL operation with the admin key to `url` (default: the API process's). */
  gql(query: string, variables?: Record<string, unknown>, url?: string): Promise<GqlBody>;
  /** The global id of the project the env bootstraps. */
  projectId(url?: string): Promise<string>;
  /** How many processes hold RUNNING rows of a leased table: its distinct lease tokens (shared only). */
  leaseHolders(table: string): Promise<number>;
  /** Reads the shared database directly (shared only). */
  sql<R = any>(text: string): Promise<R[]>;
  /**
   * Kills with SIGKILL the process doing the work: when shared, the first worker (the others
   * take over its leases); else the `serve` process, started again once `whileDown` has run.
   */
  crash(whileDown?: () => void): Promise<void>;
  close(): Promise<void>;
}

export async function createDeployment(options: {
  /** The name of the project the env bootstraps. */
  project: string;
  env?: Record<string, string>;
  /** Default: on Postgres (DATABASE_URL set). */
  shared?: boolean;
}): Promise<Deployment> {
  const shared = options.shared ?? Boolean(process.env.DATABASE_URL);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-process-'));
  const db: TestDatabase | null = shared ? await createTestDatabase() : null;
  const redisUrl = shared ? process.env.REDIS_URL : undefined;
  const redisPrefix = `${uniqueName('evalgraph_process')}:`;
  const key = `evg_test_${randomBytes(24).toString('base64url')}`;
  const env = {
    DATABASE_URL: db?.url ?? '',
    ...(redisUrl ? { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: redisPrefix } : { REDIS_URL: '' }),
    EVALGRAPH_DATA_DIR: dir,
    EVALGRAPH_INIT_ADMIN_EMAIL: 'admin@test.local',
    EVALGRAPH_INIT_PROJECT: options.project,
    EVALGRAPH_INIT_API_KEY: key,
    ...options.env,
  };
  const apis: ServeProcess[] = [];
  const workers: WorkerProcess[] = [];
  let pool: Pool | null = null;

  const deployment: Deployment = {
    shared,
    env,
    key,
    get api() {
      const api = apis.at(-1);
      if (!api) throw new Error('no API process started');
      return api;
    },
    async startApi() {
      const api = await startServeProcess(env, shared ? ['--role', 'api'] : []);
      apis.push(api);
      return api;
    },
    startWorkers(count) {
      if (shared) for (let i = 0; i < count; i++) workers.push(startWorkerProcess(env));
    },
    async gql(query, variables = {}, url = deployment.api.url) {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as GqlBody;
    },
    async projectId(url) {
      const res = await deployment.gql('{ projects { edges { node { id } } } }', {}, url);
      return res.data.projects.edges[0].node.id;
    },
    async sql(text) {
      if (!db) throw new Error('sql: the embedded database is owned by the serve process');
      pool ??= new Pool({ connectionString: db.url!, max: 1 });
      return (await pool.query(text)).rows;
    },
    async leaseHolders(table) {
      const [row] = await deployment.sql<{ n: number }>(
        `SELECT count(DISTINCT lease_token)::int AS n FROM ${table} WHERE state = 'RUNNING'`,
      );
      return row.n;
    },
    async crash(whileDown) {
      if (shared) {
        workers[0].kill();
        await workers[0].exited;
        whileDown?.();
        return;
      }
      await deployment.api.stop('SIGKILL');
      whileDown?.();
      await deployment.startApi();
    },
    async close() {
      await pool?.end();
      await stopWorkers(workers);
      for (const api of apis) await api.stop('SIGTERM');
      await db?.drop();
      if (redisUrl) await deleteKeys(redisUrl, redisPrefix);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return deployment;
}
