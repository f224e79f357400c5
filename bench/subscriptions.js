'use strict';
// Subscription fan-out: N WebSocket clients (graphql-transport-ws) subscribed to one evaluation's
// evaluationProgress, N = 1,000 and 5,000. Latency is from the moment the server read the state it
// pushes (the event's `at`) to its receipt by each client; memory is the server's live memory
// (V8 heap in use plus external, after a full GC) with N subscribers less without, per subscriber. Baseline in the same run: a plain `ws` server
// broadcasting the same JSON text to the same number of clients at the same pace.
const { envCount } = require('./lib/settings');
const crypto = require('node:crypto');
const path = require('node:path');
const pg = require('pg');
const WebSocket = require('ws');
const { startFakeJudge } = require('./baselines/fake-judge');
const { liveMemory, heapSnapshot } = require('./lib/inspect');
const { freePort, startServer, startOurs, getOk, describeExit, sleep } = require('./lib/servers');
const { gql, withDatabase } = require('./lib/graphql');

function settings() {
  const list = (name, fallback) => (process.env[name] || fallback).split(',').map(Number);
  return {
    clients: list('BENCH_SUB_CLIENTS', '1000,5000'),
    events: envCount('BENCH_SUB_EVENTS', 20),
    intervalMs: 250,
    pgUrl: process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    // A folder: heap snapshots of each server without and with the N subscribers go there.
    heapDir: process.env.BENCH_SUB_HEAP || null,
    // Another checkout of Evalgraph (with node_modules) measured too, in the same run: the build
    // before a change.
    beforeRoot: process.env.BENCH_BEFORE || null,
  };
}

/** Live memory now; with BENCH_SUB_HEAP, a heap snapshot `<name>-<n>-<when>.heapsnapshot` too. */
async function measureMemory(server, opts, n, when) {
  const live = await liveMemory(server.tail);
  if (opts.heapDir)
    await heapSnapshot(
      server.tail,
      path.join(opts.heapDir, `${server.name}-${n}-${when}.heapsnapshot`),
    );
  return live;
}

const pct = (sorted, p) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;

/** Opens `n` sockets, a few hundred at a time; `onOpen(socket, i)` may return a promise. */
async function connectAll(n, url, protocol, onOpen) {
  const sockets = [];
  for (let i = 0; i < n; i += 250) {
    await Promise.all(
      Array.from(
        { length: Math.min(250, n - i) },
        (_, j) =>
          new Promise((resolve, reject) => {
            const socket = protocol ? new WebSocket(url, protocol) : new WebSocket(url);
            socket.on('error', reject);
            socket.once('open', () => Promise.resolve(onOpen(socket, i + j)).then(resolve, reject));
            sockets.push(socket);
          }),
      ),
    );
  }
  return sockets;
}

async function closeAll(sockets) {
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise((resolve) =>
          s.readyState === WebSocket.CLOSED ? resolve() : (s.once('close', resolve), s.terminate()),
        ),
    ),
  );
}

/** Latency of every event after each client's first (the state at subscribe), in ms. */
function summarise(clients) {
  const latencies = clients.flatMap((c) => c.latencies.slice(1)).sort((a, b) => a - b);
  return {
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    perClient: clients.reduce((n, c) => n + c.latencies.length - 1, 0) / clients.length,
  };
}

async function runOurs(server, url, key, projectId, judge, n, opts) {
  const gate = judge.newGate();
  const items = Array.from(
    { length: Math.round((opts.events * opts.intervalMs) / 50) },
    (_, i) => ({ input: `q${i}`, output: `a${i}` }),
  );
  const created = await gql(
    url,
    key,
    'mutation($input: CreateEvaluationInput!) { createEvaluation(input: $input) { evaluation { id } } }',
    {
      input: {
        projectId,
        name: `fan-out ${n}`,
        testingCriteria: [
          {
            type: 'score_model',
            name: 'q',
            model: 'gpt-4o-mini',
            input: [{ role: 'user', content: 'Rate {{sample.output_text}}' }],
            pass_threshold: 0.5,
          },
        ],
        dataSource: { items },
      },
    },
  );
  const id = created.createEvaluation.evaluation.id;
  const query =
    'subscription($id: ID!) { evaluationProgress(id: $id) { status percentDone etaSeconds at resultCounts { total completed passed failed errored } perTestingCriteriaResults { name meanScore passRate } } }';
  /** Connects `clients.length` subscribers, each resolved at its first event (the state now). */
  const subscribe = (clients) =>
    connectAll(
      clients.length,
      `${url.replace('http', 'ws')}/graphql`,
      'graphql-transport-ws',
      (socket, i) =>
        new Promise((resolve) => {
          socket.on('message', (data) => {
            const text = String(data);
            const message = JSON.parse(text);
            if (message.type === 'connection_ack')
              socket.send(
                JSON.stringify({
                  id: '1',
                  type: 'subscribe',
                  payload: { query, variables: { id } },
                }),
              );
            else if (message.type === 'next') {
              const progress = message.payload.data.evaluationProgress;
              clients[i].latencies.push(Date.now() - Date.parse(progress.at));
              if (!clients[i].sample) {
                clients[i].sample = text;
                resolve();
              }
            } else if (message.type === 'complete') clients[i].done = true;
          });
          socket.send(
            JSON.stringify({
              type: 'connection_init',
              payload: { authorization: `Bearer ${key}` },
            }),
          );
        }),
    );
  const newClients = (k) =>
    Array.from({ length: k }, () => ({ latencies: [], done: false, sample: null }));
  // One subscriber first, gone before memory is read: what the first subscription of the process
  // sets up once (caches, compiled code) is not a cost per subscriber.
  await closeAll(await subscribe(newClients(1)));
  await sleep(1_000);
  const memoryBefore = await measureMemory(server, opts, n, 'before');
  const clients = newClients(n);
  const sockets = await subscribe(clients);
  await sleep(1_000);
  const memoryAfter = await measureMemory(server, opts, n, 'after');
  gate.open();
  const started = Date.now();
  while (clients.some((c) => !c.done) && Date.now() - started < 120_000) await sleep(100);
  await closeAll(sockets);
  return {
    ...summarise(clients),
    memoryPerClient: (memoryAfter - memoryBefore) / n,
    completed: clients.filter((c) => c.done).length,
    sample: clients[0].sample,
  };
}

async function runBaseline(base, n, sample, opts) {
  // As for ours: one client first, gone before memory is read.
  await closeAll(await connectAll(1, `${base.url.replace('http', 'ws')}/graphql`, null, () => {}));
  await sleep(1_000);
  const memoryBefore = await measureMemory(base.server, opts, n, 'before');
  const clients = Array.from({ length: n }, () => ({ latencies: [0] }));
  const sockets = await connectAll(
    n,
    `${base.url.replace('http', 'ws')}/graphql`,
    null,
    (socket, i) => {
      socket.on('message', (data) => {
        const message = JSON.parse(String(data));
        clients[i].latencies.push(
          Date.now() - Date.parse(message.payload.data.evaluationProgress.at),
        );
      });
    },
  );
  await sleep(1_000);
  const memoryAfter = await measureMemory(base.server, opts, n, 'after');
  const text = sample.replace(/"at":"[^"]+"/, '"at":"__AT__"');
  for (let k = 0; k < opts.events; k++) {
    await fetch(`${base.url}/broadcast`, { method: 'POST', body: text }).then((r) => r.text());
    await sleep(opts.intervalMs);
  }
  const started = Date.now();
  while (clients.some((c) => c.latencies.length <= opts.events) && Date.now() - started < 30_000)
    await sleep(100);
  await closeAll(sockets);
  return { ...summarise(clients), memoryPerClient: (memoryAfter - memoryBefore) / n };
}

module.exports = async function subscriptions() {
  const opts = settings();
  let gate = null;
  const judge = await startFakeJudge({
    delayMs: 50,
    hold: () => (gate ? gate.promise : Promise.resolve()),
  });
  judge.newGate = () => {
    let open;
    gate = { promise: new Promise((r) => (open = r)) };
    gate.open = open;
    return gate;
  };
  const dbName = `evalgraph_bench_subs_${crypto.randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: opts.pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const servers = [];
  try {
    const key = `evg_bench_${crypto.randomBytes(24).toString('base64url')}`;
    const start = (root, name, database) =>
      startOurs({
        databaseUrl: withDatabase(opts.pgUrl, database),
        key,
        root,
        name,
        // The inspector lets the benchmark read live memory after a full GC (lib/inspect.js).
        nodeArgs: ['--inspect=127.0.0.1:0'],
        // Rate limiting off, like the broadcast baseline: thousands of subscribers of one key would
        // otherwise spend its bucket (each event costs its selection).
        env: {
          EVALGRAPH_JUDGE_BASE_URL: judge.url,
          EVALGRAPH_JUDGE_API_KEY: 'sk-bench',
          EVALGRAPH_EVAL_CONCURRENCY: '1',
          EVALGRAPH_SUBSCRIPTIONS_PER_KEY: '100000',
          EVALGRAPH_RATE_LIMIT: 'false',
        },
      });
    const { server: ours, url } = await start(undefined, 'ours', dbName);
    servers.push(ours);
    const basePort = await freePort();
    const baseServer = await startServer({
      name: 'ws',
      command: process.execPath,
      args: ['--inspect=127.0.0.1:0', path.join(__dirname, 'baselines', 'ws-broadcast.js')],
      cwd: __dirname,
      env: { ...process.env, PORT: String(basePort) },
      ready: getOk(`http://127.0.0.1:${basePort}/health`),
    });
    servers.push(baseServer);
    const base = { server: baseServer, url: `http://127.0.0.1:${basePort}` };
    const projectOf = async (at) =>
      (await gql(at, key, '{ projects { edges { node { id } } } }')).projects.edges[0].node.id;
    const projectId = await projectOf(url);
    let before = null;
    if (opts.beforeRoot) {
      await admin.query(`CREATE DATABASE ${dbName}_before`);
      const started = await start(opts.beforeRoot, 'before', `${dbName}_before`);
      servers.push(started.server);
      before = { ...started, projectId: await projectOf(started.url) };
    }

    const rows = [];
    for (const n of opts.clients) {
      let p = null;
      if (before) {
        process.stderr.write(`${n} clients: before…\n`);
        p = await runOurs(before.server, before.url, key, before.projectId, judge, n, opts);
      }
      process.stderr.write(`${n} clients: ours…\n`);
      const o = await runOurs(ours, url, key, projectId, judge, n, opts);
      process.stderr.write(`${n} clients: ws baseline…\n`);
      const b = await runBaseline(base, n, o.sample, opts);
      rows.push({ n, o, b, p });
    }
    console.log(
      `\nsubscriptions: one evaluation's progress to N graphql-ws clients (Postgres), ${opts.events} pushes at most every ${opts.intervalMs} ms; baseline: plain ws broadcast of the same JSON\n`,
    );
    console.log('clients   target   p50 ms   p99 ms   events/client   live memory/subscriber');
    for (const { n, o, b, p } of rows) {
      if (p)
        console.log(
          `${String(n).padStart(7)}   before ${String(p.p50).padStart(7)}  ${String(p.p99).padStart(7)}   ${p.perClient.toFixed(1).padStart(13)}   ${(p.memoryPerClient / 1024).toFixed(1).padStart(10)} KiB   (${p.completed}/${n} saw the end; before / ws: p50 ${(p.p50 / Math.max(b.p50, 1)).toFixed(2)}x, p99 ${(p.p99 / Math.max(b.p99, 1)).toFixed(2)}x, memory ${(p.memoryPerClient / b.memoryPerClient).toFixed(2)}x)`,
        );
      console.log(
        `${String(n).padStart(7)}   ours   ${String(o.p50).padStart(7)}  ${String(o.p99).padStart(7)}   ${o.perClient.toFixed(1).padStart(13)}   ${(o.memoryPerClient / 1024).toFixed(1).padStart(10)} KiB   (${o.completed}/${n} saw the end)`,
      );
      console.log(
        `${String(n).padStart(7)}   ws     ${String(b.p50).padStart(7)}  ${String(b.p99).padStart(7)}   ${b.perClient.toFixed(1).padStart(13)}   ${(b.memoryPerClient / 1024).toFixed(1).padStart(10)} KiB`,
      );
      console.log(
        `${String(n).padStart(7)}   ours / ws: p50 ${(o.p50 / Math.max(b.p50, 1)).toFixed(2)}x, p99 ${(o.p99 / Math.max(b.p99, 1)).toFixed(2)}x, memory ${(o.memoryPerClient / b.memoryPerClient).toFixed(2)}x`,
      );
    }
    return 0;
  } catch (error) {
    for (const s of servers)
      if (s.exited)
        process.stderr.write(`${s.name} exited: ${describeExit(s.exited)}\n${s.tail.join('\n')}\n`);
    throw error;
  } finally {
    for (const s of servers) await s.stop();
    await judge.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${dbName}_before WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
};
