'use strict';
// Retention under live ingest: a project seeded in SQL (as the analytics benchmark seeds) with
// BENCH_SPANS (1,000,000) spans 60 to 90 days old, then ingest at a steady
// BENCH_RETENTION_SPANS_PER_SEC (1,000) over HTTP into the same project (the ingest benchmark's
// batches), twice in the same run: first for BENCH_RETENTION_SECONDS (30) with no retention set,
// then from setProjectRetention(traceDays: 30) until the worker's retention job has deleted every
// expired trace. Reported: ingest batch p50/p99 of both and p99(with) / p99(without) (goal ≤ 2×),
// how long retention took, and the spans table's total size before, after deleting, and after
// the same volume is written again (seeded as before, now recent): the space deleted is reused,
// not added to, once (auto)vacuum has marked it free. A plain VACUUM is run before the rewrite when
// autovacuum has not visited spans since the deletion, and the report says which.
const { envCount, envNumber } = require('./lib/settings');
const crypto = require('node:crypto');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const pg = require('pg');
const harness = require('./lib/harness');
const { gql, sendBatch, withDatabase } = require('./lib/graphql');
const { startOurs, describeExit, sleep } = require('./lib/servers');
const { makeBatch } = require('./ingest');
const { seed } = require('./analytics');

const DAY = 86_400_000;
const TICK_MS = 100;
const RETENTION = `mutation($p: ID!, $days: Int) { setProjectRetention(input: { projectId: $p, traceDays: $days }) {
  project { retention { effectiveTraceDays keepAggregates } } } }`;

function settings() {
  const spansPerSec = envNumber('BENCH_RETENTION_SPANS_PER_SEC', 1_000, { min: 100 });
  if (spansPerSec % 100)
    throw new Error(
      'BENCH_RETENTION_SPANS_PER_SEC: expected a multiple of 100 (traces of 10 spans, 10 batches a second)',
    );
  return {
    spans: envCount('BENCH_SPANS', 1_000_000),
    users: 1_000,
    spansPerSec,
    seconds: envNumber('BENCH_RETENTION_SECONDS', 30, { min: 1 }),
    /** Longest the second ingest waits for retention to finish. */
    maxSeconds: envNumber('BENCH_RETENTION_MAX_SECONDS', 1_800, { min: 1 }),
    pgUrl: process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  };
}

function pct(xs, p) {
  if (!xs.length) return null;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/**
 * Sends `spansPerSec`, a batch of whole traces every 100 ms, open loop (a slow answer does not delay
 * the next batch), until `stop()` says so.
 */
async function stream(url, key, projectGid, prefix, spansPerSec, baseMs, stop) {
  const latencies = [];
  const failures = [];
  const inFlight = [];
  let spans = 0;
  const started = performance.now();
  for (let tick = 0; !stop(performance.now() - started); tick++) {
    const wait = started + tick * TICK_MS - performance.now();
    if (wait > 0) await sleep(wait);
    const batch = makeBatch(prefix, tick, spansPerSec / 10, baseMs);
    inFlight.push(
      sendBatch(url, key, projectGid, batch, latencies, failures).then((n) => {
        spans += n;
      }),
    );
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  return {
    seconds,
    batches: latencies.length,
    spans,
    spansPerSec: spans / seconds,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    failures,
  };
}

module.exports = async function retention() {
  const opts = settings();
  const log = (line) => process.stderr.write(`${line}\n`);
  const runId = crypto.randomBytes(6).toString('hex');
  const dbName = `evalgraph_bench_retention_${runId}`;
  const admin = new pg.Client({ connectionString: opts.pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const databaseUrl = withDatabase(opts.pgUrl, dbName);
  // The same session settings as our pool (src/storage/db.ts).
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, options: '-c jit=off' });
  pool.on('error', () => {});
  let server = null;
  try {
    const key = `evg_bench_${crypto.randomBytes(24).toString('base64url')}`;
    log(`database ${dbName}; starting ours (API and worker, retention looks every second)…`);
    let url;
    ({ server, url } = await startOurs({
      databaseUrl,
      key,
      env: { EVALGRAPH_RETENTION_MS: '1000' },
    }));
    const projectId = (await pool.query(`SELECT id::text FROM projects LIMIT 1`)).rows[0].id;
    const projectGid = Buffer.from(`Project:${projectId}`).toString('base64');
    const size = async () =>
      Number((await pool.query(`SELECT pg_total_relation_size('spans') AS b`)).rows[0].b);
    /** The table itself and its indexes apart: vacuum frees heap space at once, index pages later. */
    const parts = async () => {
      const r = (
        await pool.query(
          `SELECT pg_relation_size('spans') AS heap, pg_indexes_size('spans') AS indexes`,
        )
      ).rows[0];
      return { heap: Number(r.heap), indexes: Number(r.indexes) };
    };
    const count = async () =>
      Number(
        (await pool.query('SELECT count(*) AS n FROM spans WHERE project_id = $1', [projectId]))
          .rows[0].n,
      );
    const expired = async () =>
      (
        await pool.query(
          `SELECT EXISTS (SELECT 1 FROM traces WHERE project_id = $1 AND start_time < now() - interval '30 days') AS e`,
          [projectId],
        )
      ).rows[0].e;
    const vacuums = async () =>
      (
        await pool.query(
          `SELECT autovacuum_count::int AS auto, vacuum_count::int AS manual, n_dead_tup::bigint AS dead
           FROM pg_stat_user_tables WHERE relname = 'spans'`,
        )
      ).rows[0];

    log(`generating ${opts.spans.toLocaleString('en')} spans 60 to 90 days old…`);
    const sizeEmpty = await size();
    const partsEmpty = await parts();
    const seedMs = await seed(pool, projectId, opts, Date.now() - 60 * DAY);
    const seededBytes = (await size()) - sizeEmpty;
    const partsSeeded = await parts();
    const seededParts = {
      heap: partsSeeded.heap - partsEmpty.heap,
      indexes: partsSeeded.indexes - partsEmpty.indexes,
    };
    // Vacuumed now, so autovacuum's first visit to a million new rows does not fall in the
    // baseline's ingest.
    await pool.query('VACUUM ANALYZE spans, traces');
    log(`generated in ${(seedMs / 1000).toFixed(0)} s`);
    const baseMs = Math.floor((Date.now() - 3600_000) / 1000) * 1000;
    const prefix = (n) => `${runId}${n}`;

    log(`ingest   ${opts.spansPerSec} spans/s for ${opts.seconds} s, no retention…`);
    const without = await stream(
      url,
      key,
      projectGid,
      prefix('a1'),
      opts.spansPerSec,
      baseMs,
      (ms) => ms >= opts.seconds * 1000,
    );
    const sizeBefore = await size();
    const partsBefore = await parts();
    const spansBefore = await count();
    const vacuumsBefore = await vacuums();

    log(`retention set (30 days); ingest ${opts.spansPerSec} spans/s until it has deleted…`);
    const set = await gql(url, key, RETENTION, { p: projectGid, days: 30 });
    if (set.setProjectRetention.project.retention.effectiveTraceDays !== 30)
      throw new Error(`setProjectRetention: ${JSON.stringify(set)}`);
    const retentionStarted = performance.now();
    let retentionMs = null;
    const watch = (async () => {
      while (performance.now() - retentionStarted < opts.maxSeconds * 1000) {
        if (!(await expired())) {
          retentionMs = performance.now() - retentionStarted;
          return;
        }
        await sleep(250);
      }
    })();
    const during = await stream(
      url,
      key,
      projectGid,
      prefix('b2'),
      opts.spansPerSec,
      baseMs + opts.seconds * 1000 + 60_000,
      (ms) => retentionMs != null || ms >= opts.maxSeconds * 1000,
    );
    await watch;
    const sizeAfterDelete = await size();
    const partsAfterDelete = await parts();
    const spansAfterDelete = await count();
    const vacuumsAfterDelete = await vacuums();
    const deleted = spansBefore + during.spans - spansAfterDelete;

    // Autovacuum marks the deleted rows' space free; when it has not visited spans since the
    // deletion began, a plain VACUUM (not FULL: it does not give space back to the system) does.
    const autovacuumRan = vacuumsAfterDelete.auto > vacuumsBefore.auto;
    if (!autovacuumRan) {
      log('autovacuum has not visited spans since the deletion: VACUUM spans, traces…');
      await pool.query('VACUUM spans, traces');
    }
    const sizeVacuumed = await size();
    const partsVacuumed = await parts();
    log(`writing the same ${opts.spans.toLocaleString('en')} spans again, now recent…`);
    // The same rows (the same ids, now free again), in the last 30 days: the same volume. Kept
    // forever now, or the oldest of them would be expired again while they are written.
    await gql(url, key, RETENTION, { p: projectGid, days: null });
    await seed(pool, projectId, opts, Date.now());
    const sizeAfterRewrite = await size();
    const partsAfterRewrite = await parts();

    const mib = (b) => (b / 2 ** 20).toFixed(1);
    const f = (n, d = 1) => (n == null ? 'n/a' : Number(n).toFixed(d));
    const ratio = during.p99 && without.p99 ? during.p99 / without.p99 : null;
    console.log(
      [
        '',
        `retention: ${opts.spans.toLocaleString('en')} expired spans (SQL-seeded, 60–90 days old) in the project ingested into, ingest at ${opts.spansPerSec} spans/s over HTTP (Postgres, keepAggregates: true)`,
        '',
        harness.table([
          ['ingest', 'seconds', 'spans', 'spans/s', 'batch p50 ms', 'batch p99 ms', 'failed'],
          ...[
            ['without retention', without],
            ['while retention deletes', during],
          ].map(([name, r]) => [
            name,
            f(r.seconds),
            r.spans,
            f(r.spansPerSec, 0),
            f(r.p50),
            f(r.p99),
            r.failures.length,
          ]),
        ]),
        '',
        `ingest p99 with / without retention: ${f(ratio, 2)}x (goal ≤ 2x: ${ratio != null && ratio <= 2 ? 'met' : 'NOT met'})`,
        retentionMs == null
          ? `retention: not done after ${opts.maxSeconds} s`
          : `retention: ${deleted.toLocaleString('en')} spans deleted in ${f(retentionMs / 1000)} s (${f(deleted / (retentionMs / 1000), 0)} spans/s), from setProjectRetention to no expired trace left`,
        '',
        harness.table(
          [
            ['spans table', 'total MiB', 'heap MiB', 'indexes MiB', 'spans'],
            ['before (seeded + first ingest)', sizeBefore, partsBefore, spansBefore],
            ['after retention deleted', sizeAfterDelete, partsAfterDelete, spansAfterDelete],
            [
              autovacuumRan ? 'autovacuum ran during the deletion' : 'after a plain VACUUM',
              sizeVacuumed,
              partsVacuumed,
              spansAfterDelete,
            ],
            [
              'after writing the same volume again',
              sizeAfterRewrite,
              partsAfterRewrite,
              await count(),
            ],
          ].map((r, i) => (i ? [r[0], mib(r[1]), mib(r[2].heap), mib(r[2].indexes), r[3]] : r)),
        ),
        '',
        `rewriting the deleted volume grew spans by ${mib(sizeAfterRewrite - sizeVacuumed)} MiB; the same rows took ${mib(seededBytes)} MiB when first written (${f((100 * (sizeAfterRewrite - sizeVacuumed)) / seededBytes, 0)} %); heap ${mib(partsAfterRewrite.heap - partsVacuumed.heap)} of ${mib(seededParts.heap)} MiB, indexes ${mib(partsAfterRewrite.indexes - partsVacuumed.indexes)} of ${mib(seededParts.indexes)} MiB. Autovacuum ${autovacuumRan ? 'ran on spans during the deletion' : 'did not run on spans during the deletion: a plain VACUUM was run before the rewrite'}.`,
        '',
      ].join('\n'),
    );
    const file = harness.writeResults('retention', {
      settings: { ...opts, pgUrl: undefined },
      without,
      during,
      retentionMs,
      deleted,
      sizes: {
        sizeEmpty,
        seededBytes,
        sizeBefore,
        sizeAfterDelete,
        sizeVacuumed,
        sizeAfterRewrite,
      },
      autovacuumRan,
    });
    console.log(`results: ${path.relative(path.resolve(__dirname, '..'), file)}`);
    return without.failures.length || during.failures.length || retentionMs == null ? 1 : 0;
  } catch (error) {
    if (server?.exited)
      log(`ours exited: ${describeExit(server.exited)}\n${server.tail.join('\n')}`);
    throw error;
  } finally {
    if (server) await server.stop();
    await pool.end().catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
};
