// A Postgres server of a test's own (initdb into a temp directory, a free port), for tests that
// kill it: the machine's shared server is never touched. initdb and postgres refuse to run as
// root, so under root they run as the `postgres` OS user, in a directory that user owns.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

const BIN = process.env.EVALGRAPH_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = net
      .createServer()
      .once('error', reject)
      .listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as net.AddressInfo;
        srv.close(() => resolve(port));
      });
  });

function osUser(name: string): { uid: number; gid: number } {
  const id = (flag: string) =>
    Number(spawnSync('id', [flag, name], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

export interface PrivatePostgres {
  port: number;
  /** A URL of `database` on this server. */
  url(database?: string): string;
  /** Starts the server on its directory and port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** `kill -9` of the postmaster: a crash, not a shutdown. Resolves once the port refuses. */
  crash(): Promise<void>;
  /** Stops it (if running) and removes its directory. */
  destroy(): Promise<void>;
  log(): string;
}

export async function createPrivatePostgres(): Promise<PrivatePostgres> {
  const asRoot = process.getuid?.() === 0;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-pg-'));
  const data = path.join(dir, 'data');
  if (asRoot) {
    const { uid, gid } = osUser('postgres');
    await chown(dir, uid, gid);
  }
  const command = (bin: string, args: string[]): [string, string[]] =>
    asRoot
      ? ['runuser', ['-u', 'postgres', '--', path.join(BIN, bin), ...args]]
      : [path.join(BIN, bin), args];
  const [initdb, initArgs] = command('initdb', [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  const init = spawnSync(initdb, initArgs, { encoding: 'utf8', timeout: 120_000 });
  if (init.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(
      `initdb failed (${init.status}): ${init.stderr}${init.stdout}${init.error ?? ''}`,
    );
  }
  const port = await freePort();
  let server: ChildProcess | null = null;
  // A file, not pipes: the server's children hold its output open after it exits, which would keep jest waiting.
  const logFile = path.join(dir, 'postgres.log');
  const out = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const url = (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`;
  const postmasterPid = async () =>
    Number(
      (await readFile(path.join(data, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0],
    ) || null;
  const accepts = async () => {
    const client = new pg.Client({ connectionString: url(), connectionTimeoutMillis: 1_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  };
  const exited = (child: ChildProcess) =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((r) => child.once('exit', () => r()));

  async function startOnce(): Promise<boolean> {
    const [postgres, args] = command('postgres', [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=50',
    ]);
    const fd = openSync(logFile, 'a');
    const child = spawn(postgres, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    server = child;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) return false;
      if (await accepts()) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`postgres did not start:\n${out()}`);
  }

  return {
    port,
    url,
    async start() {
      // After a crash the old backends may hold the shared memory for a moment: try again.
      for (let attempt = 0; attempt < 20; attempt += 1) {
        if (await startOnce()) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`postgres would not start again:\n${out()}`);
    },
    async crash() {
      const pid = await postmasterPid();
      if (!pid) throw new Error('postgres is not running');
      process.kill(pid, 'SIGKILL');
      if (server) await exited(server);
      // Its backends notice the postmaster's death and end; the port refuses at once.
      while (await accepts()) await new Promise((r) => setTimeout(r, 20));
    },
    async destroy() {
      const pid = await postmasterPid();
      if (pid && server && server.exitCode === null) {
        try {
          process.kill(pid, 'SIGQUIT');
        } catch {
          // gone already
        }
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited(server), new Promise((r) => (timer = setTimeout(r, 5_000)))]);
        clearTimeout(timer);
        if (server.exitCode === null) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone already
          }
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
    log: out,
  };
}
