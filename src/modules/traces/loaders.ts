// The DataLoaders of one request for traces and spans: each batches the reads of a page (a
// trace's spans, a span's parent or children) into one statement of read-sql.ts, reading only the
// columns the operation selects. Apart from schema.ts, whose types and node loads go through them.
import { createContextCache } from '@pothos/core';
import DataLoader from 'dataloader';
import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from '../../context';
import * as read from './read-sql';
import { selectedFields } from './selection';

type TraceRow = read.TraceRow;
type SpanRow = read.SpanRow;

/**
 * Loaders of one request, reading the columns its operation selects (every column when they are
 * used before `use(info)`, as node(id) does, which has no resolve info to give).
 */
export const loadersOf = createContextCache((ctx: Context) => {
  let fields: { trace?: Set<string>; span?: Set<string> } | null = null;
  const sql = ctx.deps.db.query;
  const key = (k: { traceId: string; externalId: string }) => `${k.traceId}\u0000${k.externalId}`;
  const byKey = <R, K>(
    rows: R[],
    keys: readonly K[],
    keyOfRow: (r: R) => string,
    keyOf: (k: K) => string,
  ) => {
    const map = new Map(rows.map((r) => [keyOfRow(r), r]));
    return keys.map((k) => map.get(keyOf(k)) ?? null);
  };
  const loaders = {
    /** Call before using the loaders, so they read what the operation selects. */
    use(info: GraphQLResolveInfo) {
      if (!fields) {
        const all = selectedFields(info);
        const span = new Set(all.get('Span'));
        // Tree fields link spans by their parent id; span cursors hold the start time.
        if (all.get('Trace')?.has('rootSpans') || span.has('children') || span.has('parent'))
          span.add('parentExternalId');
        if (
          all.get('TraceSpansConnectionEdge')?.has('cursor') ||
          all.get('PageInfo')?.has('startCursor') ||
          all.get('PageInfo')?.has('endCursor')
        ) {
          span.add('startTime');
        }
        fields = { trace: all.get('Trace') ?? new Set(), span };
      }
      return loaders;
    },
    trace: new DataLoader<string, TraceRow | null>(async (ids) =>
      byKey(
        await read.tracesById(sql, ids, fields?.trace),
        ids,
        (r) => r.id,
        (id) => id,
      ),
    ),
    span: new DataLoader<string, SpanRow | null>(async (ids) =>
      byKey(
        await read.spansById(sql, ids, fields?.span),
        ids,
        (r) => r.id,
        (id) => id,
      ),
    ),
    spanByExternalId: new DataLoader<
      { traceId: string; externalId: string },
      SpanRow | null,
      string
    >(
      async (keys) => byKey(await read.spansByExternalId(sql, keys, fields?.span), keys, key, key),
      { cacheKeyFn: key },
    ),
    children: new DataLoader<{ traceId: string; externalId: string }, SpanRow[], string>(
      async (parents) => {
        const byParent = groupBy(await read.childrenOf(sql, parents, fields?.span), (r) =>
          key({ traceId: r.traceId, externalId: r.parentExternalId! }),
        );
        return parents.map((p) => byParent.get(key(p)) ?? []);
      },
      { cacheKeyFn: key },
    ),
    /** The first n spans of traces; one loader per n. */
    firstSpans: new Map<number, DataLoader<string, SpanRow[]>>(),
    spansOf(limit: number) {
      let loader = loaders.firstSpans.get(limit);
      if (!loader) {
        loader = new DataLoader<string, SpanRow[]>(async (traceIds) => {
          const byTrace = groupBy(
            await read.spansOfTraces(sql, traceIds, limit, fields?.span),
            (r) => r.traceId,
          );
          return traceIds.map((id) => byTrace.get(id) ?? []);
        });
        loaders.firstSpans.set(limit, loader);
      }
      return loader;
    },
    /** One trace's spans after a cursor (a later page: not batched). */
    spansAfter: (traceId: string, limit: number, after: [string, string]) =>
      read.spansOfTraces(sql, [traceId], limit, fields?.span, after),
    treeChildren: new WeakMap<SpanRow, SpanRow[]>(),
  };
  return loaders;
});

function groupBy<R>(rows: R[], keyOf: (row: R) => string): Map<string, R[]> {
  const groups = new Map<string, R[]>();
  for (const row of rows) {
    const k = keyOf(row);
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}
