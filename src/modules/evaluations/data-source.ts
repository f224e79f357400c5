// Where an evaluation's items come from: given inline, a dataset's items, or spans of the
// project's production traffic (traces matching a filter).
import type { Deps } from '../../deps';
import { badInput, notFound } from '../../errors';
import { traceFilterSql, type TraceListFilter } from '../traces/read-sql';
import { itemsAsOf, versionAt } from './dataset-sql';
import { checkItems, type ItemInput, MAX_ITEMS } from './datasets';

export interface DataSourceInput {
  datasetId?: string | null;
  /** With datasetId: the items as they were at this version (any time: the version then). */
  datasetVersion?: Date | null;
  /** With datasetId: only these of its items (not in the API: importOpenAIEval's run's items). */
  datasetItemIds?: string[] | null;
  items?: ItemInput[] | null;
  traces?: {
    filter?: TraceListFilter | null;
    spanKind?: string | null;
    spanName?: string | null;
    limit?: number | null;
  } | null;
}

export interface ItemRow {
  input: unknown;
  expected_output: unknown;
  output: unknown;
  contexts: string[];
  metadata: unknown;
  source_span_id?: string | null;
  dataset_item_id?: string | null;
}

/** The items an evaluation runs on, from its one data source, and what is stored of the source. */
export async function itemsOf(
  db: Deps['db'],
  projectId: string,
  source: DataSourceInput,
): Promise<{ rows: ItemRow[]; stored: object; dataset?: { id: string; version: Date } }> {
  const given = [source.datasetId, source.items, source.traces].filter((v) => v != null).length;
  if (given !== 1)
    throw badInput('Give exactly one data source: datasetId, items or traces.', [
      'input',
      'dataSource',
    ]);
  if (source.datasetVersion && !source.datasetId)
    throw badInput('datasetVersion names a version of the dataset given by datasetId.', [
      'input',
      'dataSource',
      'datasetVersion',
    ]);
  if (source.items)
    return {
      rows: checkItems(source.items, ['input', 'dataSource', 'items']),
      stored: { type: 'items', count: source.items.length },
    };
  if (source.datasetId)
    return datasetItems(
      db,
      projectId,
      source.datasetId,
      source.datasetVersion,
      source.datasetItemIds ?? null,
    );
  // Production traffic: spans of the traces matching the filter, their input and output.
  const t = source.traces!;
  const limit = Math.min(Math.max(t.limit ?? 1_000, 1), MAX_ITEMS);
  const params: unknown[] = [];
  const where = traceFilterSql(projectId, t.filter ?? {}, params);
  const spanWhere = [`s.output IS NOT NULL`];
  if (t.spanKind) spanWhere.push(`s.kind = $${params.push(t.spanKind)}::"SpanKind"`);
  if (t.spanName) spanWhere.push(`s.name = $${params.push(t.spanName)}`);
  const spans = await db.query<{
    id: string;
    input: string | null;
    output: string;
    metadata: unknown;
  }>(
    `SELECT s.id::text, s.input, s.output, s.metadata FROM traces t JOIN spans s ON s.trace_id = t.id
     WHERE ${where} AND ${spanWhere.join(' AND ')} ORDER BY t.start_time DESC, s.start_time, s.id LIMIT ${limit}`,
    params,
  );
  return {
    rows: spans.map((s) => ({
      input: s.input ?? '',
      expected_output: null,
      output: s.output,
      contexts: [],
      metadata: s.metadata,
      source_span_id: s.id,
    })),
    stored: {
      type: 'traces',
      filter: t.filter ?? {},
      spanKind: t.spanKind ?? null,
      spanName: t.spanName ?? null,
      limit,
    },
  };
}

/** A dataset's items as of a version (null: its latest), those of `only` if given, and that version. */
async function datasetItems(
  db: Deps['db'],
  projectId: string,
  datasetId: string,
  at: Date | null | undefined,
  only: string[] | null,
) {
  const dataset = await db.prisma.dataset.findUnique({
    where: { id: datasetId },
    select: { projectId: true, name: true, version: true },
  });
  if (!dataset || dataset.projectId !== projectId)
    throw notFound('Dataset', ['input', 'dataSource', 'datasetId']);
  // The version read: a named one is the dataset's version at that time, so the run records one
  // of Dataset.versions; read by its range, the items are the same whatever commits meanwhile.
  const version = at ? await versionAt(db.query, datasetId, at) : dataset.version;
  if (!version)
    throw badInput('The dataset has no version at or before that time.', [
      'input',
      'dataSource',
      'datasetVersion',
    ]);
  const items = await db.prisma.datasetItemVersion.findMany({
    where: { datasetId, ...itemsAsOf(version), ...(only ? { datasetItemId: { in: only } } : {}) },
    orderBy: { datasetItemId: 'asc' },
    take: MAX_ITEMS + 1,
  });
  if (items.length > MAX_ITEMS)
    throw badInput(`The dataset has more than ${MAX_ITEMS} items.`, [
      'input',
      'dataSource',
      'datasetId',
    ]);
  return {
    rows: items.map((i) => ({
      input: i.input,
      expected_output: i.expectedOutput,
      output: i.output,
      contexts: i.contexts,
      metadata: i.metadata,
      dataset_item_id: i.datasetItemId,
    })),
    stored: {
      type: 'dataset',
      datasetId,
      name: dataset.name,
      datasetVersion: version.toISOString(),
      ...(only ? { datasetItemIds: [...new Set(only)] } : {}),
    },
    dataset: { id: datasetId, version },
  };
}
