// The migration that moved online rules' score ids under "evalgraph:" renames them, and leaves one
// whose new id a client already took as it was: a tenant's data must not fail the upgrade.
import { emptyDatabase, migrateBefore, migrationScript } from './support/migration-scripts';

jest.setTimeout(120_000);

const MIGRATION = '20261206001239_own_score_client_ids';

it("renames online rules' client ids, except where a client took the new one", async () => {
  const db = await emptyDatabase();
  try {
    await migrateBefore(db, MIGRATION);
    const [project] = await db.sql<{ id: string }>(
      `INSERT INTO projects (id, name, updated_at) VALUES (gen_random_uuid(), 'p', now()) RETURNING id::text`,
    );
    const score = (clientId: string, source: string) =>
      db.sql(
        `INSERT INTO scores (id, project_id, client_id, session_id, name, data_type, value, source, scored_at, updated_at)
         VALUES (gen_random_uuid(), $1::uuid, $2, 's', 'n', 'NUMERIC', 1, $3::"ScoreSource", now(), now())`,
        [project.id, clientId, source],
      );
    await score('rule:r1:t1:g', 'ONLINE_EVALUATION');
    await score('rule:r1:t2:g', 'ONLINE_EVALUATION');
    await score('evalgraph:rule:r1:t2:g', 'API'); // a client's, taken before the prefix was reserved
    await score('rule:mine', 'API'); // a client's own id that merely looks alike

    await db.script(await migrationScript(MIGRATION));

    const rows = await db.sql<{ client_id: string; source: string }>(
      `SELECT client_id, source::text FROM scores ORDER BY client_id`,
    );
    expect(rows.map((r) => [r.client_id, r.source])).toEqual([
      ['evalgraph:rule:r1:t1:g', 'ONLINE_EVALUATION'],
      ['evalgraph:rule:r1:t2:g', 'API'],
      ['rule:mine', 'API'],
      ['rule:r1:t2:g', 'ONLINE_EVALUATION'],
    ]);
  } finally {
    await db.close();
  }
});
