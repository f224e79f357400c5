'use strict';
// Alert rule evaluation: 1,000 rules over 1,000,000 spans (10 projects, the last two hours), as our
// scheduler runs them (bench/lib/alerts-ours.ts: claims, one statement per rule, state changes
// recorded), against a baseline of the same aggregations written by hand as one SQL query each and
// sent one after another through pg. Rounds alternate baseline / ours on one database; the figure
// is the ratio of the medians of their times.
const crypto = require('node:crypto');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const pg = require('pg');
const { startOurs } = require('./lib/servers');
const { withDatabase } = require('./lib/graphql');

const ROOT = path.resolve(__dirname, '..');
const SPANS = Number(process.env.BENCH_ALERT_SPANS || 1_000_000);
const RULES = Number(process.env.BENCH_ALERT_RULES || 1_000);
const RUNS = Number(process.env.BENCH_RUNS || 3);
const WINDOW_S = 1800;
const PROJECTS = 10;

const METRICS = [
  ['COST', 's.total_cost::float8', false, ['SUM', 'AVG', 'P95', 'MAX']],
  ['TOKENS', 's.total_tokens::float8', false, ['SUM', 'AVG', 'P50']],
  ['LATENCY_MS', 's.latency_ms::float8', false, ['AVG', 'P95', 'P99', 'MAX']],
  ['SPAN_COUNT', '1', true, ['COUNT']],
  ['ERROR_COUNT', "CASE WHEN s.status = 'ERROR' THEN 1 END", true, ['COUNT']],
  ['ERROR_RATE', "CASE WHEN s.status = 'ERROR' THEN 1.0 ELSE 0.0 END", true, ['AVG']],
];
const AGG = {
  COUNT: 'count(v)',
  SUM: 'sum(v)',
  AVG: 'avg(v)',
  MAX: 'max(v)',
  P50: 'percentile_cont(0.5) WITHIN GROUP (ORDER BY v)',
  P95: 'percentile_cont(0.95) WITHIN GROUP (ORDER BY v)',
  P99: 'percentile_cont(0.99) WITHIN GROUP (ORDER BY v)',
};
const FILTERS = [{}, { model: 'model-1' }, { tags: ['prod'] }, { userId: 'user-7' }];

/** The rules, with the hand-written query for each. */
function rules(projectIds) {
  const out = [];
  for (let i = 0; i < RULES; i++) {
    const [metric, v, everyRow, aggs] = METRICS[i % METRICS.length];
    const aggregation = aggs[Math.floor(i / METRICS.length) % aggs.length];
    const filter = FILTERS[Math.floor(i / 7) % FILTERS.length];
    const projectId = projectIds[i % PROJECTS];
    const where = ['s.project_id = $1', 's.start_time >= $2', 's.start_time < $3'];
    const values = [projectId];
    if (filter.model) where.push(`s.model = '${filter.model}'`);
    if (filter.tags) where.push(`s.tags @> ARRAY['${filter.tags[0]}']`);
    if (filter.userId) where.push(`s.user_id = '${filter.userId}'`);
    const sql = `SELECT ${everyRow ? 'count(*)' : 'count(v)'}::int AS samples, (${AGG[aggregation]})::float8 AS value FROM (SELECT ${v} AS v FROM spans s WHERE ${where.join(' AND ')}) x`;
    out.push({
      projectId,
      metric,
      aggregation,
      filter,
      sql,
      values,
      threshold: metric === 'ERROR_RATE' ? 0.04 : 1e9 * (i % 2),
    });
  }
  return out;
}

async function seed(client, projectIds) {
  await client.query(
    `INSERT INTO projects (id, name, updated_at) SELECT unnest($1::uuid[]), 'bench', now()`,
    [projectIds],
  );
  const traces = SPANS / 10;
  const t0 = Date.now();
  await client.query(
    `INSERT INTO traces (id, project_id, external_id, start_time, updated_at)
     SELECT md5('t' || g)::uuid, ($1::uuid[])[1 + g % ${PROJECTS}], 'trace-' || g, now() - (g % 7200) * interval '1 second', now()
     FROM generate_series(0, ${traces - 1}) g`,
    [projectIds],
  );
  await client.query(
    `INSERT INTO spans (id, project_id, trace_id, external_id, name, kind, model, start_time, end_time, latency_ms, status,
       user_id, tags, input_tokens, output_tokens, total_tokens, total_cost, updated_at)
     SELECT md5('s' || g)::uuid, ($1::uuid[])[1 + (g / 10) % ${PROJECTS}], md5('t' || (g / 10))::uuid, 'span-' || g, 'call',
       (CASE WHEN g % 3 = 0 THEN 'TOOL' ELSE 'LLM' END)::"SpanKind", 'model-' || (g % 5),
       now() - ((g / 10) % 7200) * interval '1 second', now() - ((g / 10) % 7200) * interval '1 second' + (g % 2000) * interval '1 millisecond', g % 2000,
       (CASE WHEN g % 20 = 0 THEN 'ERROR' ELSE 'OK' END)::"SpanStatus", 'user-' || (g % 100),
       CASE WHEN g % 2 = 0 THEN ARRAY['prod'] ELSE ARRAY['dev'] END, g % 1000, g % 300, g % 1000 + g % 300, (g % 1000) * 0.000001, now()
     FROM generate_series(0, ${SPANS - 1}) g`,
    [projectIds],
  );
  await client.query('ANALYZE spans');
  return Date.now() - t0;
}

async function insertRules(client, list) {
  await client.query(
    `INSERT INTO alert_rules (id, project_id, name, metric, aggregation, filter, operator, threshold, window_seconds, updated_at)
     SELECT gen_random_uuid(), r.project_id, 'rule ' || r.n, r.metric::"AlertMetric", r.aggregation::"AlertAggregation", r.filter, 'GT', r.threshold, ${WINDOW_S}, now()
     FROM json_to_recordset($1::json) AS r(n int, project_id uuid, metric text, aggregation text, filter jsonb, threshold float8)`,
    [
      JSON.stringify(
        list.map((r, n) => ({
          n,
          project_id: r.projectId,
          metric: r.metric,
          aggregation: r.aggregation,
          filter: r.filter,
          threshold: r.threshold,
        })),
      ),
    ],
  );
}

async function baseline(client, list) {
  const started = process.hrtime.bigint();
  const to = new Date();
  const from = new Date(to.getTime() - WINDOW_S * 1000);
  for (const rule of list) await client.query(rule.sql, [rule.projectId, from, to]);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function ours(databaseUrl) {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', path.join('bench', 'lib', 'alerts-ours.ts')],
    {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: '' },
      encoding: 'utf8',
    },
  );
  return JSON.parse(out);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

module.exports = async function alerts() {
  const pgUrl = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `evalgraph_bench_alerts_${crypto.randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const databaseUrl = withDatabase(pgUrl, dbName);
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    // Our server migrates the database, then goes away.
    const key = `evg_bench_${crypto.randomBytes(24).toString('base64url')}`;
    const { server } = await startOurs({ databaseUrl, key });
    await server.stop();
    await client.connect();
    const projectIds = Array.from({ length: PROJECTS }, () => crypto.randomUUID());
    const seedMs = await seed(client, projectIds);
    process.stderr.write(
      `seeded ${SPANS.toLocaleString('en')} spans in ${(seedMs / 1000).toFixed(1)} s\n`,
    );
    const list = rules(projectIds);
    await insertRules(client, list);
    // Warm the caches alike for both.
    await baseline(client, list);
    const times = { baseline: [], ours: [] };
    for (let round = 1; round <= RUNS; round++) {
      times.baseline.push(await baseline(client, list));
      await client.query(`DELETE FROM alert_events`);
      await client.query(
        `UPDATE alert_rules SET next_evaluation_at = now() - interval '1 second', state = 'OK', state_notified = false, last_fired_at = NULL, last_warned_at = NULL`,
      );
      const run = ours(databaseUrl);
      if (run.evaluated !== RULES)
        throw new Error(`ours evaluated ${run.evaluated} rules, expected ${RULES}`);
      times.ours.push(run.ms);
      process.stderr.write(
        `round ${round}  baseline ${times.baseline.at(-1).toFixed(0)} ms  ours ${run.ms.toFixed(0)} ms\n`,
      );
    }
    const fired = (await client.query(`SELECT count(*)::int AS n FROM alert_events`)).rows[0].n;
    const b = median(times.baseline);
    const o = median(times.ours);
    console.log(
      `\nalerts: ${RULES.toLocaleString('en')} rules over ${SPANS.toLocaleString('en')} spans (${PROJECTS} projects, ${WINDOW_S / 60}-minute windows), ${RUNS} rounds, medians`,
    );
    console.log(`baseline (one hand-written SQL query per rule through pg): ${b.toFixed(0)} ms`);
    console.log(
      `ours (scheduler: claim, measure, record ${fired} state changes): ${o.toFixed(0)} ms`,
    );
    console.log(
      `ours / baseline time: ${(o / b).toFixed(2)}x (per round ${times.ours.map((t, i) => (t / times.baseline[i]).toFixed(2)).join(' ')})`,
    );
    return 0;
  } finally {
    await client.end().catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
};
