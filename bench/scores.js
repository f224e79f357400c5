'use strict';
// createScores throughput: our full server (default configuration: rate limiting, cache, every
// plugin) taking batches of 1,000 scores over GraphQL, against the same rows written straight into
// the same table of the same database with one `INSERT … SELECT FROM unnest(…)` per batch through
// pg. Rounds alternate ours and the baseline; figures are medians of scores per second.
const { envCount, median } = require('./lib/settings');
const crypto = require('node:crypto');
const { performance } = require('node:perf_hooks');
const pg = require('pg');
const { startOurs } = require('./lib/servers');
const { gql, withDatabase } = require('./lib/graphql');

const MUTATION = `mutation($input: CreateScoresInput!) {
  createScores(input: $input) { acceptedCount rejectedCount } }`;
const NAMES = ['helpfulness', 'correctness', 'toxicity', 'latency-feel'];

function settings() {
  return {
    batches: envCount('BENCH_SCORES_BATCHES', 20),
    batchSize: Math.min(1000, envCount('BENCH_SCORES_BATCH', 1000)),
    runs: envCount('BENCH_RUNS', 3),
    pgUrl: process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  };
}

/** One batch: scores of sessions, each with a client id (idempotent, as SDKs send them). */
function makeBatch(prefix, seq, size, at) {
  return Array.from({ length: size }, (_, i) => ({
    clientId: `${prefix}-${seq}-${i}`,
    sessionId: `session-${(seq * size + i) % 5000}`,
    name: NAMES[i % NAMES.length],
    dataType: 'NUMERIC',
    value: (i % 100) / 100,
    comment: i % 10 === 0 ? 'checked by a reviewer' : null,
    source: 'API',
    userId: `user-${i % 700}`,
    timestamp: new Date(at + i).toISOString(),
  }));
}

async function runOurs(url, key, projectId, opts, prefix) {
  const started = performance.now();
  for (let b = 0; b < opts.batches; b++) {
    const data = await gql(url, key, MUTATION, {
      input: { projectId, scores: makeBatch(prefix, b, opts.batchSize, Date.now()) },
    });
    if (data.createScores.acceptedCount !== opts.batchSize)
      throw new Error(`accepted ${JSON.stringify(data.createScores)}`);
  }
  return (opts.batches * opts.batchSize) / ((performance.now() - started) / 1000);
}

/** The same rows, as our server stores them (the writing key and its user included), in one unnest insert per batch. */
async function runBaseline(client, projectId, author, opts, prefix) {
  const started = performance.now();
  for (let b = 0; b < opts.batches; b++) {
    const rows = makeBatch(prefix, b, opts.batchSize, Date.now());
    const col = (f) => rows.map(f);
    await client.query(
      `INSERT INTO scores (id, project_id, client_id, session_id, name, data_type, value, comment, source, user_id, scored_at, author_user_id, author_api_key_id, created_at, updated_at)
       SELECT r.id, $1::uuid, r.client_id, r.session_id, r.name, r.data_type::"ScoreDataType", r.value, r.comment, r.source::"ScoreSource", r.user_id, r.scored_at, $12::uuid, $13::uuid, now(), now()
       FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::text[], $9::text[], $10::text[], $11::timestamptz[])
         AS r(id, client_id, session_id, name, data_type, value, comment, source, user_id, scored_at)
       ON CONFLICT (project_id, client_id) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
      [
        projectId,
        col(() => crypto.randomUUID()),
        col((r) => r.clientId),
        col((r) => r.sessionId),
        col((r) => r.name),
        col((r) => r.dataType),
        col((r) => r.value),
        col((r) => r.comment),
        col((r) => r.source),
        col((r) => r.userId),
        col((r) => r.timestamp),
        author.userId,
        author.keyId,
      ],
    );
  }
  return (opts.batches * opts.batchSize) / ((performance.now() - started) / 1000);
}

const rawId = (globalId) => Buffer.from(globalId, 'base64').toString().split(':')[1];

module.exports = async function scores() {
  const opts = settings();
  const dbName = `evalgraph_bench_scores_${crypto.randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: opts.pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  let server = null;
  const direct = new pg.Client({ connectionString: withDatabase(opts.pgUrl, dbName) });
  try {
    const key = `evg_bench_${crypto.randomBytes(24).toString('base64url')}`;
    process.stderr.write(`database ${dbName}; starting ours…\n`);
    let url;
    ({ server, url } = await startOurs({ databaseUrl: withDatabase(opts.pgUrl, dbName), key }));
    await direct.connect();
    const author = (
      await direct.query(
        `SELECT id::text AS "keyId", user_id::text AS "userId" FROM api_keys LIMIT 1`,
      )
    ).rows[0];
    const projectId = (await gql(url, key, '{ projects { edges { node { id } } } }')).projects
      .edges[0].node.id;
    // Warm-up, not counted.
    const warm = { ...opts, batches: 2 };
    await runOurs(url, key, projectId, warm, 'warm-ours');
    await runBaseline(direct, rawId(projectId), author, warm, 'warm-base');
    const ours = [];
    const base = [];
    for (let round = 1; round <= opts.runs; round++) {
      const o = await runOurs(url, key, projectId, opts, `ours-${round}`);
      const b = await runBaseline(direct, rawId(projectId), author, opts, `base-${round}`);
      ours.push(o);
      base.push(b);
      process.stderr.write(
        `round ${round}  ours ${o.toFixed(0)} scores/s  unnest ${b.toFixed(0)} scores/s  ratio ${(o / b).toFixed(2)}\n`,
      );
    }
    const o = median(ours);
    const b = median(base);
    console.log(
      `\nscores: ${opts.batches} batches of ${opts.batchSize} per run, one client (Postgres, default configuration)`,
    );
    console.log(`${opts.runs} runs, medians\n`);
    console.log('target        scores/s');
    console.log(`ours          ${o.toFixed(0).padStart(8)}`);
    console.log(`raw unnest    ${b.toFixed(0).padStart(8)}`);
    console.log(
      `ours / raw unnest ${(o / b).toFixed(2)}x; per run: ${ours.map((x, i) => (x / base[i]).toFixed(2)).join(' ')}`,
    );
    const goal = o / b >= 0.6;
    console.log(`\ngoal ours / raw unnest ≥ 0.60x: ${goal ? 'met' : 'NOT met'}`);
    return 0;
  } finally {
    await direct.end().catch(() => {});
    if (server) await server.stop();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
};
