// Dataset items copied from spans (addDatasetItemsFromSpans): a span's input, its output (as the
// expected output, or kept in the metadata), the contexts its trace's RETRIEVER spans returned (as
// online evaluation rules read them), and the span's id. Spans are named by id or chosen as the
// traces data source chooses them.
import type { Deps } from '../../deps';
import { badInput, notFound } from '../../errors';
import { MAX_RETRIEVERS } from '../online-evaluations/target-sql';
import { contextsOf } from '../online-evaluations/variables';
import { itemsOf, type DataSourceInput } from './data-source';
import { MAX_CONTEXTS, MAX_ITEMS, type ItemInput } from './datasets';

export type OutputAs = 'EXPECTED_OUTPUT' | 'METADATA';

export interface SpanSelection {
  /** Spans by id, in this order. */
  spanIds?: string[] | null;
  /** Spans as the traces data source selects them. */
  filter?: DataSourceInput['traces'];
  outputAs: OutputAs;
  /** With METADATA: the key the output is kept under. */
  metadataKey: string;
}

interface SpanRow {
  id: string;
  input: string | null;
  output: string | null;
  metadata: unknown;
  retrieved: (string | null)[];
}

/** The spans (of the project) with the outputs of their trace's retrievers, in start order. */
async function loadSpans(db: Deps['db'], projectId: string, ids: string[]) {
  const rows = await db.query<SpanRow>(
    `SELECT s.id::text, s.input, s.output, s.metadata,
       ARRAY(SELECT r.output FROM spans r WHERE r.trace_id = s.trace_id AND r.kind = 'RETRIEVER' AND r.id <> s.id
             ORDER BY r.start_time, r.id LIMIT ${MAX_RETRIEVERS}) AS retrieved
     FROM spans s WHERE s.id = ANY($1::uuid[]) AND s.project_id = $2::uuid`,
    [ids, projectId],
  );
  return new Map(rows.map((r) => [r.id, r]));
}

/** The span's metadata with its output added under `key` (metadata that is not an object kept beside it). */
function withOutput(metadata: unknown, key: string, output: string | null) {
  const base =
    metadata === null || metadata === undefined
      ? {}
      : typeof metadata === 'object' && !Array.isArray(metadata)
        ? metadata
        : { metadata };
  return { ...base, [key]: output };
}

/** The items the selected spans make; NOT_FOUND (at its index) for a span id not in the project. */
export async function spansAsItems(
  db: Deps['db'],
  projectId: string,
  selection: SpanSelection,
): Promise<(ItemInput & { sourceSpanId: string })[]> {
  if ((selection.spanIds == null) === (selection.filter == null))
    throw badInput('Give exactly one of spanIds and filter.', ['input']);
  if (selection.spanIds && selection.spanIds.length > MAX_ITEMS)
    throw badInput(`At most ${MAX_ITEMS} spans.`, ['input', 'spanIds']);
  const ids =
    selection.spanIds ??
    (await itemsOf(db, projectId, { traces: selection.filter })).rows.map(
      (r) => r.source_span_id as string,
    );
  const spans = await loadSpans(db, projectId, ids);
  return ids.flatMap((id, i) => {
    const span = spans.get(id);
    if (!span) {
      if (selection.spanIds) throw notFound('Span', ['input', 'spanIds', i]);
      return []; // chosen by the filter, gone since (retention)
    }
    const asMetadata = selection.outputAs === 'METADATA';
    return [
      {
        input: span.input ?? '',
        expectedOutput: asMetadata ? null : span.output,
        contexts: span.retrieved.flatMap(contextsOf).slice(0, MAX_CONTEXTS),
        metadata: asMetadata
          ? withOutput(span.metadata, selection.metadataKey, span.output)
          : span.metadata,
        sourceSpanId: span.id,
      },
    ];
  });
}
