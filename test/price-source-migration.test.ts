// The migration that added spans.price_source marks the spans priced before it: PROVIDED when the
// client sent the cost, TABLE otherwise (there was no default price yet); spans without a cost
// stay null.
import { emptyDatabase, migrateBefore, migrationScript } from './support/migration-scripts';

// Runs every migration on an empty database: seconds on PGlite, more on a busy machine.
jest.setTimeout(120_000);

const MIGRATION = '20261206024615_span_price_source';

it('backfills price_source from the stored cost', async () => {
  const db = await emptyDatabase();
  try {
    await migrateBefore(db, MIGRATION);
    const [project] = await db.sql<{ id: string }>(
      `INSERT INTO projects (id, name, updated_at) VALUES (gen_random_uuid(), 'p', now()) RETURNING id::text`,
    );
    const [trace] = await db.sql<{ id: string }>(
      `INSERT INTO traces (id, project_id, external_id, start_time, updated_at)
       VALUES (gen_random_uuid(), $1::uuid, 't', now(), now()) RETURNING id::text`,
      [project.id],
    );
    for (const [id, cost, provided] of [
      ['priced', '0.3', false],
      ['sent', '0.5', true],
      ['unpriced', null, false],
    ] as const)
      await db.sql(
        `INSERT INTO spans (id, project_id, trace_id, external_id, name, kind, model, input_tokens, total_cost, cost_provided, start_time, updated_at)
         VALUES (gen_random_uuid(), $1::uuid, $2::uuid, $3, 'call', 'LLM', 'm', 10, $4, $5, now(), now())`,
        [project.id, trace.id, id, cost, provided],
      );

    await db.script(await migrationScript(MIGRATION));

    const rows = await db.sql<{ external_id: string; price_source: string | null }>(
      `SELECT external_id, price_source::text FROM spans ORDER BY external_id`,
    );
    expect(rows).toEqual([
      { external_id: 'priced', price_source: 'TABLE' },
      { external_id: 'sent', price_source: 'PROVIDED' },
      { external_id: 'unpriced', price_source: null },
    ]);
  } finally {
    await db.close();
  }
});
