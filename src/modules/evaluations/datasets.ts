// Datasets: named sets of items a project evaluates again and again, and the checks every item
// passes (sizes, an input) whether it goes into a dataset or straight into an evaluation.
import type { Deps } from '../../deps';
import { badInput } from '../../errors';

export const MAX_ITEMS = 10_000;
export const MAX_ITEM_JSON = 256 * 1024;
const MAX_CONTEXTS = 100;

export interface ItemInput {
  /** Required; checked by checkItems (GraphQL's JSON scalar lets null through). */
  input?: unknown;
  expectedOutput?: unknown;
  output?: unknown;
  contexts?: string[] | null;
  metadata?: unknown;
}

/** Checks items' sizes; returns them normalised, or throws BAD_USER_INPUT at `path`. */
export function checkItems(items: ItemInput[], path: (string | number)[]) {
  if (items.length > MAX_ITEMS) throw badInput(`At most ${MAX_ITEMS} items.`, path);
  return items.map((item, i) => {
    if (item.input === undefined || item.input === null)
      throw badInput(`Item ${i} has no input.`, [...path, i, 'input']);
    const contexts = item.contexts ?? [];
    if (contexts.length > MAX_CONTEXTS)
      throw badInput(`Item ${i} has more than ${MAX_CONTEXTS} contexts.`, [...path, i, 'contexts']);
    const row = {
      input: item.input,
      expected_output: item.expectedOutput ?? null,
      output: item.output ?? null,
      contexts,
      metadata: item.metadata ?? null,
    };
    if (JSON.stringify(row).length > MAX_ITEM_JSON)
      throw badInput(`Item ${i} is larger than ${MAX_ITEM_JSON} bytes of JSON.`, [...path, i]);
    return row;
  });
}

type CheckedItem = ReturnType<typeof checkItems>[number];

/** A checked item as Prisma stores it (JSON columns take undefined for SQL NULL). */
const itemData = (r: CheckedItem) => ({
  input: r.input as object,
  expectedOutput: (r.expected_output ?? undefined) as object,
  output: (r.output ?? undefined) as object,
  contexts: r.contexts,
  metadata: (r.metadata ?? undefined) as object,
});

export function createDatasets(deps: Pick<Deps, 'db'>) {
  const { db } = deps;
  return {
    async createDataset(input: {
      projectId: string;
      name: string;
      description?: string | null;
      items: ItemInput[];
    }) {
      const rows = checkItems(input.items, ['input', 'items']);
      const exists = await db.prisma.dataset.findUnique({
        where: { projectId_name: { projectId: input.projectId, name: input.name } },
        select: { id: true },
      });
      if (exists)
        throw badInput(`A dataset named "${input.name}" exists in this project.`, [
          'input',
          'name',
        ]);
      return db.prisma.dataset.create({
        data: {
          projectId: input.projectId,
          name: input.name,
          description: input.description ?? null,
          items: { create: rows.map(itemData) },
        },
      });
    },

    async addDatasetItems(datasetId: string, items: ItemInput[]) {
      const rows = checkItems(items, ['input', 'items']);
      const count = await db.prisma.datasetItem.count({ where: { datasetId } });
      if (count + rows.length > MAX_ITEMS)
        throw badInput(`A dataset holds at most ${MAX_ITEMS} items (it has ${count}).`, [
          'input',
          'items',
        ]);
      await db.prisma.datasetItem.createMany({
        data: rows.map((r) => ({ datasetId, ...itemData(r) })),
      });
      return rows.length;
    },
  };
}
