// Redis through Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_MASTER), on servers of this test's own:
// a master, its replica and one sentinel on loopback. The server finds the master through the
// sentinel, and after a failover writes its buckets to the new master.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTestApp, type TestApp } from './support/app';
import { until } from './support/live';
import { freePort } from './support/private-postgres';

jest.setTimeout(120_000);

const prefix = `evalgraph_sentinel_${process.pid}:`;
let dir = '';
const children: ChildProcess[] = [];
let app: TestApp | null = null;
let master = 0;
let replica = 0;
let sentinel = 0;

const cli = (port: number, ...args: string[]) =>
  spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    encoding: 'utf8',
    timeout: 10_000,
  }).stdout.trim();
const server = (args: string[]) => {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  children.push(child);
};
// In the test's own folder: a replica's sync writes an RDB file even with `--save ''`.
const common = () => ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-sentinel-'));
  [master, replica, sentinel] = [await freePort(), await freePort(), await freePort()];
  server(['--port', String(master), ...common()]);
  server(['--port', String(replica), '--replicaof', '127.0.0.1', String(master), ...common()]);
  // A sentinel rewrites its own configuration file.
  const conf = path.join(dir, 'sentinel.conf');
  await writeFile(
    conf,
    [
      `port ${sentinel}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor evalgraph 127.0.0.1 ${master} 1`,
      'sentinel down-after-milliseconds evalgraph 1000',
      'sentinel failover-timeout evalgraph 5000',
      '',
    ].join('\n'),
  );
  server([conf, '--sentinel']);
  await until(
    () => cli(replica, 'info', 'replication').includes('master_link_status:up'),
    20_000,
    'the replica in sync',
  );
  await until(
    () => cli(sentinel, 'sentinel', 'replicas', 'evalgraph').includes(String(replica)),
    20_000,
    'the sentinel knows the replica',
  );
  app = await createTestApp({
    REDIS_URL: '',
    REDIS_SENTINELS: `127.0.0.1:${sentinel}`,
    REDIS_SENTINEL_MASTER: 'evalgraph',
    REDIS_KEY_PREFIX: prefix,
  });
});

afterAll(async () => {
  await app?.close();
  await Promise.all(
    children.map((c) => {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      return exited;
    }),
  );
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Bucket keys of the test's prefix on the server at `port`. */
const buckets = (port: number) =>
  cli(port, '--scan', '--pattern', `${prefix}bucket:*`).split('\n').filter(Boolean);

it('finds the master through the sentinel, and the new master after a failover', async () => {
  // Until the client has connected, requests use the process's buckets (as when Redis is down).
  await until(
    async () => {
      expect((await app!.gql('{ viewer { email } }')).status).toBe(200);
      return buckets(master).length > 0;
    },
    20_000,
    'buckets on the master',
  );
  cli(master, 'flushall');
  await until(() => buckets(replica).length === 0, 10_000, 'the replica emptied too');

  expect(cli(sentinel, 'sentinel', 'failover', 'evalgraph')).toBe('OK');
  await until(
    () =>
      cli(sentinel, 'sentinel', 'get-master-addr-by-name', 'evalgraph').includes(String(replica)),
    20_000,
    'the replica promoted',
  );
  // The server follows: its buckets are written to the new master (the old one, now a replica,
  // refuses writes).
  await until(
    async () => {
      await app!.gql('{ viewer { email } }');
      return buckets(replica).length > 0 && cli(replica, 'role').startsWith('master');
    },
    20_000,
    'buckets on the new master',
  );
  expect((await fetch(`${app!.url}/health/ready`)).status).toBe(200);
});
