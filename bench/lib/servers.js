'use strict';
// Start and stop the servers under test as child processes, so each one has its
// own event loop and heap and none of them shares a process with the load generator.
const { spawn } = require('node:child_process');
const net = require('node:net');

const STOP_GRACE_MS = 15_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port free right now on 127.0.0.1 (the OS picks it, so parallel runs don't collide). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Spawn a server and resolve once `ready()` returns true.
 * `ready` is polled rather than read from the log so it works for any command.
 */
async function startServer({
  name,
  command,
  args = [],
  shell = false,
  cwd,
  env,
  ready,
  timeoutMs = 60_000,
}) {
  // Own process group: lets stop() kill a whole tree (tsx, npm, sh -c) if SIGTERM is ignored.
  const child = spawn(command, args, {
    cwd,
    env,
    shell,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = [];
  const keep = (chunk) => {
    for (const line of String(chunk).split('\n')) {
      if (!line) continue;
      if (process.env.BENCH_VERBOSE) process.stderr.write(`[${name}] ${line}\n`);
      tail.push(line);
      if (tail.length > 40) tail.shift();
    }
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);

  const server = {
    name,
    child,
    tail,
    exited: null,
    exitPromise: new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        server.exited = { code, signal };
        resolve(server.exited);
      });
      child.on('error', (error) => {
        server.exited = { code: null, signal: null, error: error.message };
        resolve(server.exited);
      });
    }),
    stop: (graceMs) => stopServer(server, { shell, graceMs }),
  };
  live.add(server);

  const started = Date.now();
  while (true) {
    if (server.exited)
      throw startError(server, `exited during start (${describeExit(server.exited)})`);
    if (Date.now() - started > timeoutMs) {
      await server.stop(2_000);
      throw startError(server, `not ready after ${timeoutMs / 1000} s`);
    }
    if (await ready().catch(() => false)) break;
    await sleep(200);
  }
  server.startMs = Date.now() - started;
  return server;
}

/**
 * SIGTERM, then SIGKILL to the whole group after graceMs; resolves with how it exited. The default
 * outlasts our server's own shutdown bound (EVALGRAPH_SHUTDOWN_TIMEOUT_MS, 10 s): a drain that takes
 * all of it is a slow exit, not a hang.
 */
async function stopServer(server, { shell, graceMs = STOP_GRACE_MS }) {
  const { child } = server;
  if (!server.exited) {
    // With a shell the pid is sh's, which may not pass signals on: signal the group instead.
    // Without one, signal only the pid: tsx relays it, and a second copy could force-exit the server.
    signal(shell ? -child.pid : child.pid, 'SIGTERM');
    const exited = await Promise.race([server.exitPromise, sleep(graceMs).then(() => null)]);
    if (!exited) {
      server.killed = true;
      signal(-child.pid, 'SIGKILL');
      await server.exitPromise;
    }
  }
  // Grandchildren (tsx's node) can outlive the leader; clean the group either way.
  signal(-child.pid, 'SIGKILL');
  live.delete(server);
  return server.exited;
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

const live = new Set();
// Detached children survive our crash; kill the groups we started if we exit early.
process.on('exit', () => {
  for (const s of live) signal(-s.child.pid, 'SIGKILL');
});

function describeExit(e) {
  if (e.error) return e.error;
  return e.signal ? `signal ${e.signal}` : `code ${e.code}`;
}

function startError(server, why) {
  const log = server.tail.length
    ? `\n--- last output of ${server.name} ---\n${server.tail.join('\n')}`
    : '';
  return new Error(`${server.name} ${why}${log}`);
}

/** A ready() that is true once GET url answers 200. */
const getOk = (url) => async () =>
  (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status === 200;

const ROOT = require('node:path').resolve(__dirname, '..', '..');

/**
 * Our server (`tsx src/cli.ts serve`, API and worker) on a free port against `databaseUrl`, with an
 * admin key and project made at start; `env` adds settings, `nodeArgs` node flags; `root` another
 * checkout to run (a build before a change), named `name`.
 * Resolves with the running server and its base URL.
 */
async function startOurs({
  databaseUrl,
  key,
  env = {},
  nodeArgs = [],
  root = ROOT,
  name = 'ours',
}) {
  const port = await freePort();
  const server = await startServer({
    name,
    command: require('node:path').join(root, 'node_modules', '.bin', 'tsx'),
    // BENCH_OURS_NODE_ARGS adds node flags, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile.
    args: [
      ...nodeArgs,
      ...(process.env.BENCH_OURS_NODE_ARGS || '').split(' ').filter(Boolean),
      'src/cli.ts',
      'serve',
    ],
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: process.env.BENCH_NODE_ENV || 'production',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'warn',
      DATABASE_URL: databaseUrl,
      EVALGRAPH_INIT_ADMIN_EMAIL: 'bench@example.com',
      EVALGRAPH_INIT_PROJECT: 'bench',
      EVALGRAPH_INIT_API_KEY: key,
      ...env,
    },
    timeoutMs: 90_000,
    ready: getOk(`http://127.0.0.1:${port}/health/ready`),
  });
  return { server, url: `http://127.0.0.1:${port}` };
}

module.exports = { freePort, startServer, startOurs, getOk, describeExit, sleep };
