// A dataset's items through its versions. Every change of its items (added, edited, archived) is
// a new version of the dataset, named by its time; an item's content lives in
// dataset_item_versions, one row per state of it, valid from the version that set it until the
// version that replaced it (valid_to, null while current). The items as of version V are the rows
// with valid_from <= V < valid_to: a past version reads exactly as it was, with one range
// condition, and a change writes only the rows it changes (a copy of every item per version
// would cost a dataset's size per edit; a log of changes would have to be replayed to be read).
// dataset_items keeps what never changes: the item's id (what runs are compared by) and the span
// it came from. dataset_versions lists the versions with their counts.
import type { Sql } from '../../storage/db';
import type { CheckedItem } from './datasets';
import { jsonParam } from '../../storage/json-param';

/** Counted on a version: what the change did. */
export interface VersionCounts {
  added?: number;
  updated?: number;
  archived?: number;
}

/**
 * Opens the dataset's next version and records it: a time strictly after its last version, `now`
 * when that is later (a version must name one state, whatever the clocks of the processes
 * writing). Call it in the change's transaction, after lockDataset (or lockItemDataset: changes
 * of one dataset go one at a time) and before its rows are written.
 */
export async function nextVersion(
  sql: Sql,
  datasetId: string,
  now: Date,
  counts: VersionCounts,
): Promise<Date> {
  const [row] = await sql<{ version: Date }>(
    `UPDATE datasets SET version = GREATEST($2::timestamptz, version + interval '1 millisecond'), updated_at = now()
     WHERE id = $1::uuid RETURNING version`,
    [datasetId, now],
  );
  const version = new Date(row.version);
  await recordVersion(sql, datasetId, version, counts);
  return version;
}

/** Lists `version` among the dataset's versions, its item count following from the last one's. */
export async function recordVersion(
  sql: Sql,
  datasetId: string,
  version: Date,
  counts: VersionCounts,
) {
  const added = counts.added ?? 0;
  const archived = counts.archived ?? 0;
  await sql(
    `INSERT INTO dataset_versions (dataset_id, version, item_count, added_count, updated_count, archived_count)
     SELECT $1::uuid, $2::timestamptz, COALESCE((SELECT item_count FROM dataset_versions WHERE dataset_id = $1::uuid ORDER BY version DESC LIMIT 1), 0) + $3 - $5, $3, $4, $5`,
    [datasetId, version, added, counts.updated ?? 0, archived],
  );
}

/** Items in the dataset now (archived ones not counted). */
export async function liveItemCount(sql: Sql, datasetId: string): Promise<number> {
  const [row] = await sql<{ item_count: number }>(
    `SELECT item_count FROM dataset_versions WHERE dataset_id = $1::uuid ORDER BY version DESC LIMIT 1`,
    [datasetId],
  );
  return row?.item_count ?? 0;
}

/** The content of the dataset's live (current, not archived) items, by item id. */
export async function liveItemContents(sql: Sql, datasetId: string) {
  return sql<{ id: string; input: unknown; expected_output: unknown; output: unknown }>(
    `SELECT dataset_item_id::text AS id, input, expected_output, output FROM dataset_item_versions
     WHERE dataset_id = $1::uuid AND valid_to IS NULL AND NOT archived`,
    [datasetId],
  );
}

/** A state of an item to write: its content, and whether it is archived. */
export interface ItemState extends CheckedItem {
  id: string;
  archived?: boolean;
}

/** Writes states of items valid from `version` (JSON null stored as SQL NULL). */
async function insertStates(sql: Sql, datasetId: string, version: Date, states: ItemState[]) {
  await sql(
    `INSERT INTO dataset_item_versions (dataset_item_id, valid_from, dataset_id, archived, input, expected_output, output, contexts, metadata)
     SELECT (r->>'id')::uuid, $2::timestamptz, $1::uuid, COALESCE((r->>'archived')::boolean, false), r->'input',
       NULLIF(r->'expected_output', 'null'::jsonb), NULLIF(r->'output', 'null'::jsonb),
       ARRAY(SELECT jsonb_array_elements_text(COALESCE(r->'contexts', '[]'::jsonb))), NULLIF(r->'metadata', 'null'::jsonb)
     FROM jsonb_array_elements($3::jsonb) AS r`,
    [datasetId, version, jsonParam(states)],
  );
}

/** Adds new items (`sourceSpanId`: the span each was copied from, if any) at `version`. */
export async function insertItems(
  sql: Sql,
  datasetId: string,
  version: Date,
  items: (ItemState & { sourceSpanId?: string | null })[],
) {
  await sql(
    `INSERT INTO dataset_items (id, dataset_id, source_span_id, created_at)
     SELECT (r->>'id')::uuid, $1::uuid, (r->>'sourceSpanId')::uuid, $2::timestamptz FROM jsonb_array_elements($3::jsonb) AS r`,
    [
      datasetId,
      version,
      JSON.stringify(items.map((i) => ({ id: i.id, sourceSpanId: i.sourceSpanId ?? null }))),
    ],
  );
  await insertStates(sql, datasetId, version, items);
}

/** Replaces an item's current state by `state` from `version` on. */
export async function replaceItem(sql: Sql, datasetId: string, version: Date, state: ItemState) {
  await sql(
    `UPDATE dataset_item_versions SET valid_to = $2::timestamptz WHERE dataset_item_id = $1::uuid AND valid_to IS NULL`,
    [state.id, version],
  );
  await insertStates(sql, datasetId, version, [state]);
}

/** Locks the dataset against changes until the transaction ends; false when there is none. */
export async function lockDataset(sql: Sql, datasetId: string): Promise<boolean> {
  return (
    (await sql(`SELECT 1 FROM datasets WHERE id = $1::uuid FOR UPDATE`, [datasetId])).length > 0
  );
}

/** Locks the dataset of an item, as lockDataset; its id, or null when there is no such item. */
export async function lockItemDataset(sql: Sql, itemId: string): Promise<string | null> {
  const [row] = await sql<{ id: string }>(
    `SELECT id::text FROM datasets WHERE id = (SELECT dataset_id FROM dataset_items WHERE id = $1::uuid) FOR UPDATE`,
    [itemId],
  );
  return row?.id ?? null;
}

/** An item's current state: read after its dataset is locked, it stays current until commit. */
export async function currentItem(
  sql: Sql,
  itemId: string,
): Promise<(CheckedItem & { archived: boolean }) | null> {
  const [row] = await sql<CheckedItem & { archived: boolean }>(
    `SELECT archived, input, expected_output, output, COALESCE(contexts, '{}') AS contexts, metadata
     FROM dataset_item_versions WHERE dataset_item_id = $1::uuid AND valid_to IS NULL`,
    [itemId],
  );
  return row ?? null;
}

/**
 * Which rows of dataset_item_versions are the items as of `version` (null: now), as a Prisma
 * condition; archived items only when asked for.
 */
export const itemsAsOf = (version: Date | null, includeArchived = false) => ({
  ...(version
    ? { validFrom: { lte: version }, OR: [{ validTo: null }, { validTo: { gt: version } }] }
    : { validTo: null }),
  ...(includeArchived ? {} : { archived: false }),
});

/** The dataset's version in effect at `at`: its latest version at or before it (null: none). */
export async function versionAt(sql: Sql, datasetId: string, at: Date): Promise<Date | null> {
  const [row] = await sql<{ version: Date | null }>(
    `SELECT max(version) AS version FROM dataset_versions WHERE dataset_id = $1::uuid AND version <= $2::timestamptz`,
    [datasetId, at],
  );
  return row?.version ? new Date(row.version) : null;
}
