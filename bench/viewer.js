'use strict';
// `{ viewer { id } }` with an API key: the cheapest authenticated query, so it shows the
// fixed cost of our stack (auth, plugins, Pothos, Prisma) against servers doing nothing.
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const harness = require('./lib/harness');
const { freePort, startServer, getOk, describeExit } = require('./lib/servers');
const { interleaveWithCpu, cpuReport } = require('./lib/proc-cpu');

const root = path.resolve(__dirname, '..');
const QUERY = '{ viewer { id } }';

const expectViewer = (json) =>
  json.data.viewer && typeof json.data.viewer.id === 'string'
    ? undefined
    : 'data.viewer.id is not a string';

async function startOurs(port, apiKey, dataDir, { name = 'ours', custom, from = root } = {}) {
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    EVALGRAPH_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
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
  // Never inherit the caller's database: only an explicit BENCH_* URL points us elsewhere.
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  if (process.env.BENCH_DATABASE_URL) env.DATABASE_URL = process.env.BENCH_DATABASE_URL;
  if (process.env.BENCH_REDIS_URL) env.REDIS_URL = process.env.BENCH_REDIS_URL;

  const healthPath = process.env.BENCH_OURS_HEALTH || (custom ? '' : '/health/ready');
  return startServer({
    name,
    ...(custom
      ? { command: custom, shell: true }
      : { command: path.join(from, 'node_modules', '.bin', 'tsx'), args: ['src/cli.ts', 'serve'] }),
    cwd: from,
    env,
    timeoutMs: 60_000, // first start migrates an embedded PGlite database
    ready: healthPath
      ? getOk(`http://127.0.0.1:${port}${healthPath}`)
      : () => harness.probe(request(port, apiKey), expectViewer).then(() => true),
  });
}

function startBaseline(name, port) {
  return startServer({
    name,
    command: process.execPath,
    args: [path.join(__dirname, 'baselines', `${name}.js`)],
    cwd: __dirname,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' },
    timeoutMs: 20_000,
    ready: () => harness.probe(request(port, 'unused-by-baselines'), expectViewer).then(() => true),
  });
}

function request(port, apiKey) {
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ query: QUERY }),
  };
}

async function main() {
  const opts = harness.settings();
  const apiKey = crypto.randomBytes(32).toString('base64url'); // 43 chars, fresh each run
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'evalgraph-bench-'));
  const dataDirs = [dataDir];
  const servers = [];
  const stopAll = async () => {
    const stopped = [];
    for (const s of servers.splice(0)) {
      const exit = await s.stop();
      stopped.push({ name: s.name, exit: describeExit(exit), killed: Boolean(s.killed) });
    }
    for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
    return stopped;
  };
  // Ctrl-C mid-run should still stop the servers and remove the data dir.
  const onSignal = () => stopAll().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const [pOurs, pYoga, pApollo] = [await freePort(), await freePort(), await freePort()];
    const log = (line) => process.stderr.write(`${line}\n`);
    log(
      `starting ours${process.env.BENCH_OURS_CMD ? ` (BENCH_OURS_CMD: ${process.env.BENCH_OURS_CMD})` : ''}, yoga and apollo…`,
    );
    // Start one at a time: a PGlite migration competing with other starts only slows everything.
    // BENCH_OURS_CMD benches another build (or a baseline, to test the harness) in our place.
    servers.push(await startOurs(pOurs, apiKey, dataDir, { custom: process.env.BENCH_OURS_CMD }));
    servers.push(await startBaseline('yoga', pYoga));
    servers.push(await startBaseline('apollo', pApollo));
    log(`ready (ours in ${(servers[0].startMs / 1000).toFixed(1)} s)`);
    // BENCH_BEFORE=<checkout> also benches an earlier build of ours side by side, as "before": a
    // change's effect measured in one run.
    const before = process.env.BENCH_BEFORE;
    const pBefore = before && (await freePort());
    if (before) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evalgraph-bench-'));
      dataDirs.push(dir);
      servers.push(
        await startOurs(pBefore, apiKey, dir, { name: 'before', from: path.resolve(before) }),
      );
    }

    const targets = [
      { name: 'ours', request: request(pOurs, apiKey), expect: expectViewer, server: servers[0] },
      { name: 'yoga', request: request(pYoga, apiKey), expect: expectViewer, server: servers[1] },
      {
        name: 'apollo',
        request: request(pApollo, apiKey),
        expect: expectViewer,
        server: servers[2],
      },
      ...(before
        ? [
            {
              name: 'before',
              request: request(pBefore, apiKey),
              expect: expectViewer,
              server: servers[3],
            },
          ]
        : []),
    ];
    // CPU per request moves less than req/s with whatever else runs on a small shared machine.
    const { summaries, cpu } = await interleaveWithCpu(harness, targets, opts);
    const ratioRows = harness.ratios(summaries);
    const stopped = await stopAll();

    const title = `viewer: POST /graphql ${QUERY} (Authorization: Bearer <key>)`;
    process.stdout.write(harness.report({ title, opts, summaries, ratioRows }));
    process.stdout.write(cpuReport(harness, cpu));
    const file = harness.writeResults('viewer', {
      query: QUERY,
      ours: process.env.BENCH_OURS_CMD || 'tsx src/cli.ts serve',
      database: process.env.BENCH_DATABASE_URL ? 'postgres (BENCH_DATABASE_URL)' : 'pglite',
      redis: Boolean(process.env.BENCH_REDIS_URL),
      settings: opts,
      summaries,
      ratios: ratioRows,
      cpu,
      stopped,
    });
    process.stdout.write(`results: ${path.relative(root, file)}\n`);
    for (const s of stopped)
      if (s.killed)
        process.stderr.write(`warning: ${s.name} ignored SIGTERM for 15 s and was killed\n`);
    return summaries.every((s) => s.valid > 0) ? 0 : 1;
  } finally {
    await stopAll();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

module.exports = main;
if (require.main === module)
  main().then(
    (code) => process.exit(code),
    (e) => (console.error(e.message || e), process.exit(1)),
  );
