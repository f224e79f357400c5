// Trace and Span types. They are plain rows read by read-sql.ts with only the columns the
// operation selected; lists of spans load for all traces of a page in one statement (loaders.ts).
// Cost fields need the `costs` action; the rest of a trace needs `read`.
import { createContextCache } from '@pothos/core';
import type { Context } from '../../context';
import { badInput, forbidden } from '../../errors';
import { allows, authorizeRow } from '../auth/access';
import { decodeCursor, encodeCursor, keysetPage } from '../../lib/cursors';
import { pageSize } from '../../lib/pages';
import { PriceSource, SpanKind, SpanStatus } from '../../generated/prisma/enums';
import { builder } from '../../schema/builder';
import { ProjectRef } from '../projects/schema';
import { loadersOf } from './loaders';
import type { SpanRow, TraceRow } from './read-sql';
import { buildSpanTree } from './span-tree';

export const SpanKindEnum = builder.enumType(SpanKind, {
  name: 'SpanKind',
  description: 'What a span did.',
});
export const SpanStatusEnum = builder.enumType(SpanStatus, {
  name: 'SpanStatus',
  description: 'Outcome of a span (OpenTelemetry status).',
});
export const PriceSourceEnum = builder.enumType(PriceSource, {
  name: 'PriceSource',
  description: 'Where a cost came from.',
});

/** Spans read into one trace tree; a larger trace is cut (its `spans` connection is complete). */
export const MAX_TREE_SPANS = 5_000;

// Cost rights are asked once per request and project, not once per field.
const costRights = createContextCache(() => new Map<string, boolean>());
/** A cost field's value, or FORBIDDEN on that field alone without the costs right (metrics' too). */
export function costOf(row: { projectId: string }, value: unknown, ctx: Context): string | null {
  const rights = costRights(ctx);
  let allowed = rights.get(row.projectId);
  if (allowed === undefined)
    rights.set(row.projectId, (allowed = allows(ctx, row.projectId, 'costs')));
  if (!allowed) throw forbidden('Cost fields need the BILLING or ADMIN role.');
  return (value as string | null) ?? null;
}

/**
 * A row the principal may read, else a NOT_FOUND error in its place (as for a missing one).
 * Checked where a trace or span enters the graph by id (trace, span, node, nodes); everything
 * reached from it (its spans, their parents and children) belongs to the same project. A
 * per-object type scope did the same at about a fifth of the cost of a whole traces page.
 */
export async function readable<R extends { projectId: string }>(
  ctx: Context,
  row: R | null,
  what: string,
): Promise<R | Error> {
  try {
    return await authorizeRow(ctx, row, 'read', what);
  } catch (error) {
    return error as Error;
  }
}
export const SpanRef = builder.objectRef<SpanRow>('Span');
export const TraceRef = builder.objectRef<TraceRow>('Trace');

builder.node(SpanRef, {
  // Spans arrive at any time (ingest also drops its project's cached responses): kept 10 s at most.
  extensions: { cacheTtlMs: 10_000 },
  id: { resolve: (span) => span.id },
  description:
    'One step of a trace: an LLM call, a retrieval, a tool call… Its cost fields need the BILLING or ADMIN role.',
  loadMany: (ids, ctx) =>
    Promise.all(
      ids.map(
        async (id) =>
          (await readable(ctx, await loadersOf(ctx).span.load(id), 'Span')) as SpanRow | null,
      ),
    ),
  fields: (t) => ({
    externalId: t.string({ description: "The client's span id.", resolve: (s) => s.externalId }),
    parentExternalId: t.string({
      nullable: true,
      description: "The client's id of the parent span.",
      resolve: (s) => s.parentExternalId,
    }),
    kind: t.field({ type: SpanKindEnum, resolve: (s) => s.kind as SpanKind }),
    name: t.string({ resolve: (s) => s.name as string }),
    model: t.string({
      nullable: true,
      description: 'The model name as sent.',
      resolve: (s) => s.model as string | null,
    }),
    normalizedModel: t.string({
      nullable: true,
      description:
        'The model name that grouping and filtering use: lower case, without provider prefix or date/version suffix (azure/gpt-4o-2024-08-06 → gpt-4o).',
      resolve: (s) => s.normalizedModel as string | null,
    }),
    provider: t.string({ nullable: true, resolve: (s) => s.provider as string | null }),
    startTime: t.field({ type: 'DateTime', resolve: (s) => s.startTime }),
    endTime: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (s) => s.endTime as Date | null,
    }),
    latencyMs: t.int({ nullable: true, resolve: (s) => s.latencyMs as number | null }),
    status: t.field({ type: SpanStatusEnum, resolve: (s) => s.status as SpanStatus }),
    error: t.string({ nullable: true, resolve: (s) => s.error as string | null }),
    userId: t.string({
      nullable: true,
      description: 'The end user of the traced application.',
      resolve: (s) => s.userId as string | null,
    }),
    sessionId: t.string({ nullable: true, resolve: (s) => s.sessionId as string | null }),
    tags: t.stringList({ resolve: (s) => s.tags as string[] }),
    metadata: t.field({ type: 'JSON', nullable: true, resolve: (s) => s.metadata }),
    input: t.string({ nullable: true, resolve: (s) => s.input as string | null }),
    output: t.string({ nullable: true, resolve: (s) => s.output as string | null }),
    textTruncated: t.boolean({
      description: 'Input or output was cut to the configured size.',
      resolve: (s) => s.textTruncated as boolean,
    }),
    inputTokens: t.int({ resolve: (s) => s.inputTokens as number }),
    outputTokens: t.int({ resolve: (s) => s.outputTokens as number }),
    cachedInputTokens: t.int({
      description: 'Part of inputTokens read from the prompt cache.',
      resolve: (s) => s.cachedInputTokens as number,
    }),
    totalTokens: t.int({ resolve: (s) => s.totalTokens as number }),
    usageEstimated: t.boolean({
      description: 'The client sent no usage; tokens were counted from the text.',
      resolve: (s) => s.usageEstimated as boolean,
    }),
    inputCost: t.field({
      type: 'Decimal',
      nullable: true,
      description: 'USD, cached input included.',
      resolve: (s, _a, ctx) => costOf(s, s.inputCost, ctx),
    }),
    outputCost: t.field({
      type: 'Decimal',
      nullable: true,
      resolve: (s, _a, ctx) => costOf(s, s.outputCost, ctx),
    }),
    cachedInputCost: t.field({
      type: 'Decimal',
      nullable: true,
      resolve: (s, _a, ctx) => costOf(s, s.cachedInputCost, ctx),
    }),
    totalCost: t.field({
      type: 'Decimal',
      nullable: true,
      description:
        'USD; null when it could not be priced (no known price for the model, or usage without the input/output split) or there was nothing to price.',
      resolve: (s, _a, ctx) => costOf(s, s.totalCost, ctx),
    }),
    costProvided: t.boolean({
      nullable: true,
      description: 'The client sent the cost (otherwise it was priced here).',
      resolve: (s, _a, ctx) => costOf(s, s.costProvided, ctx) as unknown as boolean,
    }),
    priceSource: t.field({
      type: PriceSourceEnum,
      nullable: true,
      description:
        "PROVIDED (sent by the client), TABLE (the model price table: the project's prices, then the built-in ones) or DEFAULT (EVALGRAPH_DEFAULT_MODEL_PRICE, for a model the table does not know); null when the span has no cost. Set when the span is priced, at ingest.",
      resolve: (s, _a, ctx) => costOf(s, s.priceSource, ctx) as PriceSource | null,
    }),
    trace: t.field({
      type: TraceRef,
      resolve: async (s, _a, ctx, info) => (await loadersOf(ctx).use(info).trace.load(s.traceId))!,
    }),
    parent: t.field({
      type: SpanRef,
      nullable: true,
      resolve: (s, _a, ctx, info) =>
        s.parentExternalId === null
          ? null
          : loadersOf(ctx)
              .use(info)
              .spanByExternalId.load({ traceId: s.traceId, externalId: s.parentExternalId }),
    }),
    children: t.field({
      type: [SpanRef],
      description: 'Child spans, oldest first.',
      resolve: (s, _a, ctx, info) => {
        const loaders = loadersOf(ctx).use(info);
        return (
          loaders.treeChildren.get(s) ??
          loaders.children.load({ traceId: s.traceId, externalId: s.externalId })
        );
      },
    }),
  }),
});

builder.node(TraceRef, {
  // A trace grows as its spans arrive: kept 10 s at most, like its spans.
  extensions: { cacheTtlMs: 10_000 },
  id: { resolve: (trace) => trace.id },
  description: 'One request through an LLM application: its spans, time range, tokens and cost.',
  loadMany: (ids, ctx) =>
    Promise.all(
      ids.map(
        async (id) =>
          (await readable(ctx, await loadersOf(ctx).trace.load(id), 'Trace')) as TraceRow | null,
      ),
    ),
  fields: (t) => ({
    externalId: t.string({
      description: "The client's trace id.",
      resolve: (r) => r.externalId as string,
    }),
    name: t.string({ nullable: true, resolve: (r) => r.name as string | null }),
    userId: t.string({
      nullable: true,
      description: 'The end user of the traced application.',
      resolve: (r) => r.userId as string | null,
    }),
    sessionId: t.string({ nullable: true, resolve: (r) => r.sessionId as string | null }),
    tags: t.stringList({ resolve: (r) => r.tags as string[] }),
    metadata: t.field({ type: 'JSON', nullable: true, resolve: (r) => r.metadata }),
    startTime: t.field({ type: 'DateTime', resolve: (r) => r.startTime as Date }),
    endTime: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (r) => r.endTime as Date | null,
    }),
    latencyMs: t.int({ nullable: true, resolve: (r) => r.latencyMs as number | null }),
    status: t.field({ type: SpanStatusEnum, resolve: (r) => r.status as SpanStatus }),
    spanCount: t.int({ resolve: (r) => r.spanCount as number }),
    errorCount: t.int({ resolve: (r) => r.errorCount as number }),
    inputTokens: t.field({ type: 'SafeInt', resolve: (r) => r.inputTokens as number }),
    outputTokens: t.field({ type: 'SafeInt', resolve: (r) => r.outputTokens as number }),
    cachedInputTokens: t.field({ type: 'SafeInt', resolve: (r) => r.cachedInputTokens as number }),
    totalTokens: t.field({ type: 'SafeInt', resolve: (r) => r.totalTokens as number }),
    inputCost: t.field({
      type: 'Decimal',
      nullable: true,
      resolve: (r, _a, ctx) => costOf(r, r.inputCost, ctx),
    }),
    outputCost: t.field({
      type: 'Decimal',
      nullable: true,
      resolve: (r, _a, ctx) => costOf(r, r.outputCost, ctx),
    }),
    totalCost: t.field({
      type: 'Decimal',
      nullable: true,
      description:
        'USD, the sum of its priced spans (see unpricedSpanCount); null when none could be priced and some needed a price.',
      resolve: (r, _a, ctx) => costOf(r, r.totalCost, ctx),
    }),
    unpricedSpanCount: t.int({
      description:
        'Spans that needed a price but could not be priced, left out of the cost totals: spans with a model, or LLM/EMBEDDING spans with tokens, whose model has no known price or whose usage has no input/output split. TOOL, CHAIN, AGENT… spans without a model have nothing to price and are not counted.',
      resolve: (r) => r.unpricedSpanCount as number,
    }),
    project: t.field({
      type: ProjectRef,
      resolve: async (r, _a, ctx) =>
        (await ctx.deps.db.prisma.project.findUnique({ where: { id: r.projectId } }))!,
    }),
    spans: t.connection(
      {
        type: SpanRef,
        description: 'All spans, oldest first (forward pagination: first/after).',
        resolve: async (trace, args, ctx, info) => {
          const limit = pageSize(args);
          const loaders = loadersOf(ctx).use(info);
          const after = args.after ? decodeCursor(args.after, 'time') : null;
          if (args.after && !after)
            throw badInput('`after` is not a cursor of this list.', ['after']);
          const rows = after
            ? await loaders.spansAfter(trace.id, limit + 1, after as [string, string])
            : await loaders.spansOf(limit + 1).load(trace.id);
          return {
            ...keysetPage(rows, limit, after !== null, (span) =>
              encodeCursor(span.startTime.toISOString(), span.id),
            ),
            totalCount: trace.spans as number,
          };
        },
      },
      {
        name: 'TraceSpansConnection',
        fields: (c) => ({
          totalCount: c.int({
            resolve: (conn) => (conn as unknown as { totalCount: number }).totalCount,
          }),
        }),
      },
      { name: 'TraceSpansConnectionEdge' },
    ),
    rootSpans: t.field({
      type: [SpanRef],
      description: `The spans without a parent (or whose parent never arrived), oldest first; follow \`children\` for the tree. Up to ${MAX_TREE_SPANS} spans are read.`,
      resolve: async (trace, _a, ctx, info) => {
        const loaders = loadersOf(ctx).use(info);
        const spans = await loaders.spansOf(MAX_TREE_SPANS).load(trace.id);
        const { roots, children } = buildSpanTree(spans);
        for (const [span, kids] of children) loaders.treeChildren.set(span, kids);
        return roots;
      },
    }),
  }),
});
