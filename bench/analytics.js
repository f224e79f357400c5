'use strict';
// Analytics over many spans: N spans (BENCH_SPANS, 20,000,000 by default) over the last 30 days in
// one project, generated in SQL, their rollups built by `evalgraph rollups rebuild` (what an
// operator runs after loading spans in bulk). Then, in alternating rounds, each of three dashboard
// questions asked of our server over HTTP (the default configuration: rate limits and response
// cache on; each round asks a new window, ending now, so nothing is answered from the cache)
// against the same answer computed by a hand-written SQL aggregation over the raw spans:
//   - costSummary over 30 days by model × day;
//   - metrics: hourly p95 latency over the last 7 days;
//   - the top 10 end users by cost over 30 days.
// Figures are medians; goals: ours ≤ 100 ms at p50 and ≥ 20× faster than the raw aggregation.
const { envCount, median } = require('./lib/settings');
const crypto = require('node:crypto');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { performance } = require('node:perf_hooks');
const pg = require('pg');
const { startOurs } = require('./lib/servers');
const { gql, withDatabase } = require('./lib/graphql');

const ROOT = path.resolve(__dirname, '..');
const DAY = 86_400_000;

function settings() {
  return {
    spans: envCount('BENCH_SPANS', 20_000_000),
    users: envCount('BENCH_USERS', 1_000),
    runs: envCount('BENCH_RUNS', 5),
    pgUrl: process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    // Keep the database afterwards (its name is printed), to look at the plans.
    keep: process.env.BENCH_KEEP === '1',
    // Ask the questions of a database an earlier BENCH_KEEP run left (no seeding, no rebuild).
    reuse: process.env.BENCH_DB || null,
  };
}

const MODELS = [
  ['gpt-4o', 'openai'],
  ['gpt-4o-mini', 'openai'],
  ['o3-mini', 'openai'],
  ['claude-3-5-sonnet', 'anthropic'],
  ['claude-3-5-haiku', 'anthropic'],
  ['gemini-1.5-pro', 'google'],
  ['gemini-1.5-flash', 'google'],
  ['llama-3.1-70b', 'meta'],
  ['mistral-large', 'mistral'],
  ['text-embedding-3-small', 'openai'],
];

/**
 * Ten spans per trace, spread evenly over the 30 days before `end`; models, end users, errors (1 in
 * 20), tokens and a lognormal-ish latency drawn from the span number, so every run is the same.
 */
async function seed(pool, projectId, opts, end) {
  const started = performance.now();
  const chunk = 1_000_000;
  const step = (30 * DAY) / opts.spans;
  for (let from = 0; from < opts.spans; from += chunk) {
    const to = Math.min(opts.spans, from + chunk);
    const t0 = end - 30 * DAY;
    await pool.query(
      `INSERT INTO traces (id, project_id, external_id, name, user_id, start_time, span_count, updated_at)
       SELECT md5('t' || g)::uuid, $1, 't' || g, 'request', 'user-' || (g * 7919 % $5),
         to_timestamp(($2 + g * 10 * $6::float8) / 1000.0), 10, now()
       FROM generate_series($3::bigint / 10, ($4::bigint - 1) / 10) g`,
      [projectId, t0, from, to, opts.users, step],
    );
    await pool.query(
      `INSERT INTO spans (id, project_id, trace_id, external_id, kind, name, model, normalized_model, provider,
         start_time, end_time, latency_ms, status, user_id, input_tokens, output_tokens, total_tokens,
         input_cost, output_cost, total_cost, price_source, updated_at)
       SELECT md5('s' || g)::uuid, $1, md5('t' || (g / 10))::uuid, 's' || g,
         CASE WHEN m.i = 9 THEN 'EMBEDDING' ELSE 'LLM' END::"SpanKind", 'call', m.name, m.name, m.provider,
         to_timestamp(($2 + g * $6::float8) / 1000.0), to_timestamp(($2 + g * $6::float8 + l.ms) / 1000.0), l.ms,
         (CASE WHEN g % 20 = 0 THEN 'ERROR' ELSE 'OK' END)::"SpanStatus", 'user-' || ((g / 10) * 7919 % $5),
         k.i, k.o, k.i + k.o, k.i * 0.0000025, k.o * 0.00001, k.i * 0.0000025 + k.o * 0.00001, 'TABLE', now()
       FROM generate_series($3::bigint, $4::bigint - 1) g
       CROSS JOIN LATERAL (SELECT (g * 2654435761 % 10)::int AS i) mi
       CROSS JOIN LATERAL (SELECT mi.i, ($7::text[])[mi.i + 1] AS name, ($8::text[])[mi.i + 1] AS provider) m
       CROSS JOIN LATERAL (SELECT (100 + g * 48271 % 2000)::int AS i, (20 + g * 16807 % 600)::int AS o) k
       CROSS JOIN LATERAL (SELECT (200 * exp((g * 69621 % 1000) / 400.0))::int AS ms) l`,
      [projectId, t0, from, to, opts.users, step, MODELS.map((m) => m[0]), MODELS.map((m) => m[1])],
    );
    process.stderr.write(`  ${to.toLocaleString('en')} spans\n`);
  }
  await pool.query('ANALYZE traces, spans');
  return performance.now() - started;
}

const b64 = (s) => Buffer.from(s).toString('base64');

/** The three questions: ours (GraphQL) and by hand (SQL over the raw spans). */
function questions(projectId) {
  const call = `(s.total_cost IS NOT NULL OR s.model IS NOT NULL)`;
  return [
    {
      name: 'costSummary 30 d by model × day',
      days: 30,
      query: `query($p: ID!, $from: DateTime!, $to: DateTime!) { costSummary(projectId: $p, from: $from, to: $to, groupBy: [MODEL, DAY]) {
        keys { model day } calls inputTokens outputTokens cost unpricedCalls errorRate p50LatencyMs p95LatencyMs } }`,
      rows: (data) => data.costSummary.length,
      sql: `SELECT s.normalized_model, to_char(s.start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*),
          sum(s.input_tokens), sum(s.output_tokens), sum(s.total_cost), count(*) FILTER (WHERE s.status = 'ERROR'),
          percentile_cont(0.5) WITHIN GROUP (ORDER BY s.latency_ms), percentile_cont(0.95) WITHIN GROUP (ORDER BY s.latency_ms)
        FROM spans s WHERE s.project_id = $1 AND s.start_time >= $2 AND s.start_time < $3 AND ${call}
        GROUP BY 1, 2`,
    },
    {
      name: 'metrics hourly p95 latency, 7 d',
      days: 7,
      query: `query($p: ID!, $from: DateTime!, $to: DateTime!) { metrics(projectId: $p, from: $from, to: $to, interval: HOUR) {
        points { time calls p95LatencyMs } } }`,
      rows: (data) =>
        data.metrics.reduce((n, s) => n + s.points.filter((p) => p.calls > 0).length, 0),
      sql: `SELECT date_trunc('hour', s.start_time, 'UTC'), count(*), percentile_cont(0.95) WITHIN GROUP (ORDER BY s.latency_ms)
        FROM spans s WHERE s.project_id = $1 AND s.start_time >= $2 AND s.start_time < $3 GROUP BY 1`,
    },
    {
      name: 'top 10 end users by cost, 30 d',
      days: 30,
      query: `query($p: ID!, $from: DateTime!, $to: DateTime!) { costSummary(projectId: $p, from: $from, to: $to, groupBy: [USER],
        orderBy: { field: COST }, limit: 10) { keys { userId } cost calls } }`,
      rows: (data) => data.costSummary.length,
      sql: `SELECT s.user_id, sum(s.total_cost) AS cost, count(*) FROM spans s
        WHERE s.project_id = $1 AND s.start_time >= $2 AND s.start_time < $3 AND ${call}
        GROUP BY 1 ORDER BY 2 DESC NULLS LAST LIMIT 10`,
    },
  ].map((q) => ({ ...q, projectId }));
}

async function timeOurs(url, key, q) {
  const to = new Date();
  const from = new Date(to.getTime() - q.days * DAY);
  const started = performance.now();
  const data = await gql(url, key, q.query, {
    p: b64(`Project:${q.projectId}`),
    from: from.toISOString(),
    to: to.toISOString(),
  });
  return { ms: performance.now() - started, rows: q.rows(data) };
}

async function timeSql(pool, q) {
  const to = new Date();
  const from = new Date(to.getTime() - q.days * DAY);
  const started = performance.now();
  const { rows } = await pool.query(q.sql, [q.projectId, from, to]);
  return { ms: performance.now() - started, rows: rows.length };
}

module.exports = async function analytics() {
  const opts = settings();
  const dbName = opts.reuse ?? `evalgraph_bench_analytics_${crypto.randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: opts.pgUrl });
  await admin.connect();
  if (!opts.reuse) await admin.query(`CREATE DATABASE ${dbName}`);
  const databaseUrl = withDatabase(opts.pgUrl, dbName);
  // The same session settings as our pool (src/storage/db.ts).
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, options: '-c jit=off' });
  let server = null;
  try {
    const key = `evg_bench_${crypto.randomBytes(24).toString('base64url')}`;
    process.stderr.write(`database ${dbName}; starting ours…\n`);
    let url;
    ({ server, url } = await startOurs({ databaseUrl, key }));
    const projectId = (await pool.query(`SELECT id::text FROM projects LIMIT 1`)).rows[0].id;
    let rebuildMs = 0;
    if (!opts.reuse) {
      // (On a reused database the server's bootstrap adds this run's init key to its admin.)
      process.stderr.write(`generating ${opts.spans.toLocaleString('en')} spans…\n`);
      const seedMs = await seed(pool, projectId, opts, Date.now());
      process.stderr.write(`generated in ${(seedMs / 1000).toFixed(0)} s; building rollups…\n`);
      const rebuildStarted = performance.now();
      execFileSync(
        path.join(ROOT, 'node_modules', '.bin', 'tsx'),
        ['src/cli.ts', 'rollups', 'rebuild', '--project', projectId],
        { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: 'inherit' },
      );
      rebuildMs = performance.now() - rebuildStarted;
    }
    await pool.query('VACUUM ANALYZE span_rollups');
    const size = async (t) =>
      Number((await pool.query(`SELECT pg_total_relation_size($1) AS b`, [t])).rows[0].b);
    const spansBytes = (await size('spans')) + (await size('traces'));
    const rollupBytes = await size('span_rollups');
    const rollupRows = Number(
      (await pool.query('SELECT count(*) AS n FROM span_rollups')).rows[0].n,
    );

    const qs = questions(projectId);
    const results = [];
    for (const q of qs) {
      // Warm-up, not counted: both answer, with as many rows.
      const ours = await timeOurs(url, key, q);
      const sql = await timeSql(pool, q);
      const times = { ours: [], sql: [] };
      for (let round = 1; round <= opts.runs; round++) {
        times.sql.push((await timeSql(pool, q)).ms);
        times.ours.push((await timeOurs(url, key, q)).ms);
        process.stderr.write(
          `${q.name}: round ${round}  sql ${times.sql.at(-1).toFixed(0)} ms  ours ${times.ours.at(-1).toFixed(0)} ms\n`,
        );
      }
      results.push({ q, times, rows: { ours: ours.rows, sql: sql.rows } });
    }

    console.log(
      `\nanalytics: ${opts.spans.toLocaleString('en')} spans over 30 days in one project, ${opts.users.toLocaleString('en')} end users (Postgres, default configuration), ${opts.runs} rounds, medians\n`,
    );
    console.log(
      `${'question'.padEnd(36)}${'rows ours/sql'.padStart(15)}${'sql ms'.padStart(10)}${'ours ms'.padStart(10)}${'faster'.padStart(9)}  per round`,
    );
    let met = true;
    for (const { q, times, rows } of results) {
      const s = median(times.sql);
      const o = median(times.ours);
      const perRound = times.ours.map((x, i) => (times.sql[i] / x).toFixed(0)).join(' ');
      console.log(
        `${q.name.padEnd(36)}${`${rows.ours}/${rows.sql}`.padStart(15)}${s.toFixed(0).padStart(10)}${o.toFixed(1).padStart(10)}${`${(s / o).toFixed(1)}x`.padStart(9)}  ${perRound}`,
      );
      if (!(o <= 100 && s / o >= 20)) met = false;
    }
    console.log(
      `\nrollups: ${rollupRows.toLocaleString('en')} rows, ${(rollupBytes / 2 ** 20).toFixed(1)} MiB = ${((100 * rollupBytes) / spansBytes).toFixed(2)} % of spans and traces (${(spansBytes / 2 ** 30).toFixed(2)} GiB); built in ${(rebuildMs / 1000).toFixed(0)} s`,
    );
    console.log(`goals (p50 ≤ 100 ms and ≥ 20x the raw aggregation): ${met ? 'met' : 'NOT met'}`);
    return 0;
  } finally {
    await pool.end().catch(() => {});
    if (server) await server.stop();
    if (opts.keep || opts.reuse) process.stderr.write(`kept database ${dbName}\n`);
    else await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
};

// The retention benchmark seeds its expired spans the same way.
module.exports.seed = seed;
