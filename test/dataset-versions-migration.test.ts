// The migration that gave datasets versions moves every item's content into its history and
// rebuilds the history items only ever added had: a version at each dataset's creation and at
// each moment items were added, and runs on a dataset linked to it and to the version they ran on.
import { emptyDatabase, migrateBefore, migrationScript } from './support/migration-scripts';

// Runs every migration on an empty database: seconds on PGlite, more on a busy machine.
jest.setTimeout(120_000);

const MIGRATION = '20261206004036_dataset_versions';

const t = (minute: number) => new Date(Date.UTC(2026, 10, 1, 12, minute));

it("keeps every item's content as its first version, and rebuilds the versions and runs' links", async () => {
  const db = await emptyDatabase();
  try {
    await migrateBefore(db, MIGRATION);
    // Rows as the code before it wrote them.
    const [project] = await db.sql<{ id: string }>(
      `INSERT INTO projects (id, name, updated_at) VALUES (gen_random_uuid(), 'p', now()) RETURNING id::text`,
    );
    const dataset = async (name: string, at: Date) =>
      (
        await db.sql<{ id: string }>(
          `INSERT INTO datasets (id, project_id, name, created_at, updated_at) VALUES (gen_random_uuid(), $1::uuid, $2, $3, $3) RETURNING id::text`,
          [project.id, name, at],
        )
      )[0].id;
    const item = async (datasetId: string, input: string, at: Date, extra: string[] = []) =>
      (
        await db.sql<{ id: string }>(
          `INSERT INTO dataset_items (id, dataset_id, input, expected_output, output, contexts, metadata, created_at)
           VALUES (gen_random_uuid(), $1::uuid, $2::jsonb, '"e"', NULL, $3::text[], '{"k": 1}', $4) RETURNING id::text`,
          [datasetId, JSON.stringify(input), extra, at],
        )
      )[0].id;
    const evaluation = async (dataSource: object, at: Date) =>
      (
        await db.sql<{ id: string }>(
          `INSERT INTO evaluations (id, project_id, name, testing_criteria, data_source, created_at, updated_at)
           VALUES (gen_random_uuid(), $1::uuid, 'e', '[]', $2::jsonb, $3, $3) RETURNING id::text`,
          [project.id, JSON.stringify(dataSource), at],
        )
      )[0].id;
    const full = await dataset('full', t(0));
    const first = [await item(full, 'a', t(1), ['ctx']), await item(full, 'b', t(1))];
    const later = await item(full, 'c', t(2));
    const empty = await dataset('empty', t(3));
    const onFirst = await evaluation({ type: 'dataset', datasetId: full, name: 'full' }, t(1.5));
    const onLater = await evaluation({ type: 'dataset', datasetId: full, name: 'full' }, t(4));
    const inline = await evaluation({ type: 'items', count: 1 }, t(5));

    await db.script(await migrationScript(MIGRATION));

    const versions = await db.sql(
      `SELECT dataset_id::text, version, item_count, added_count, updated_count, archived_count FROM dataset_versions ORDER BY version`,
    );
    const counts = (datasetId: string, version: Date, itemCount: number, added: number) => ({
      dataset_id: datasetId,
      version,
      item_count: itemCount,
      added_count: added,
      updated_count: 0,
      archived_count: 0,
    });
    expect(versions).toEqual([
      counts(full, t(0), 0, 0),
      counts(full, t(1), 2, 2),
      counts(full, t(2), 3, 1),
      counts(empty, t(3), 0, 0),
    ]);
    expect(await db.sql(`SELECT id::text, version FROM datasets ORDER BY created_at`)).toEqual([
      { id: full, version: t(2) },
      { id: empty, version: t(3) },
    ]);
    expect(
      await db.sql(
        `SELECT dataset_item_id::text AS id, dataset_id::text, valid_from, valid_to, archived, input, expected_output, output, contexts, metadata
         FROM dataset_item_versions ORDER BY valid_from, input::text`,
      ),
    ).toEqual(
      [
        [first[0], 'a', t(1), ['ctx']],
        [first[1], 'b', t(1), []],
        [later, 'c', t(2), []],
      ].map(([id, input, at, contexts]) => ({
        id,
        dataset_id: full,
        valid_from: at,
        valid_to: null,
        archived: false,
        input,
        expected_output: 'e',
        output: null,
        contexts,
        metadata: { k: 1 },
      })),
    );
    expect(
      await db.sql(
        `SELECT id::text, dataset_id::text, dataset_version FROM evaluations ORDER BY created_at`,
      ),
    ).toEqual([
      { id: onFirst, dataset_id: full, dataset_version: t(1) },
      { id: onLater, dataset_id: full, dataset_version: t(2) },
      { id: inline, dataset_id: null, dataset_version: null },
    ]);
  } finally {
    await db.close();
  }
});
