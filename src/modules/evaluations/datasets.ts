// Datasets: named sets of items a project evaluates again and again, kept through versions
// (dataset-sql.ts), and the checks every item passes (sizes, an input) whether it goes into a
// dataset or straight into an evaluation.
import { isDeepStrictEqual } from 'node:util';
import { v7 as uuidv7 } from 'uuid';
import type { Deps } from '../../deps';
import { badInput, notFound } from '../../errors';
import type { Sql } from '../../storage/db';
import {
  currentItem,
  insertItems,
  liveItemContents,
  liveItemCount,
  lockDataset,
  lockItemDataset,
  nextVersion,
  recordVersion,
  replaceItem,
} from './dataset-sql';

export const MAX_ITEMS = 10_000;
export const MAX_ITEM_JSON = 256 * 1024;
export const MAX_CONTEXTS = 100;

export interface ItemInput {
  /** Required; checked by checkItems (GraphQL's JSON scalar lets null through). */
  input?: unknown;
  expectedOutput?: unknown;
  output?: unknown;
  contexts?: string[] | null;
  metadata?: unknown;
}

/** Checks one item's sizes; returns it normalised, or throws BAD_USER_INPUT at `path`. */
function checkItem(item: ItemInput, path: (string | number)[], what: string) {
  if (item.input === undefined || item.input === null)
    throw badInput(`${what} has no input.`, [...path, 'input']);
  const contexts = item.contexts ?? [];
  if (contexts.length > MAX_CONTEXTS)
    throw badInput(`${what} has more than ${MAX_CONTEXTS} contexts.`, [...path, 'contexts']);
  const row = {
    input: item.input,
    expected_output: item.expectedOutput ?? null,
    output: item.output ?? null,
    contexts,
    metadata: item.metadata ?? null,
  };
  if (JSON.stringify(row).length > MAX_ITEM_JSON)
    throw badInput(`${what} is larger than ${MAX_ITEM_JSON} bytes of JSON.`, path);
  return row;
}

/** Checks items' sizes; returns them normalised, or throws BAD_USER_INPUT at `path`. */
export function checkItems(items: ItemInput[], path: (string | number)[]) {
  if (items.length > MAX_ITEMS) throw badInput(`At most ${MAX_ITEMS} items.`, path);
  return items.map((item, i) => checkItem(item, [...path, i], `Item ${i}`));
}

export type CheckedItem = ReturnType<typeof checkItems>[number];

/** JSON with every object's keys sorted: equal for equal values, as jsonb compares them. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** What updateDatasetItem changes: a field left out stays, null clears it (input cannot be cleared). */
export type ItemChanges = ItemInput;

export function createDatasets(deps: Pick<Deps, 'db' | 'clock'>) {
  const { db } = deps;

  /**
   * Adds checked items to a locked dataset as one new version (none when there are none); their
   * ids. `path` names the items in the input.
   */
  async function insertNew(
    sql: Sql,
    datasetId: string,
    rows: (CheckedItem & { sourceSpanId?: string | null })[],
    path: (string | number)[],
  ) {
    const count = await liveItemCount(sql, datasetId);
    if (count + rows.length > MAX_ITEMS)
      throw badInput(`A dataset holds at most ${MAX_ITEMS} items (it has ${count}).`, path);
    if (rows.length === 0) return [];
    const version = await nextVersion(sql, datasetId, deps.clock.now(), { added: rows.length });
    const items = rows.map((r) => ({ ...r, id: uuidv7() }));
    await insertItems(sql, datasetId, version, items);
    return items.map((i) => i.id);
  }

  /** Adds checked items to a dataset as one new version; `path` names the items in the input. */
  async function addItems(
    datasetId: string,
    rows: (CheckedItem & { sourceSpanId?: string | null })[],
    path: (string | number)[],
  ) {
    return db.transaction(async (sql) => {
      if (!(await lockDataset(sql, datasetId))) throw notFound('Dataset', ['input', 'datasetId']);
      return (await insertNew(sql, datasetId, rows, path)).length;
    });
  }

  /**
   * Replaces the item's current state by `change` of it, as a new version of its dataset; nothing
   * (no new version) when that changes nothing. NOT_FOUND when there is no such item.
   */
  async function changeItem(
    id: string,
    change: (current: CheckedItem & { archived: boolean }) => CheckedItem & { archived: boolean },
    counts: { updated?: number; archived?: number },
  ) {
    return db.transaction(async (sql) => {
      const datasetId = await lockItemDataset(sql, id);
      const current = datasetId && (await currentItem(sql, id));
      if (!datasetId || !current) throw notFound('DatasetItem', ['input', 'id']);
      const next = change(current);
      if (isDeepStrictEqual(next, current)) return datasetId;
      const version = await nextVersion(sql, datasetId, deps.clock.now(), counts);
      await replaceItem(sql, datasetId, version, { ...next, id });
      return datasetId;
    });
  }

  return {
    async createDataset(input: {
      projectId: string;
      name: string;
      description?: string | null;
      items: ItemInput[];
    }) {
      const rows = checkItems(input.items, ['input', 'items']);
      const id = await db.transaction(async (sql) => {
        const now = deps.clock.now();
        const [dataset] = await sql<{ id: string }>(
          `INSERT INTO datasets (id, project_id, name, description, created_at, updated_at, version)
           VALUES ($1::uuid, $2::uuid, $3, $4, $5::timestamptz, now(), $5::timestamptz)
           ON CONFLICT (project_id, name) DO NOTHING RETURNING id::text`,
          [uuidv7(), input.projectId, input.name, input.description ?? null, now],
        );
        if (!dataset)
          throw badInput(`A dataset named "${input.name}" exists in this project.`, [
            'input',
            'name',
          ]);
        // Its first version: created, with its items (if any).
        await recordVersion(sql, dataset.id, now, { added: rows.length });
        await insertItems(
          sql,
          dataset.id,
          now,
          rows.map((r) => ({ ...r, id: uuidv7() })),
        );
        return dataset.id;
      });
      return db.prisma.dataset.findUniqueOrThrow({ where: { id } });
    },

    /** Adds items as one new version (`sourceSpanId`: the span an item was copied from); returns how many. */
    addDatasetItems(
      datasetId: string,
      items: (ItemInput & { sourceSpanId?: string | null })[],
      path: (string | number)[] = ['input', 'items'],
    ) {
      const rows = checkItems(items, path).map((row, i) => ({
        ...row,
        sourceSpanId: items[i].sourceSpanId ?? null,
      }));
      return addItems(datasetId, rows, path);
    },

    /**
     * The id of an item of the dataset for each item given: a live item of the same content
     * (input, expected output and output, as JSON) when there is one, else a new item, the new
     * ones added as one new version. Items given twice get one id.
     */
    async itemIdsFor(datasetId: string, items: ItemInput[], path: (string | number)[]) {
      const rows = checkItems(items, path);
      const key = (r: { input: unknown; expected_output: unknown; output: unknown }) =>
        canonicalJson([r.input, r.expected_output, r.output]);
      return db.transaction(async (sql) => {
        if (!(await lockDataset(sql, datasetId))) throw notFound('Dataset', ['input', 'datasetId']);
        const live = await liveItemContents(sql, datasetId);
        const ids = new Map(live.map((item) => [key(item), item.id]));
        const missing = new Map<string, CheckedItem>();
        for (const row of rows) if (!ids.has(key(row))) missing.set(key(row), row);
        const added = await insertNew(sql, datasetId, [...missing.values()], path);
        [...missing.keys()].forEach((k, i) => ids.set(k, added[i]));
        return rows.map((row) => ids.get(key(row))!);
      });
    },

    /** Edits an item (see ItemChanges); returns its dataset's id. */
    updateDatasetItem(id: string, changes: ItemChanges) {
      return changeItem(
        id,
        (current) => ({
          ...checkItem(
            {
              input: changes.input === undefined ? current.input : changes.input,
              expectedOutput:
                changes.expectedOutput === undefined
                  ? current.expected_output
                  : changes.expectedOutput,
              output: changes.output === undefined ? current.output : changes.output,
              contexts: changes.contexts === undefined ? current.contexts : changes.contexts,
              metadata: changes.metadata === undefined ? current.metadata : changes.metadata,
            },
            ['input'],
            'The item',
          ),
          archived: current.archived,
        }),
        { updated: 1 },
      );
    },

    /** Archives an item: left out of new runs and of the dataset's items from now on. */
    archiveDatasetItem(id: string) {
      return changeItem(id, (current) => ({ ...current, archived: true }), { archived: 1 });
    },
  };
}
