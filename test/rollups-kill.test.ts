// Rollups survive kill -9 (issue 20): a `serve` process ingests batches (each batch's spans and
// their rollup contribution in one transaction) while its worker compacts every 50 ms, and is
// killed with SIGKILL at seeded random moments, then started again. A batch cut off by a kill may
// be lost, but whatever `spans` holds, the rollups hold exactly: no double count from a compaction
// cut short, nothing lost. With Postgres the test reads the database while the last server still
// compacts (two compactors at once); on the embedded database (which one process owns) it reads
// the data directory once the server has stopped.
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Pool } from 'pg';
import type { Sql } from '../src/storage/db';
import { createDeployment, type ServeProcess, startServeProcess } from './support/process';
import {
  compactToQuiet,
  costGroups,
  expectRollupsExact,
  expectSameGroups,
  HOUR,
  random,
  rawAggregate,
  runSeed,
  spanBatches,
  SUMMARY,
  withSeed,
} from './support/rollups';
import { INGEST, type SpanJson } from './support/spans';

jest.setTimeout(240_000);

const SEED = runSeed();
const KILLS = 3;
const FROM = Date.parse('2025-06-09T21:00:00.000Z');

it(
  'a server killed with SIGKILL while it ingests and compacts leaves rollups equal to its spans',
  withSeed(SEED, async () => {
    const r = random(SEED);
    const shared = Boolean(process.env.DATABASE_URL);
    const deployment = await createDeployment({
      project: 'rollup kill',
      shared,
      env: {
        EVALGRAPH_ROLLUP_COMPACT_MS: '50',
        EVALGRAPH_RESPONSE_CACHE: 'false',
        EVALGRAPH_RATE_LIMIT: 'false',
      },
    });
    let server: ServeProcess | null = null;
    let pool: Pool | null = null;
    let lite: PGlite | null = null;
    try {
      // API and worker in one process (`serve`), on Postgres as on the embedded database.
      let up = startServeProcess(deployment.env);
      server = await up;
      const project = await deployment.projectId(server.url);
      const queue = spanBatches(r, {
        prefix: 'k',
        from: FROM,
        hours: 75,
        spans: 1_000,
        batchMax: 50,
      });
      const total = queue.length;
      const acknowledged: SpanJson[] = [];
      let cut = 0;
      const sender = async () => {
        for (let batch = queue.shift(); batch; batch = queue.shift()) {
          const target = await up;
          let res: Awaited<ReturnType<typeof deployment.gql>>;
          try {
            res = await deployment.gql(
              INGEST,
              { input: { projectId: project, spans: batch, partial: false } },
              target.url,
            );
          } catch {
            // Cut off by a kill: committed or not, `spans` tells.
            cut += 1;
            continue;
          }
          expect(res.errors).toBeUndefined();
          acknowledged.push(...batch);
        }
      };
      const senders = Promise.all([sender(), sender()]);
      for (let kill = 0; kill < KILLS && queue.length > 0; kill++) {
        await new Promise((resolve) => setTimeout(resolve, r.int(200, 2_500)));
        // Batches sent from now on wait for the next server; those in flight are cut off.
        const killed = server;
        up = killed.stop('SIGKILL').then(() => startServeProcess(deployment.env));
        server = await up;
      }
      await senders;
      // Most batches were answered, some were cut off by a kill.
      expect(acknowledged.length).toBeGreaterThan(0);
      expect(cut).toBeLessThan(total);

      let sql: Sql;
      if (shared) {
        pool = new Pool({ connectionString: deployment.env.DATABASE_URL, max: 2 });
        const p = pool;
        sql = async (text, params) => (await p.query(text, params)).rows;
      } else {
        await server.stop('SIGTERM');
        lite = await PGlite.create({
          dataDir: path.join(deployment.env.EVALGRAPH_DATA_DIR, 'pgdata'),
        });
        const l = lite;
        sql = async (text, params) => (await l.query(text, params)).rows as never;
      }
      // Every acknowledged span is stored.
      const [stored] = await sql<{ n: number }>(
        `SELECT count(DISTINCT (k.t, k.s))::int AS n
         FROM unnest($1::text[], $2::text[]) AS k(t, s)
         JOIN traces t ON t.external_id = k.t JOIN spans s ON s.trace_id = t.id AND s.external_id = k.s`,
        [acknowledged.map((s) => s.traceId), acknowledged.map((s) => s.spanId)],
      );
      const distinct = new Set(acknowledged.map((s) => `${s.traceId}/${s.spanId}`)).size;
      expect(stored.n).toBe(distinct);

      // The server's compactor ran between the kills.
      const [merged] = await sql<{ n: number }>(
        'SELECT count(*)::int AS n FROM span_rollups WHERE compacted',
      );
      expect(merged.n).toBeGreaterThan(0);

      // Exact before compaction ends, and after (on Postgres, against the server's compactor too).
      await expectRollupsExact(sql);
      await compactToQuiet(sql);
      await expectRollupsExact(sql);
      const [dupes] = await sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM (SELECT 1 FROM span_rollups
           GROUP BY project_id, by_user, grain, bucket, is_call, model, provider, kind, status, user_id
           HAVING count(*) > 1) d`,
      );
      expect(dupes.n).toBe(0);

      if (shared) {
        // And the server answers from them what the spans say.
        const from = FROM + 0.5 * HOUR + 1_234;
        const to = FROM + 74 * HOUR - 4_321;
        const res = await deployment.gql(
          SUMMARY,
          {
            p: project,
            from: new Date(from).toISOString(),
            to: new Date(to).toISOString(),
            g: ['MODEL', 'DAY'],
          },
          server.url,
        );
        expect(res.errors).toBeUndefined();
        const [{ id }] = await sql<{ id: string }>(
          `SELECT id::text FROM projects WHERE name = 'rollup kill'`,
        );
        const want = await rawAggregate(sql, {
          projectIds: [id],
          from: new Date(from),
          to: new Date(to),
          interval: 'DAY',
          groupBy: ['MODEL'],
          callsOnly: true,
        });
        expectSameGroups(costGroups(res.data.costSummary, ['MODEL', 'DAY']), want, 'after kills');
      }
    } finally {
      await pool?.end();
      await lite?.close();
      if (server?.child.exitCode === null && server.child.signalCode === null)
        await server.stop('SIGKILL');
      await deployment.close();
    }
  }),
);
