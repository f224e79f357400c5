'use strict';
// Alert rule evaluation, as our scheduler runs them (bench/lib/alerts-ours.ts: claims, measures,
// state changes recorded), against a baseline of the same aggregations written by hand as one SQL
// query over the spans each, sent one after another through pg. Two cases on one database:
// `short`, 1,000 rules with 30-minute windows over 1,000,000 spans of the last two hours (10
// projects); `long`, 1,000 rules with 24-hour and 7-day windows over 1,000,000 spans of the last
// 7 days (10 other projects), where rules the rollups answer read them. The spans are written with
// SQL, so their rollups are filled after (bench/lib/alerts-rollups.ts), as ingest would have.
// Rounds alternate baseline / ours; each case's figure is the ratio of the medians of their times.
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
const PROJECTS = 10;
const DAY_S = 86_400;
const CASES = {
  // Spans over the last two hours, as (g / 10) % 7200 seconds ago; every rule's window 30 minutes.
  short: {
    spread: 'g / 10 % 7200',
    window: () => 1800,
    label: '30-minute windows, last 2 h of data',
  },
  // Spans evenly over the last 7 days; rules alternate 24-hour and 7-day windows.
  long: {
    spread: `(g / 10) * ${7 * DAY_S}::float8 / ${SPANS / 10}`,
    window: (i) => (i % 2 ? 7 * DAY_S : DAY_S),
    label: '24-hour and 7-day windows, last 7 days of data',
  },
};
const CASE_NAMES = (process.env.BENCH_ALERT_CASES || 'short,long').split(',');

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
function rules(projectIds, windowOf) {
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
      windowS: windowOf(i),
      threshold: metric === 'ERROR_RATE' ? 0.04 : 1e9 * (i % 2),
    });
  }
  return out;
}

async function seed(client, name, projectIds) {
  await client.query(
    `INSERT INTO projects (id, name, updated_at) SELECT unnest($1::uuid[]), 'bench', now()`,
    [projectIds],
  );
  const traces = SPANS / 10;
  const at = `now() - (${CASES[name].spread}) * interval '1 second'`;
  const t0 = Date.now();
  await client.query(
    `INSERT INTO traces (id, project_id, external_id, start_time, updated_at)
     SELECT md5('${name}t' || g)::uuid, ($1::uuid[])[1 + g % ${PROJECTS}], 'trace-' || g, ${at.replaceAll('g / 10', 'g')}, now()
     FROM generate_series(0, ${traces - 1}) g`,
    [projectIds],
  );
  await client.query(
    `INSERT INTO spans (id, project_id, trace_id, external_id, name, kind, model, start_time, end_time, latency_ms, status,
       user_id, tags, input_tokens, output_tokens, total_tokens, total_cost, updated_at)
     SELECT md5('${name}s' || g)::uuid, ($1::uuid[])[1 + (g / 10) % ${PROJECTS}], md5('${name}t' || (g / 10))::uuid, 'span-' || g, 'call',
       (CASE WHEN g % 3 = 0 THEN 'TOOL' ELSE 'LLM' END)::"SpanKind", 'model-' || (g % 5),
       ${at}, ${at} + (g % 2000) * interval '1 millisecond', g % 2000,
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
     SELECT gen_random_uuid(), r.project_id, 'rule ' || r.n, r.metric::"AlertMetric", r.aggregation::"AlertAggregation", r.filter, 'GT', r.threshold, r.window_s, now()
     FROM json_to_recordset($1::json) AS r(n int, project_id uuid, metric text, aggregation text, filter jsonb, threshold float8, window_s int)`,
    [
      JSON.stringify(
        list.map((r, n) => ({
          n,
          project_id: r.projectId,
          metric: r.metric,
          aggregation: r.aggregation,
          filter: r.filter,
          threshold: r.threshold,
          window_s: r.windowS,
        })),
      ),
    ],
  );
}

async function baseline(client, list) {
  const started = process.hrtime.bigint();
  const to = new Date();
  for (const rule of list)
    await client.query(rule.sql, [
      rule.projectId,
      new Date(to.getTime() - rule.windowS * 1000),
      to,
    ]);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function tsx(script, databaseUrl) {
  return execFileSync(process.execPath, ['--import', 'tsx', path.join('bench', 'lib', script)], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: '' },
    encoding: 'utf8',
  });
}
const ours = (databaseUrl) => JSON.parse(tsx('alerts-ours.ts', databaseUrl));

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
    const cases = CASE_NAMES.map((name) => ({
      name,
      projectIds: Array.from({ length: PROJECTS }, () => crypto.randomUUID()),
    }));
    for (const c of cases) {
      const seedMs = await seed(client, c.name, c.projectIds);
      process.stderr.write(
        `${c.name}: seeded ${SPANS.toLocaleString('en')} spans in ${(seedMs / 1000).toFixed(1)} s\n`,
      );
      c.list = rules(c.projectIds, CASES[c.name].window);
      await insertRules(client, c.list);
    }
    const t0 = Date.now();
    tsx('alerts-rollups.ts', databaseUrl);
    process.stderr.write(`rollups filled in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const summary = [];
    for (const c of cases) {
      // Warm the caches alike for both.
      await baseline(client, c.list);
      const times = { baseline: [], ours: [] };
      for (let round = 1; round <= RUNS; round++) {
        times.baseline.push(await baseline(client, c.list));
        await client.query(`DELETE FROM alert_events`);
        // Only this case's rules are due.
        await client.query(
          `UPDATE alert_rules SET next_evaluation_at = CASE WHEN project_id = ANY($1::uuid[]) THEN now() - interval '1 second' ELSE now() + interval '1 day' END,
             state = 'OK', state_notified = false, last_fired_at = NULL, last_warned_at = NULL`,
          [c.projectIds],
        );
        const run = ours(databaseUrl);
        if (run.evaluated !== RULES)
          throw new Error(`ours evaluated ${run.evaluated} rules, expected ${RULES}`);
        times.ours.push(run.ms);
        process.stderr.write(
          `${c.name} round ${round}  baseline ${times.baseline.at(-1).toFixed(0)} ms  ours ${run.ms.toFixed(0)} ms\n`,
        );
      }
      const fired = (await client.query(`SELECT count(*)::int AS n FROM alert_events`)).rows[0].n;
      const b = median(times.baseline);
      const o = median(times.ours);
      summary.push(
        `\nalerts ${c.name}: ${RULES.toLocaleString('en')} rules over ${SPANS.toLocaleString('en')} spans (${PROJECTS} projects, ${CASES[c.name].label}), ${RUNS} rounds, medians`,
        `baseline (one hand-written SQL query per rule through pg): ${b.toFixed(0)} ms`,
        `ours (scheduler: claim, measure, record ${fired} state changes): ${o.toFixed(0)} ms`,
        `ours / baseline time: ${(o / b).toFixed(2)}x (per round ${times.ours.map((t, i) => (t / times.baseline[i]).toFixed(2)).join(' ')})`,
      );
    }
    for (const line of summary) console.log(line);
    return 0;
  } finally {
    await client.end().catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
};
