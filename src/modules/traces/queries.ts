// traces, trace and span queries, and the ingestSpans mutation.
import { z } from 'zod';
import type { Context } from '../../context';
import { badInput } from '../../errors';
import { authorize } from '../auth/access';
import { builder } from '../../schema/builder';
import { ProjectRef } from '../projects/schema';
import { countTraces, listTraces } from './read-sql';
import { decodeCursor, encodeCursor, keysetPage } from '../../lib/cursors';
import { pageSize } from '../../lib/pages';
import { loadersOf } from './loaders';
import { readable, SpanKindEnum, SpanRef, SpanStatusEnum, TraceRef } from './schema';
import { PHRASE_SEARCH_COST } from './phrase-sql';
import { phraseSchema } from './search';
import { selectedFields } from './selection';
import { ingestCost } from './span-input';

/**
 * Filtering or ordering traces by cost reveals costs (a yes/no question per threshold): it needs
 * the same right as reading them, wherever traces are selected (lists, evaluation data sources).
 */
export async function authorizeCostFilter(
  ctx: Context,
  projectId: string,
  filter: { minCost?: unknown } | null | undefined,
  orderedByCost = false,
) {
  if (filter?.minCost != null || orderedByCost) await authorize(ctx, projectId, 'costs');
}

export const TraceFilter = builder.inputType('TraceFilter', {
  description: 'All given conditions must hold.',
  fields: (t) => ({
    from: t.field({ type: 'DateTime', description: 'Traces that started at or after this time.' }),
    to: t.field({ type: 'DateTime', description: 'Traces that started before this time.' }),
    userId: t.string({ description: 'End user id.' }),
    sessionId: t.string(),
    tags: t.stringList({
      description: 'Traces carrying every one of these tags.',
      validate: z.array(z.string().max(200)).max(50),
    }),
    status: t.field({ type: SpanStatusEnum }),
    model: t.string({
      description:
        'Traces with at least one span of this model, compared normalised (Span.normalizedModel): gpt-4o finds gpt-4o-2024-08-06 and azure/gpt-4o, not gpt-4o-mini.',
      validate: z.string().max(256),
    }),
    modelExact: t.string({
      description:
        'Traces with at least one span whose model is exactly this name, as sent (Span.model).',
      validate: z.string().max(256),
    }),
    name: t.string({
      description: 'Traces whose name contains this text (case-insensitive).',
      validate: z.string().max(1000),
    }),
    text: t.string({
      description:
        'Traces with at least one span whose input or output contains this phrase, as SpanFilter.text takes it.',
      validate: phraseSchema,
    }),
    minCost: t.field({
      type: 'Decimal',
      description: 'Traces that cost at least this much (USD). Needs the costs right.',
    }),
    minLatencyMs: t.int(),
  }),
});

const TraceOrderField = builder.enumType('TraceOrderField', {
  values: {
    START_TIME: { value: 'startTime' },
    LATENCY: { value: 'latencyMs' },
    TOTAL_COST: { value: 'totalCost' },
  } as const,
});
export const OrderDirection = builder.enumType('OrderDirection', {
  values: { ASC: { value: 'asc' }, DESC: { value: 'desc' } } as const,
});
const TraceOrder = builder.inputType('TraceOrder', {
  fields: (t) => ({
    field: t.field({ type: TraceOrderField, required: true }),
    direction: t.field({ type: OrderDirection, defaultValue: 'desc' }),
  }),
});

builder.queryFields((t) => ({
  traces: t.connection(
    {
      type: TraceRef,
      description:
        'Traces of a project, newest first unless ordered otherwise (forward pagination: first/after).',
      // A phrase (filter.text) reads the spans of the range, as the spans root does.
      extensions: {
        cost: (args: { filter?: { text?: string | null } | null }) =>
          args.filter?.text != null ? PHRASE_SEARCH_COST : 0,
      },
      args: {
        projectId: t.arg.globalID({ required: true, for: ProjectRef }),
        filter: t.arg({ type: TraceFilter }),
        orderBy: t.arg({ type: TraceOrder }),
      },
      authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
      resolve: async (_root, args, ctx, info) => {
        const projectId = args.projectId.id;
        await authorizeCostFilter(ctx, projectId, args.filter, args.orderBy?.field === 'totalCost');
        if (args.last != null || args.before != null)
          throw badInput('traces pages forward only: use first and after.', ['last']);
        const order = args.orderBy?.field ?? 'startTime';
        const after = args.after
          ? decodeCursor(
              args.after,
              order === 'startTime' ? 'time' : order === 'latencyMs' ? 'int' : 'decimal',
            )
          : null;
        if (args.after && !after)
          throw badInput('`after` is not a cursor of this list.', ['after']);
        const limit = pageSize(args);
        const filter = args.filter ?? {};
        const fields = selectedFields(info);
        const rows = await listTraces(ctx.deps.db.query, {
          projectId,
          filter,
          order,
          direction: args.orderBy?.direction ?? 'desc',
          after,
          limit,
          fields: fields.get('Trace'),
        });
        const wantsCount = fields.get('TraceConnection')?.has('totalCount');
        return {
          ...keysetPage(rows, limit, after !== null, (row) => encodeCursor(row.sortKey, row.id)),
          totalCount: wantsCount ? await countTraces(ctx.deps.db.query, projectId, filter) : 0,
        };
      },
    },
    {
      name: 'TraceConnection',
      fields: (c) => ({
        totalCount: c.int({
          description: 'Traces matching the filter.',
          resolve: (conn) => (conn as unknown as { totalCount: number }).totalCount,
        }),
      }),
    },
    { name: 'TraceEdge' },
  ),
  trace: t.field({
    type: TraceRef,
    nullable: true,
    description: 'A trace by id, with its spans as a tree (rootSpans) and as a list (spans).',
    args: { id: t.arg.globalID({ required: true, for: TraceRef }) },
    authScopes: { authenticated: true },
    resolve: async (_root, args, ctx, info) =>
      (await readable(
        ctx,
        await loadersOf(ctx).use(info).trace.load(args.id.id),
        'Trace',
      )) as never,
  }),
  span: t.field({
    type: SpanRef,
    nullable: true,
    args: { id: t.arg.globalID({ required: true, for: SpanRef }) },
    authScopes: { authenticated: true },
    resolve: async (_root, args, ctx, info) =>
      (await readable(ctx, await loadersOf(ctx).use(info).span.load(args.id.id), 'Span')) as never,
  }),
}));

const SpanInputRef = builder.inputType('SpanInput', {
  description:
    'One span. Ids are yours: sending a span again updates it (fields you leave out keep their value).',
  fields: (t) => ({
    traceId: t.string({
      required: true,
      description: 'Your trace id; the trace is created with its first span.',
    }),
    spanId: t.string({ required: true, description: 'Your span id, unique within the trace.' }),
    parentSpanId: t.string(),
    kind: t.field({
      type: SpanKindEnum,
      description: 'Defaults to LLM when a model is given, else GENERIC.',
    }),
    name: t.string({ required: true }),
    startTime: t.field({ type: 'DateTime', required: true }),
    endTime: t.field({ type: 'DateTime' }),
    status: t.field({
      type: SpanStatusEnum,
      description: 'Defaults to ERROR when error is given, else UNSET.',
    }),
    error: t.string(),
    model: t.string({
      description: 'Model name as the provider reports it, e.g. gpt-4o-2024-08-06.',
    }),
    provider: t.string(),
    inputTokens: t.int({ description: 'Prompt tokens, cached ones included.' }),
    outputTokens: t.int(),
    cachedInputTokens: t.int(),
    totalTokens: t.int({ description: 'Defaults to input + output.' }),
    inputCost: t.field({
      type: 'Decimal',
      description: 'USD. Send a cost to override pricing from the price table.',
    }),
    outputCost: t.field({ type: 'Decimal' }),
    cachedInputCost: t.field({ type: 'Decimal' }),
    totalCost: t.field({
      type: 'Decimal',
      description: 'Defaults to input + output cost when those are sent.',
    }),
    userId: t.string({ description: 'The end user of your application.' }),
    sessionId: t.string(),
    tags: t.stringList(),
    metadata: t.field({ type: 'JSON' }),
    input: t.string({ description: 'Prompt or input text; cut to the configured size.' }),
    output: t.string(),
  }),
});

const SpanErrorRef = builder
  .objectRef<{ index: number; field: string; message: string }>('SpanError')
  .implement({
    description: 'Why one span of a batch was refused.',
    fields: (t) => ({
      index: t.exposeInt('index', { description: 'Position of the span in input.spans.' }),
      field: t.exposeString('field'),
      message: t.exposeString('message'),
    }),
  });

builder.relayMutationField(
  'ingestSpans',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      spans: t.field({ type: [SpanInputRef], required: true, description: 'Up to 1,000 spans.' }),
      partial: t.boolean({
        defaultValue: false,
        description:
          'Store the valid spans and report the invalid ones, instead of refusing the whole batch.',
      }),
    }),
  },
  {
    // Cost: a point per 10 spans (and at least 10, as every mutation).
    extensions: {
      cost: (args: { input?: { spans?: unknown[] } }) => ingestCost(args.input?.spans?.length ?? 0),
    },
    description:
      'Stores spans (and creates or updates their traces). Idempotent: the same batch sent twice is stored once.',
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'write' } }),
    resolve: (_root, { input }, ctx) =>
      ctx.services.traces.ingest(input.projectId.id, input.spans, {
        partial: input.partial ?? false,
      }),
  },
  {
    outputFields: (t) => ({
      acceptedCount: t.exposeInt('acceptedCount', {
        description: 'Spans stored (repeats within the batch count once each).',
      }),
      rejectedCount: t.exposeInt('rejectedCount'),
      traceCount: t.exposeInt('traceCount', { description: 'Traces created or updated.' }),
      errors: t.field({
        type: [SpanErrorRef],
        description: 'Problems of the rejected spans (partial mode).',
        resolve: (r) => r.problems,
      }),
    }),
  },
);
