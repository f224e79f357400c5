// Trace and Span types. Both are in select mode: the SQL reads only the columns the operation
// selected. Cost fields need the `costs` action; the rest of a trace needs `read`.
import { createContextCache } from '@pothos/core';
import DataLoader from 'dataloader';
import { SpanKind, SpanStatus } from '../../generated/prisma/enums';
import type { Context } from '../../context';
import { builder } from '../../schema/builder';
import { buildSpanTree } from './span-tree';

export const SpanKindEnum = builder.enumType(SpanKind, { name: 'SpanKind', description: 'What a span did.' });
export const SpanStatusEnum = builder.enumType(SpanStatus, { name: 'SpanStatus', description: 'Outcome of a span (OpenTelemetry status).' });

/** Spans read into one trace tree; a larger trace is cut (its flat `spans` list is complete). */
export const MAX_TREE_SPANS = 5_000;

const readScope = (row: { projectId: string }) => ({ project: { id: row.projectId, action: 'read' as const } });
const costScope = (row: { projectId: string }) => ({ project: { id: row.projectId, action: 'costs' as const } });

// Children of spans that were read as part of a tree, so `children` needs no query of its own.
const treeChildren = createContextCache(() => new WeakMap<object, object[]>());

interface SpanKey {
  id: string;
  traceId: string;
  externalId: string;
}

// Children of spans reached some other way (span(id), spans lists): one query per level.
const childLoader = createContextCache(
  (ctx: Context) =>
    new DataLoader<SpanKey, SpanKey[], string>(
      async (keys) => {
        const rows = await ctx.deps.db.prisma.span.findMany({
          where: { traceId: { in: [...new Set(keys.map((k) => k.traceId))] }, parentExternalId: { in: [...new Set(keys.map((k) => k.externalId))] } },
          select: { id: true, projectId: true, traceId: true, externalId: true, parentExternalId: true },
          orderBy: [{ startTime: 'asc' }, { id: 'asc' }],
        });
        return keys.map((k) => rows.filter((r) => r.traceId === k.traceId && r.parentExternalId === k.externalId));
      },
      { cacheKeyFn: (k) => k.id },
    ),
);

export const SpanRef = builder.prismaNode('Span', {
  id: { field: 'id' },
  description: 'One step of a trace: an LLM call, a retrieval, a tool call… Its cost fields need the BILLING or ADMIN role.',
  select: { id: true, projectId: true, traceId: true, externalId: true, parentExternalId: true },
  authScopes: readScope,
  fields: (t) => ({
    externalId: t.string({ description: "The client's span id.", resolve: (span) => span.externalId }),
    parentExternalId: t.string({ nullable: true, description: "The client's id of the parent span.", resolve: (span) => span.parentExternalId }),
    kind: t.expose('kind', { type: SpanKindEnum }),
    name: t.exposeString('name'),
    model: t.exposeString('model', { nullable: true }),
    provider: t.exposeString('provider', { nullable: true }),
    startTime: t.expose('startTime', { type: 'DateTime' }),
    endTime: t.expose('endTime', { type: 'DateTime', nullable: true }),
    latencyMs: t.exposeInt('latencyMs', { nullable: true }),
    status: t.expose('status', { type: SpanStatusEnum }),
    error: t.exposeString('error', { nullable: true }),
    userId: t.exposeString('userId', { nullable: true, description: 'The end user of the traced application.' }),
    sessionId: t.exposeString('sessionId', { nullable: true }),
    tags: t.exposeStringList('tags'),
    metadata: t.expose('metadata', { type: 'JSON', nullable: true }),
    input: t.exposeString('input', { nullable: true }),
    output: t.exposeString('output', { nullable: true }),
    textTruncated: t.exposeBoolean('textTruncated', { description: 'Input or output was cut to the configured size.' }),
    inputTokens: t.exposeInt('inputTokens'),
    outputTokens: t.exposeInt('outputTokens'),
    cachedInputTokens: t.exposeInt('cachedInputTokens', { description: 'Part of inputTokens read from the prompt cache.' }),
    totalTokens: t.exposeInt('totalTokens'),
    usageEstimated: t.exposeBoolean('usageEstimated', { description: 'The client sent no usage; tokens were counted from the text.' }),
    inputCost: t.expose('inputCost', { type: 'Decimal', nullable: true, authScopes: costScope, description: 'USD, cached input included.' }),
    outputCost: t.expose('outputCost', { type: 'Decimal', nullable: true, authScopes: costScope }),
    cachedInputCost: t.expose('cachedInputCost', { type: 'Decimal', nullable: true, authScopes: costScope }),
    totalCost: t.expose('totalCost', { type: 'Decimal', nullable: true, authScopes: costScope, description: 'USD; null when the model has no known price.' }),
    costProvided: t.exposeBoolean('costProvided', { authScopes: costScope, nullable: true, description: 'The client sent the cost (otherwise it was priced here).' }),
    trace: t.relation('trace'),
    parent: t.prismaField({
      type: 'Span',
      nullable: true,
      resolve: (query, span, _args, ctx) =>
        span.parentExternalId === null
          ? null
          : ctx.deps.db.prisma.span.findUnique({ ...query, where: { traceId_externalId: { traceId: span.traceId, externalId: span.parentExternalId } } }),
    }),
  }),
});

builder.prismaObjectFields(SpanRef, (t) => ({
  children: t.field({
    type: [SpanRef],
    description: 'Child spans, oldest first.',
    resolve: (span, _args, ctx) => (treeChildren(ctx).get(span) as never) ?? childLoader(ctx).load(span),
  }),
}));

export const TraceRef = builder.prismaNode('Trace', {
  id: { field: 'id' },
  description: 'One request through an LLM application: its spans, time range, tokens and cost.',
  select: { id: true, projectId: true },
  authScopes: readScope,
  fields: (t) => ({
    externalId: t.exposeString('externalId', { description: "The client's trace id." }),
    name: t.exposeString('name', { nullable: true }),
    userId: t.exposeString('userId', { nullable: true, description: 'The end user of the traced application.' }),
    sessionId: t.exposeString('sessionId', { nullable: true }),
    tags: t.exposeStringList('tags'),
    metadata: t.expose('metadata', { type: 'JSON', nullable: true }),
    startTime: t.expose('startTime', { type: 'DateTime' }),
    endTime: t.expose('endTime', { type: 'DateTime', nullable: true }),
    latencyMs: t.exposeInt('latencyMs', { nullable: true }),
    status: t.expose('status', { type: SpanStatusEnum }),
    spanCount: t.exposeInt('spanCount'),
    errorCount: t.exposeInt('errorCount'),
    inputTokens: t.field({ type: 'SafeInt', select: { inputTokens: true }, resolve: (r) => Number(r.inputTokens) }),
    outputTokens: t.field({ type: 'SafeInt', select: { outputTokens: true }, resolve: (r) => Number(r.outputTokens) }),
    cachedInputTokens: t.field({ type: 'SafeInt', select: { cachedInputTokens: true }, resolve: (r) => Number(r.cachedInputTokens) }),
    totalTokens: t.field({ type: 'SafeInt', select: { totalTokens: true }, resolve: (r) => Number(r.totalTokens) }),
    inputCost: t.expose('inputCost', { type: 'Decimal', nullable: true, authScopes: costScope }),
    outputCost: t.expose('outputCost', { type: 'Decimal', nullable: true, authScopes: costScope }),
    totalCost: t.expose('totalCost', { type: 'Decimal', nullable: true, authScopes: costScope, description: 'USD, the sum of its spans.' }),
    project: t.relation('project'),
    spans: t.relatedConnection('spans', {
      cursor: 'id',
      totalCount: true,
      description: 'All spans, oldest first.',
      query: { orderBy: [{ startTime: 'asc' }, { id: 'asc' }] },
    }),
    rootSpans: t.field({
      type: [SpanRef],
      description: `The spans without a parent (or whose parent never arrived), oldest first; follow \`children\` for the tree. Up to ${MAX_TREE_SPANS} spans are read.`,
      select: (_args, _ctx, nestedSelection) => ({
        spans: nestedSelection({ orderBy: [{ startTime: 'asc' }, { id: 'asc' }], take: MAX_TREE_SPANS }),
      }),
      resolve: (trace, _args, ctx) => {
        const { roots, children } = buildSpanTree(trace.spans);
        const cache = treeChildren(ctx);
        for (const [span, kids] of children) cache.set(span, kids);
        return roots;
      },
    }),
  }),
});
