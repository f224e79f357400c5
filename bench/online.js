'use strict';
// Online evaluation under live traffic: spans ingested at a steady BENCH_ONLINE_SPANS_PER_SEC (200)
// for BENCH_ONLINE_SECONDS (60) into a project with three online evaluation rules (two call an LLM
// judge, a fake provider answering in BENCH_ONLINE_JUDGE_MS = 50 ms) and, at the same time, the same
// traffic into a project of the same server without rules. Reported: the lag from a trace's last
// batch to its scores (p50/p95/p99, as the server stored it per task); ingest's batch latency with
// rules against without, side by side under the same load; and, once everything is judged, the
// project without rules alone (what the judging cost the machine meanwhile).
const { envNumber } = require('./lib/settings');
const crypto = require('node:crypto');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const pg = require('pg');
const { startFakeJudge } = require('./baselines/fake-judge');
const harness = require('./lib/harness');
const { gql, sendBatch, withDatabase } = require('./lib/graphql');
const { CHECK, CREATE_RULE } = require('./lib/rules');
const { startOurs, describeExit, sleep } = require('./lib/servers');
const { makeBatch } = require('./ingest');

const TICK_MS = 100;
const SPANS_PER_TRACE = 10;

function settings() {
  const spansPerSec = envNumber('BENCH_ONLINE_SPANS_PER_SEC', 200, { min: 20 });
  if (spansPerSec % 20)
    throw new Error(
      'BENCH_ONLINE_SPANS_PER_SEC: expected a multiple of 20 (traces of 10 spans, 10 batches a second)',
    );
  return {
    spansPerSec,
    seconds: envNumber('BENCH_ONLINE_SECONDS', 60, { min: 1 }),
    judgeMs: envNumber('BENCH_ONLINE_JUDGE_MS', 50),
    delaySeconds: envNumber('BENCH_ONLINE_DELAY_SECONDS', 5),
    warmup: envNumber('BENCH_WARMUP', 5),
    quietSeconds: envNumber('BENCH_ONLINE_QUIET_SECONDS', 30),
    drainSeconds: envNumber('BENCH_ONLINE_DRAIN_SECONDS', 120, { min: 1 }),
    pgUrl: process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  };
}

const judged = (name, content) => ({
  type: 'score_model',
  name,
  model: 'gpt-4o-mini',
  input: [{ role: 'user', content }],
  pass_threshold: 0.5,
});
const RULES = [
  {
    name: 'answer quality (every trace)',
    target: 'TRACE',
    filter: {},
    samplingRate: 1,
    testingCriteria: [judged('quality', 'Rate this answer: {{sample.output_text}}')],
  },
  {
    name: 'gpt-4o tone (a fifth of the calls)',
    target: 'SPAN',
    filter: { spanKind: 'LLM', model: 'gpt-4o' },
    samplingRate: 0.2,
    testingCriteria: [
      {
        type: 'label_model',
        name: 'tone',
        model: 'gpt-4o-mini',
        input: [{ role: 'user', content: 'Tone of: {{sample.output_text}}' }],
        labels: ['polite', 'rude'],
        passing_labels: ['polite'],
      },
    ],
  },
  {
    name: 'non-empty LLM output (a tenth, no judge)',
    target: 'SPAN',
    filter: { spanKind: 'LLM' },
    samplingRate: 0.1,
    testingCriteria: [CHECK],
  },
];

/**
 * Sends `spansPerSec` for `seconds`, a batch every 100 ms, open loop (a slow answer does not delay
 * the next batch). Each trace is split over two batches: its root and four calls, then the other
 * five calls 100 ms later, so every trace is a multi-batch one.
 */
async function stream(url, key, projectGid, prefix, opts, baseMs, offsetMs = 0) {
  const tracesPerTick = opts.spansPerSec / 10 / SPANS_PER_TRACE;
  const ticks = Math.round((opts.seconds * 1000) / TICK_MS);
  const latencies = [];
  const failures = [];
  let spans = 0;
  let carry = [];
  const inFlight = [];
  if (offsetMs) await sleep(offsetMs);
  const started = performance.now();
  for (let tick = 0; tick <= ticks; tick++) {
    const wait = started + tick * TICK_MS - performance.now();
    if (wait > 0) await sleep(wait);
    const fresh =
      tick < ticks ? makeBatch(prefix, tick, tracesPerTick * SPANS_PER_TRACE, baseMs) : [];
    const now = [...carry];
    carry = [];
    for (let t = 0; t < fresh.length; t += SPANS_PER_TRACE) {
      now.push(...fresh.slice(t, t + 5));
      carry.push(...fresh.slice(t + 5, t + SPANS_PER_TRACE));
    }
    inFlight.push(
      sendBatch(url, key, projectGid, now, latencies, failures).then((n) => {
        spans += n;
      }),
    );
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  return {
    batches: latencies.length,
    spans,
    spansPerSec: spans / seconds,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    mean: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
    failures,
  };
}

function pct(xs, p) {
  if (!xs.length) return null;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** Lag per rule and overall, as the server stored it: from each trace's last batch to its scores. */
async function lags(pool, projectId) {
  const q = `SELECT r.name, count(*)::int AS n,
       count(*) FILTER (WHERE t.state = 'DONE')::int AS done,
       count(*) FILTER (WHERE t.state <> 'DONE')::int AS not_done,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.done_at - t.last_seen_at)) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM t.done_at - t.last_seen_at)) AS p95,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM t.done_at - t.last_seen_at)) AS p99,
       max(extract(epoch FROM t.done_at - t.last_seen_at))::float8 AS max
     FROM online_evaluation_tasks t JOIN evaluation_rules r ON r.id = t.rule_id
     WHERE t.project_id = $1`;
  const perRule = (await pool.query(`${q} GROUP BY r.name ORDER BY r.name`, [projectId])).rows;
  const all = (await pool.query(q.replace('r.name, ', "'all' AS name, "), [projectId])).rows[0];
  return { perRule, all };
}

module.exports = async function online() {
  const opts = settings();
  const log = (line) => process.stderr.write(`${line}\n`);
  const judge = await startFakeJudge({ delayMs: opts.judgeMs });
  const runId = crypto.randomBytes(6).toString('hex');
  const dbName = `evalgraph_bench_online_${runId}`;
  const admin = new pg.Client({ connectionString: opts.pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const pool = new pg.Pool({ connectionString: withDatabase(opts.pgUrl, dbName), max: 2 });
  pool.on('error', () => {});
  let server = null;
  try {
    const key = `evg_bench_${crypto.randomBytes(24).toString('base64url')}`;
    log(`database ${dbName}; starting ours (API and worker, fake judge ${opts.judgeMs} ms)…`);
    let url;
    ({ server, url } = await startOurs({
      databaseUrl: withDatabase(opts.pgUrl, dbName),
      key,
      env: { EVALGRAPH_JUDGE_BASE_URL: judge.url, EVALGRAPH_JUDGE_API_KEY: 'sk-bench' },
    }));
    const project = async (name) =>
      (
        await gql(
          url,
          key,
          `mutation { createProject(input: { name: "${name}" }) { project { id } } }`,
        )
      ).createProject.project.id;
    const withRules = await project('online-rules');
    const without = await project('online-none');
    for (const rule of RULES)
      await gql(url, key, CREATE_RULE, {
        input: { projectId: withRules, delaySeconds: opts.delaySeconds, ...rule },
      });
    const rawId = (gid) => Buffer.from(gid, 'base64').toString().split(':')[1];
    const baseMs = Math.floor((Date.now() - 6 * 3600_000) / 1000) * 1000;
    const prefix = (n) => `${runId}${n}`.padEnd(14, '0');

    if (opts.warmup > 0) {
      const warm = await stream(
        url,
        key,
        without,
        prefix('w0'),
        { ...opts, seconds: opts.warmup },
        baseMs,
      );
      log(`warm-up  ${warm.batches} batches into the project without rules (not counted)`);
    }
    log(
      `ingest   ${opts.spansPerSec} spans/s for ${opts.seconds} s into the project with ${RULES.length} rules, and as much into the one without…`,
    );
    // Side by side, the second 50 ms behind: the same server, load and judging for both.
    const [a, b] = await Promise.all([
      stream(url, key, withRules, prefix('a1'), opts, baseMs),
      stream(url, key, without, prefix('b2'), opts, baseMs, TICK_MS / 2),
    ]);
    for (const [name, r] of [
      ['with rules', a],
      ['without', b],
    ])
      log(
        `         ${name}: ${r.spans} spans, batch p50 ${r.p50?.toFixed(1)} ms p99 ${r.p99?.toFixed(1)} ms, ${r.failures.length} failed`,
      );
    // Drain: every sampled trace judged.
    const drainStart = performance.now();
    let pending = null;
    while (performance.now() - drainStart < opts.drainSeconds * 1000) {
      pending = (
        await pool.query(
          `SELECT count(*)::int AS n FROM online_evaluation_tasks WHERE project_id = $1 AND state IN ('PENDING', 'RUNNING')`,
          [rawId(withRules)],
        )
      ).rows[0].n;
      if (pending === 0) break;
      await sleep(250);
    }
    log(
      `drained  ${pending === 0 ? 'all judged' : `${pending} still pending`} ${((performance.now() - drainStart) / 1000).toFixed(1)} s after ingest ended`,
    );
    const quiet = opts.quietSeconds
      ? await stream(
          url,
          key,
          without,
          prefix('c3'),
          { ...opts, seconds: opts.quietSeconds },
          baseMs,
        )
      : null;
    if (quiet)
      log(
        `quiet    ${quiet.spans} spans into the project without rules alone, nothing judged: batch p50 ${quiet.p50?.toFixed(1)} ms p99 ${quiet.p99?.toFixed(1)} ms`,
      );

    const lag = await lags(pool, rawId(withRules));
    const scores = (
      await pool.query('SELECT count(*)::int AS n FROM scores WHERE project_id = $1', [
        rawId(withRules),
      ])
    ).rows[0].n;
    const f = (n, d = 2) => (n == null ? 'n/a' : Number(n).toFixed(d));
    const rows = [
      ['rule', 'sampled', 'judged', 'not judged', 'lag p50 s', 'p95 s', 'p99 s', 'max s'],
      ...[...lag.perRule, lag.all].map((r) => [
        r.name,
        r.n,
        r.done,
        r.not_done,
        f(r.p50),
        f(r.p95),
        f(r.p99),
        f(r.max),
      ]),
    ];
    const ratio = (x, y) => (x && y ? y / x : null);
    console.log(
      [
        '',
        `online: ${opts.spansPerSec} spans/s (traces of ${SPANS_PER_TRACE} spans, each over two batches 100 ms apart) for ${opts.seconds} s, ${RULES.length} rules (two with an LLM judge at ${opts.judgeMs} ms), delay ${opts.delaySeconds} s (Postgres)`,
        '',
        harness.table(rows),
        '',
        `scores written ${scores}; judge calls ${judge.calls()}; lag beyond the ${opts.delaySeconds} s delay: p50 ${f(lag.all.p50 - opts.delaySeconds)} s, p99 ${f(lag.all.p99 - opts.delaySeconds)} s`,
        '',
        harness.table([
          ['ingest', 'spans', 'spans/s', 'batch p50 ms', 'batch p99 ms', 'mean ms', 'failed'],
          ...[
            ['with rules', a],
            ['without, same time', b],
            ...(quiet ? [['without, alone', quiet]] : []),
          ].map(([name, r]) => [
            name,
            r.spans,
            f(r.spansPerSec, 0),
            f(r.p50, 1),
            f(r.p99, 1),
            f(r.mean, 1),
            r.failures.length,
          ]),
        ]),
        '',
        `ingest with / without rules, side by side (batch latency without ÷ with; 1.00x: no cost): p50 ${f(ratio(a.p50, b.p50))}x, p99 ${f(ratio(a.p99, b.p99))}x, mean ${f(ratio(a.mean, b.mean))}x`,
        ...(quiet
          ? [
              `the judging's load on the machine (without rules: alone ÷ while the rules judged): p50 ${f(ratio(b.p50, quiet.p50))}x, mean ${f(ratio(b.mean, quiet.mean))}x`,
            ]
          : []),
        '',
      ].join('\n'),
    );
    const file = harness.writeResults('online', {
      settings: { ...opts, pgUrl: undefined },
      rules: RULES,
      withRules: a,
      without: b,
      quiet,
      lag,
      scores,
      judgeCalls: judge.calls(),
    });
    console.log(`results: ${path.relative(path.resolve(__dirname, '..'), file)}`);
    return a.failures.length || b.failures.length || quiet?.failures.length || pending ? 1 : 0;
  } catch (error) {
    if (server?.exited)
      log(`ours exited: ${describeExit(server.exited)}\n${server.tail.join('\n')}`);
    throw error;
  } finally {
    if (server) await server.stop();
    await judge.close();
    await pool.end().catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
};
