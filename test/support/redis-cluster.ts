// A Redis Cluster of a test's own: three masters (Debian's redis-server, no replicas) on free
// loopback ports, in a temporary directory, joined with `redis-cli --cluster create`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { until } from './live';
import { freePort } from './private-postgres';

export interface PrivateCluster {
  ports: number[];
  /** REDIS_CLUSTER_NODES for these nodes. */
  nodes: string;
  /** Runs redis-cli against one node and returns its output. */
  cli(port: number, ...args: string[]): string;
  destroy(): Promise<void>;
}

export async function createRedisCluster(size = 3): Promise<PrivateCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-redis-cluster-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  const cli = (port: number, ...args: string[]) => {
    const run = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (run.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${run.stderr}`);
    return run.stdout;
  };
  const destroy = async () => {
    await Promise.all(
      children
        .filter((c) => c.exitCode === null && c.signalCode === null)
        .map((c) => {
          const exited = new Promise((r) => c.once('exit', r));
          c.kill('SIGKILL');
          return exited;
        }),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < size; i++) {
      // The cluster bus needs a port too (port + 10000 by default, which may be taken or too high).
      const [port, bus] = [await freePort(), await freePort()];
      const nodeDir = path.join(dir, String(port));
      await mkdir(nodeDir);
      // Each node in its own directory, where it writes its nodes.conf.
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--cluster-port',
          String(bus),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--dir',
          nodeDir,
          '--save',
          '',
          '--appendonly',
          'no',
          '--daemonize',
          'no',
        ],
        { stdio: 'ignore' },
      );
      children.push(child);
      ports.push(port);
    }
    for (const port of ports)
      await until(
        () => {
          try {
            return cli(port, 'ping').trim() === 'PONG';
          } catch {
            return false;
          }
        },
        10_000,
        `redis-server on ${port}`,
      );
    cli(
      ports[0],
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    );
    for (const port of ports)
      await until(
        () => cli(port, 'cluster', 'info').includes('cluster_state:ok'),
        20_000,
        `cluster_state:ok on ${port}`,
      );
  } catch (error) {
    await destroy();
    throw error;
  }
  return { ports, nodes: ports.map((p) => `127.0.0.1:${p}`).join(','), cli, destroy };
}
