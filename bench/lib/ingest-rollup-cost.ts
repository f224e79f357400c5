// Ad-hoc profiling: times ingest's span statement (traces/ingest-sql.ts insertSpans) with and
// without its rollup contribution, batches alternating, on a database migrated by `evalgraph
// migrate` (PROF_DATABASE_URL; it adds a project `prof`). PROF_EXPLAIN=1 prints the plans of the
// last two batches (EXPLAIN ANALYZE). Run `ANALYZE` on that database first when it has data.
//   PROF_DATABASE_URL=postgres://… npx tsx bench/lib/ingest-rollup-cost.ts
import pg from 'pg';
import { insertSpans } from '../../src/modules/traces/ingest-sql';

const ingest = require('../ingest.js');
const url = process.env.PROF_DATABASE_URL!;
const batches = Number(process.env.PROF_BATCHES ?? 40);
const explain = process.env.PROF_EXPLAIN === '1';

async function main() {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const projectId = (
    await pool.query(
      `INSERT INTO projects (id, name, updated_at) VALUES (gen_random_uuid(), 'prof', now()) RETURNING id::text`,
    )
  ).rows[0].id;
  const base = Math.floor((Date.now() - 6 * 3600_000) / 1000) * 1000;
  const prefix = `${Date.now().toString(16).slice(-12)}f0`;
  const times: Record<string, number[]> = { with: [], without: [] };
  for (let seq = 0; seq < batches; seq++) {
    const spans = ingest.makeBatch(prefix, seq, 1000, base);
    const { traceRows, spanRows } = ingest.toRows(spans, new Date().toISOString());
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO traces (id, project_id, external_id, start_time, updated_at)
         SELECT id, $1::uuid, external_id, start_time, now() FROM json_to_recordset($2::json) AS r(id uuid, external_id text, start_time timestamptz)`,
        [projectId, JSON.stringify(traceRows)],
      );
      const rollups = seq % 2 === 0;
      const sql = async (text: string, params?: unknown[]) => {
        if (explain && seq >= batches - 2) {
          const r = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, params);
          console.log(`--- rollups=${rollups}\n${r.rows.map((x) => x['QUERY PLAN']).join('\n')}`);
          return [];
        }
        return (await client.query(text, params)).rows;
      };
      const t = performance.now();
      await insertSpans(sql as never, projectId, spanRows, rollups);
      await client.query('COMMIT');
      if (seq >= 4) times[rollups ? 'with' : 'without'].push(performance.now() - t);
    } finally {
      client.release();
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(
    `span statement + COMMIT, median ms: with rollups ${med(times.with).toFixed(1)}, without ${med(times.without).toFixed(1)} (${times.with.length} + ${times.without.length} batches)`,
  );
  const r = await pool.query(
    `SELECT count(*)::int AS rows, pg_size_pretty(pg_total_relation_size('span_rollups')) AS size FROM span_rollups WHERE project_id = $1`,
    [projectId],
  );
  console.log(`span_rollups rows of the project: ${r.rows[0].rows}, table ${r.rows[0].size}`);
  await pool.end();
}
main();
