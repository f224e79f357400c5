'use strict';
// Embedded mode (PGlite) against Postgres mode under load: the same server, data and query (the
// traces page: 20 newest traces × first 10 spans with costs) with 50 connections, side by side in
// one run. The response cache is off in both (EVALGRAPH_RESPONSE_CACHE=false), so every request
// runs its statements: the database path is what is measured. Goal (issue 22): embedded has no
// timeouts, p99 < 1 s and ≥ 0.5× Postgres mode's req/s.
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const harness = require('./lib/harness');
const { gql, withClient, withDatabase } = require('./lib/graphql');
const { startOurs, describeExit } = require('./lib/servers');
const { envNumber } = require('./lib/settings');
const tq = require('./traces-query');

const root = path.resolve(__dirname, '..');

function settings() {
  const opts = harness.settings();
  // 50 connections and 10 s runs unless told otherwise: the load of the issue, and p99 needs samples.
  if (!process.env.BENCH_CONNECTIONS) opts.connections = 50;
  if (!process.env.BENCH_DURATION) opts.duration = 10;
  return {
    ...opts,
    traces: envNumber('BENCH_TQ_TRACES', 200, { min: 20, whole: true }),
    spansPerTrace: envNumber('BENCH_TQ_SPANS', 10, { min: 10, whole: true }),
    adminUrl: process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  };
}

/** Starts ours, timed from spawn to /health/ready (migrating a fresh database included). */
async function start(name, databaseUrl, key, env) {
  const started = Date.now();
  const { server, url } = await startOurs({
    databaseUrl,
    key,
    env: {
      EVALGRAPH_RESPONSE_CACHE: 'false',
      // The bench's admin (ENTERPRISE) with a bucket no load here empties: limits checked, none throttles.
      EVALGRAPH_RATE_LIMIT_TIERS: JSON.stringify({
        ENTERPRISE: { capacity: 1e8, restoreRate: 1e7 },
      }),
      REDIS_URL: '',
      ...env,
    },
  });
  server.name = name;
  return { name, server, url, startMs: Date.now() - started };
}

async function main() {
  const opts = settings();
  const log = (line) => process.stderr.write(`${line}\n`);
  const key = crypto.randomBytes(32).toString('base64url');
  const dbName = `evalgraph_bench_emb_${crypto.randomBytes(5).toString('hex')}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'evalgraph-bench-embedded-'));
  let dbCreated = false;
  const servers = [];
  let cleaned = null;
  const cleanUp = () =>
    (cleaned ??= (async () => {
      const stopped = [];
      for (const s of servers.splice(0)) {
        const exit = await s.server.stop();
        stopped.push({ name: s.name, exit: describeExit(exit), killed: Boolean(s.server.killed) });
      }
      if (dbCreated)
        await withClient(opts.adminUrl, (c) =>
          c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`),
        ).catch((e) => log(`warning: could not drop database ${dbName}: ${e.message}`));
      fs.rmSync(dataDir, { recursive: true, force: true });
      return stopped;
    })());
  const onSignal = () => cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    await withClient(opts.adminUrl, (c) => c.query(`CREATE DATABASE ${dbName}`));
    dbCreated = true;
    log(`starting ours in embedded mode (${dataDir}) and in Postgres mode (${dbName})…`);
    const targets = [
      await start('embedded', '', key, { EVALGRAPH_DATA_DIR: dataDir }),
      await start('postgres', withDatabase(opts.adminUrl, dbName), key, {}),
    ];
    servers.push(...targets);
    const spans = tq.makeSpans(opts);
    for (const t of targets) {
      const data = await gql(t.url, key, '{ projects(first: 1) { edges { node { id name } } } }');
      const project = data.projects.edges.find((e) => e.node.name === 'bench')?.node;
      if (!project) throw new Error(`${t.name}: no project "bench"`);
      const seeded = Date.now();
      await tq.seed(Number(new URL(t.url).port), key, project.id, spans);
      log(
        `${t.name}: ready in ${t.startMs} ms; seeded ${opts.traces} traces × ${opts.spansPerTrace} spans in ${((Date.now() - seeded) / 1000).toFixed(1)} s`,
      );
      Object.assign(t, {
        request: tq.graphqlRequest(
          Number(new URL(t.url).port),
          tq.QUERY_OURS,
          { p: project.id },
          { authorization: `Bearer ${key}` },
        ),
        expect: tq.expectTraces('traces', 'spans'),
        keepTimeouts: true,
        // Ids differ between the two databases: each server's answers are checked against its own probe.
      });
    }
    await withClient(withDatabase(opts.adminUrl, dbName), (c) => c.query('ANALYZE'));

    // Runs with timeouts count here (they are what this measures); errors and non-2xx still discard.
    const summaries = await harness.interleave(targets, opts);
    const ratioRows = harness.ratios(summaries);
    const stopped = await cleanUp();
    const title = `embedded: ours in embedded mode (PGlite) against Postgres mode, traces page uncached, ${opts.connections} connections`;
    process.stdout.write(harness.report({ title, opts, summaries, ratioRows }));
    const timeouts = summaries.map((s) => ({
      name: s.name,
      timeouts: s.runs.reduce((n, r) => n + (r.timeouts || 0), 0),
      worstP99: Math.max(...s.runs.filter((r) => r.valid).map((r) => r.p99)),
    }));
    const vs = ratioRows[0];
    const emb = summaries[0];
    const embTimeouts = timeouts[0].timeouts;
    const met =
      vs.rps != null && vs.rps >= 0.5 && emb.p99 != null && emb.p99 < 1000 && !embTimeouts;
    const x = (n) => (n == null ? 'n/a' : `${n.toFixed(2)}x`);
    process.stdout.write(
      [
        harness.table([
          ['target', 'start ms', 'timeouts (all runs)', 'worst run p99 ms'],
          ...targets.map((t, i) => [
            t.name,
            String(t.startMs),
            String(timeouts[i].timeouts),
            timeouts[i].worstP99.toFixed(1),
          ]),
        ]),
        '',
        `goal embedded: no timeouts (${embTimeouts}), p99 < 1000 ms (${emb.p99?.toFixed(1)}), req/s ≥ 0.50x Postgres mode (${x(vs.rps)}): ${met ? 'met' : 'NOT met'}`,
        'response cache off in both (EVALGRAPH_RESPONSE_CACHE=false); rate limiting on; no Redis.',
        '',
      ].join('\n'),
    );
    const file = harness.writeResults('embedded', {
      settings: opts,
      start: targets.map((t) => ({ name: t.name, ms: t.startMs })),
      summaries,
      ratios: ratioRows,
      timeouts,
      goal: { rps: vs.rps, p99: emb.p99, timeouts: embTimeouts, met },
      stopped,
    });
    process.stdout.write(`results: ${path.relative(root, file)}\n`);
    return summaries.every((s) => s.valid > 0) ? 0 : 1;
  } finally {
    await cleanUp();
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
