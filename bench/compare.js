'use strict';
// compareEvaluations on a 10,000-item pair (two runs of two graders on one dataset, in Postgres):
// our summary over HTTP (the full query: every grader's numbers, both runs' cost and latency;
// once without the bootstrap intervals, once with them) against the same SQL statements sent by
// hand through pg as ours sends them: the evaluations' rows, then the summary and the latencies
// side by side on two connections. The statements' text comes from our module
// (bench/lib/compare-sql.ts), so the baseline is our SQL exactly. Rounds alternate the three;
// figures are medians of the time to the answer.
const { envCount, median } = require('./lib/settings');
const crypto = require('node:crypto');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { performance } = require('node:perf_hooks');
const pg = require('pg');
const { startOurs } = require('./lib/servers');
const { gql, withDatabase } = require('./lib/graphql');

const ROOT = path.resolve(__dirname, '..');

function settings() {
  return {
    items: envCount('BENCH_COMPARE_ITEMS', 10_000),
    resamples: envCount('BENCH_COMPARE_RESAMPLES', 1_000),
    runs: envCount('BENCH_RUNS', 5),
    pgUrl: process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  };
}

const GRADERS = [
  ['exact', 'string_check'],
  ['similarity', 'text_similarity'],
];

const query = (interval) => `query($b: ID!, $c: ID!, $seed: Int, $resamples: Int) {
  compareEvaluations(baseId: $b, candidateId: $c, seed: $seed, resamples: $resamples) {
    matchedItems onlyInBase onlyInCandidate
    graders { name pairs baseMeanScore candidateMeanScore meanDifference basePassRate candidatePassRate
      improved regressed unchanged onlyInBase onlyInCandidate${interval ? ' meanDifferenceInterval { lower upper }' : ''} }
    baseRun { ...run } candidateRun { ...run } } }
  fragment run on ComparedRun { durationMs judgeInputTokens judgeOutputTokens judgeCost gradingLatency { items meanMs p95Ms } }`;

/**
 * A dataset of n items and two completed runs on it: base and candidate, every item graded by an
 * exact grader (0 or 1) and a similarity grader (thousandths), their scores different functions of
 * the item, so every kind of change occurs; a grading latency per result.
 */
async function seed(client, projectId, n) {
  const datasetId = crypto.randomUUID();
  const runs = [
    { id: crypto.randomUUID(), tag: 'b', k: 1 },
    { id: crypto.randomUUID(), tag: 'c', k: 2 },
  ];
  const criteria = JSON.stringify(
    GRADERS.map(([name, type]) => ({ name, type, input: '{{sample.output_text}}' })),
  );
  const started = performance.now();
  await client.query(
    `INSERT INTO datasets (id, project_id, name, updated_at) VALUES ($1, $2, 'bench', now())`,
    [datasetId, projectId],
  );
  // Items (their ids) and their one version's content, as a dataset created with them has.
  await client.query(
    `INSERT INTO dataset_items (id, dataset_id) SELECT md5('d' || g)::uuid, $1 FROM generate_series(0, $2 - 1) g`,
    [datasetId, n],
  );
  await client.query(
    `INSERT INTO dataset_item_versions (dataset_item_id, valid_from, dataset_id, input, expected_output)
     SELECT md5('d' || g)::uuid, d.version, $1, jsonb_build_object('q', 'question ' || g), to_jsonb('answer ' || g)
     FROM generate_series(0, $2 - 1) g, datasets d WHERE d.id = $1`,
    [datasetId, n],
  );
  for (const run of runs) {
    await client.query(
      `INSERT INTO evaluations (id, project_id, name, testing_criteria, data_source, status, total_count, completed_count,
         started_at, finished_at, updated_at)
       VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, 'COMPLETED', $6, $6, now() - interval '10 minutes', now() - interval '5 minutes', now())`,
      [
        run.id,
        projectId,
        run.tag === 'b' ? 'base' : 'candidate',
        criteria,
        JSON.stringify({ type: 'dataset', datasetId, name: 'bench' }),
        n,
      ],
    );
    await client.query(
      `INSERT INTO evaluation_items (id, evaluation_id, position, input, expected_output, output, dataset_item_id, state, completed_at)
       SELECT md5($2 || 'i' || g)::uuid, $1, g, jsonb_build_object('q', 'question ' || g), to_jsonb('answer ' || g),
         to_jsonb('output ' || $2 || g), md5('d' || g)::uuid, 'DONE', now()
       FROM generate_series(0, $3 - 1) g`,
      [run.id, run.tag, n],
    );
    await client.query(
      `INSERT INTO evaluation_results (id, evaluation_id, evaluation_item_id, grader_name, grader_type, score, passed, latency_ms)
       SELECT md5($2 || 'r' || gr.name || g)::uuid, $1, md5($2 || 'i' || g)::uuid, gr.name, gr.type, s.score, s.score >= 0.5,
         20 + (g * 31 + length(gr.name) * $4) % 900
       FROM generate_series(0, $3 - 1) g, (SELECT * FROM unnest($5::text[], $6::text[]) AS x(name, type)) gr,
         LATERAL (SELECT CASE WHEN gr.type = 'string_check' THEN ((g * $4) % 3 <> 0)::int::float8
                              ELSE ((g * $4 * 7919) % 1000) / 1000.0 END AS score) s`,
      [run.id, run.tag, n, run.k, GRADERS.map((g) => g[0]), GRADERS.map((g) => g[1])],
    );
  }
  await client.query(
    'ANALYZE dataset_items, dataset_item_versions, evaluations, evaluation_items, evaluation_results',
  );
  return { ids: runs.map((r) => r.id), ms: performance.now() - started };
}

/** Our statements, sent by hand; resolves with the time and the summary's row. */
async function runBaseline(pool, statements, [base, candidate]) {
  const started = performance.now();
  await pool.query(statements.evaluations, [[base, candidate]]);
  const [summary] = await Promise.all([
    pool.query(statements.summary, [base, candidate]),
    pool.query(statements.latency, [[base, candidate]]),
  ]);
  return { ms: performance.now() - started, summary: summary.rows[0] };
}

let seedCounter = 0;
async function runOurs(url, key, [base, candidate], interval, resamples) {
  const started = performance.now();
  // A new seed each time: the same variables would be answered from the response cache.
  const data = await gql(url, key, query(interval), {
    b: Buffer.from(`Evaluation:${base}`).toString('base64'),
    c: Buffer.from(`Evaluation:${candidate}`).toString('base64'),
    seed: ++seedCounter,
    resamples,
  });
  return { ms: performance.now() - started, comparison: data.compareEvaluations };
}

/** Ours must give the statement's numbers. */
function check(comparison, summary) {
  const want = summary.graders.map((g) => ({
    name: g.grader,
    pairs: g.pairs,
    improved: g.improved,
    regressed: g.regressed,
    unchanged: g.unchanged,
  }));
  const got = comparison.graders.map((g) => ({
    name: g.name,
    pairs: g.pairs,
    improved: g.improved,
    regressed: g.regressed,
    unchanged: g.unchanged,
  }));
  const sort = (xs) => [...xs].sort((a, b) => a.name.localeCompare(b.name));
  if (
    JSON.stringify(sort(got)) !== JSON.stringify(sort(want)) ||
    comparison.matchedItems !== summary.matched
  )
    throw new Error(`ours and the SQL disagree: ${JSON.stringify({ got, want })}`);
}

module.exports = async function compare() {
  const opts = settings();
  const dbName = `evalgraph_bench_compare_${crypto.randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: opts.pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const databaseUrl = withDatabase(opts.pgUrl, dbName);
  // The same session settings as our pool (src/storage/db.ts).
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, options: '-c jit=off' });
  let server = null;
  try {
    const statements = JSON.parse(
      execFileSync(
        process.execPath,
        ['--import', 'tsx', path.join('bench', 'lib', 'compare-sql.ts')],
        {
          cwd: ROOT,
          encoding: 'utf8',
        },
      ),
    );
    const key = `evg_bench_${crypto.randomBytes(24).toString('base64url')}`;
    process.stderr.write(`database ${dbName}; starting ours…\n`);
    let url;
    ({ server, url } = await startOurs({ databaseUrl, key }));
    const projectId = (await pool.query(`SELECT id::text FROM projects LIMIT 1`)).rows[0].id;
    const seeded = await seed(pool, projectId, opts.items);
    process.stderr.write(
      `seeded ${opts.items.toLocaleString('en')} items × 2 runs × ${GRADERS.length} graders in ${(seeded.ms / 1000).toFixed(1)} s\n`,
    );
    // Warm-up, not counted; and the check that ours answers what the SQL answers.
    const warm = await runBaseline(pool, statements, seeded.ids);
    check((await runOurs(url, key, seeded.ids, true, opts.resamples)).comparison, warm.summary);
    await runOurs(url, key, seeded.ids, false, opts.resamples);
    const times = { sql: [], plain: [], full: [] };
    for (let round = 1; round <= opts.runs; round++) {
      times.sql.push((await runBaseline(pool, statements, seeded.ids)).ms);
      times.plain.push((await runOurs(url, key, seeded.ids, false, opts.resamples)).ms);
      times.full.push((await runOurs(url, key, seeded.ids, true, opts.resamples)).ms);
      process.stderr.write(
        `round ${round}  sql ${times.sql.at(-1).toFixed(0)} ms  ours ${times.plain.at(-1).toFixed(0)} ms  ours with intervals ${times.full.at(-1).toFixed(0)} ms\n`,
      );
    }
    const s = median(times.sql);
    const p = median(times.plain);
    const f = median(times.full);
    const perRound = (xs) => xs.map((x, i) => (x / times.sql[i]).toFixed(2)).join(' ');
    console.log(
      `\ncompare: a ${opts.items.toLocaleString('en')}-item pair, ${GRADERS.length} graders (Postgres, default configuration), ${opts.runs} rounds, medians\n`,
    );
    const row = (name, ms) => console.log(`${name.padEnd(48)}${ms.toFixed(1).padStart(8)}`);
    console.log(`${'target'.padEnd(48)}${'ms'.padStart(8)}`);
    row('our SQL by hand through pg (3 statements)', s);
    row('ours over HTTP, without intervals', p);
    row(`ours over HTTP, with intervals (${opts.resamples} resamples)`, f);
    console.log(`\nours / SQL time: ${(p / s).toFixed(2)}x (per round ${perRound(times.plain)})`);
    console.log(
      `ours with intervals / SQL time: ${(f / s).toFixed(2)}x (per round ${perRound(times.full)})`,
    );
    console.log(
      `\ngoal: the summary under 1 s: ${f < 1000 ? 'met' : 'NOT met'} (${f.toFixed(0)} ms)`,
    );
    return 0;
  } finally {
    await pool.end().catch(() => {});
    if (server) await server.stop();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
};
