// A Postgres server of a test's own (initdb into a temp directory, a free port), for tests that
// kill or freeze it: the machine's shared server is never touched. initdb and postgres refuse to run as
// root, so under root they run as the `postgres` OS user, in a directory that user owns.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { chown, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
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

/** The processes whose parent is `pid` (from /proc: Linux). */
async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // After the command in parentheses (which may hold spaces): the state, then the parent's pid.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) children.push(Number(entry));
  }
  return children;
}

/** A process that has exited meanwhile (a backend whose client left) needs no signal. */
function signal(pid: number, name: NodeJS.Signals) {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}

export interface PrivatePostgres {
  port: number;
  /** A URL of `database` on this server. */
  url(database?: string): string;
  /** Starts the server on its directory and port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** `kill -9` of the postmaster: a crash, not a shutdown. Resolves once the port refuses. */
  crash(): Promise<void>;
  /**
   * SIGSTOP of every process of this server (the postmaster first, so that it forks no more, then
   * its children): a server that answers nothing and closes nothing, as a hung host, a hung disk or
   * a network partition look to a client. The kernel still accepts TCP connections to its port.
   */
  freeze(): Promise<void>;
  /** SIGCONT of the processes `freeze` stopped. */
  thaw(): Promise<void>;
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
  // The postmaster, then its children, while frozen.
  let frozen: number[] = [];
  async function thaw() {
    if (!frozen.length) return;
    // Children first: the postmaster then finds them as they were.
    for (const pid of frozen.slice(1)) signal(pid, 'SIGCONT');
    signal(frozen[0], 'SIGCONT');
    // runuser (under root) stops itself when its child stops, as a shell's job would.
    if (server?.pid) signal(server.pid, 'SIGCONT');
    frozen = [];
  }
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
    async freeze() {
      const pid = await postmasterPid();
      if (!pid) throw new Error('postgres is not running');
      process.kill(pid, 'SIGSTOP');
      frozen = [pid, ...(await childrenOf(pid))];
      for (const child of frozen.slice(1)) signal(child, 'SIGSTOP');
    },
    thaw,
    async destroy() {
      // A stopped server would hold its signals (and this test) until continued.
      await thaw();
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
