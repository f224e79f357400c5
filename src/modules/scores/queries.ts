// Reads of scores: `scores(projectId, filter)`, `Trace.scores` and `Span.scores` (newest first,
// keyset pages). A list is checked where it enters the graph: the project of `scores` (its scope),
// the trace or span it hangs from (checked when they were reached).
import type { GraphQLResolveInfo } from 'graphql';
import { z } from 'zod';
import type { Context } from '../../context';
import { badInput, notFound } from '../../errors';
import { decodeCursor, encodeCursor, keysetPage } from '../../lib/cursors';
import { pageSize } from '../../lib/pages';
import { builder } from '../../schema/builder';
import { ProjectRef } from '../projects/schema';
import { SpanRef, TraceRef } from '../traces/schema';
import { MAX_ID, MAX_NAME } from './input';
import { scoreLoadersOf } from './loaders';
import {
  countScores,
  countScoresOf,
  listScores,
  scoresOf,
  type ScoreListFilter,
  type ScoreOwner,
} from './read-sql';
import type { ScoreRow } from './repo';
import { ScoreDataTypeEnum, ScoreRef, ScoreSourceEnum } from './schema';

/** A page of scores with its count, read only when asked for. */
type ScorePage = ReturnType<typeof keysetPage<ScoreRow>> & { count: () => Promise<number> };

export const ScoreConnectionRef = builder.connectionObject(
  {
    type: ScoreRef,
    name: 'ScoreConnection',
    fields: (c) => ({
      totalCount: c.int({
        description: 'Scores matching, over every page.',
        resolve: (conn) => (conn as unknown as ScorePage).count(),
      }),
    }),
  },
  { name: 'ScoreEdge' },
);

const cursorOf = (s: ScoreRow) => encodeCursor(s.timestamp.toISOString(), s.id);

function afterOf(args: { after?: string | null; last?: number | null; before?: string | null }) {
  if (args.last != null || args.before != null)
    throw badInput('Scores page forward only: use first and after.', ['last']);
  const after = args.after ? decodeCursor(args.after, 'time') : null;
  if (args.after && !after) throw badInput('`after` is not a cursor of this list.', ['after']);
  return after;
}

/**
 * The scores of a trace or span (which the caller may read: it was reached through its checks).
 * A subscription keeps one context for all its events: there each event reads them fresh, rather
 * than through the request's loaders, which would answer every later event from the first one's
 * page and keep the page of every trace it ever showed.
 */
async function ownerScores(
  ctx: Context,
  owner: ScoreOwner,
  id: string,
  args: {
    first?: number | null;
    after?: string | null;
    last?: number | null;
    before?: string | null;
  },
  info: GraphQLResolveInfo,
): Promise<ScorePage> {
  const after = afterOf(args);
  const limit = pageSize(args);
  const sql = ctx.deps.db.query;
  if (after || info.operation.operation === 'subscription') {
    const rows = await scoresOf(sql, owner, [id], limit + 1, after);
    return {
      ...keysetPage(rows, limit, after !== null, cursorOf),
      count: async () => (await countScoresOf(sql, owner, [id]))[0]?.n ?? 0,
    };
  }
  const loaders = scoreLoadersOf(ctx);
  const rows = await loaders.firstOf(owner, limit + 1).load(id);
  return {
    ...keysetPage(rows, limit, false, cursorOf),
    count: () => loaders.countOf(owner).load(id),
  };
}

builder.objectFields(TraceRef, (t) => ({
  scores: t.connection(
    {
      type: ScoreRef,
      description: "The trace's scores and its spans' scores, newest first (first/after).",
      resolve: (trace, args, ctx, info) => ownerScores(ctx, 'trace_id', trace.id, args, info),
    },
    ScoreConnectionRef,
  ),
}));

builder.objectFields(SpanRef, (t) => ({
  scores: t.connection(
    {
      type: ScoreRef,
      description: "The span's scores, newest first (first/after).",
      resolve: (span, args, ctx, info) => ownerScores(ctx, 'span_id', span.id, args, info),
    },
    ScoreConnectionRef,
  ),
}));

export const ScoreFilter = builder.inputType('ScoreFilter', {
  description: 'All given conditions must hold.',
  fields: (t) => ({
    name: t.string({ validate: z.string().max(MAX_NAME) }),
    source: t.field({ type: ScoreSourceEnum }),
    dataType: t.field({ type: ScoreDataTypeEnum }),
    traceId: t.globalID({
      for: TraceRef,
      description: "The trace's scores and its spans' scores.",
    }),
    spanId: t.globalID({ for: SpanRef }),
    sessionId: t.string({ validate: z.string().max(MAX_ID) }),
    userId: t.string({
      description:
        'End user: who gave the score (feedback), else the end user of the span or trace scored.',
      validate: z.string().max(MAX_ID),
    }),
    from: t.field({ type: 'DateTime', description: 'Scores given at or after this time.' }),
    to: t.field({ type: 'DateTime', description: 'Scores given before this time.' }),
    minValue: t.float({ description: 'Scores whose value is at least this.' }),
    maxValue: t.float({ description: 'Scores whose value is at most this.' }),
  }),
});

export type ScoreFilterArg = typeof ScoreFilter.$inferInput;

/**
 * The filter as SQL takes it, once the trace and span it names are known to be in the project:
 * another project's trace answers NOT_FOUND, as a missing one does.
 */
export async function listFilter(
  ctx: Context,
  projectId: string,
  filter: ScoreFilterArg | null | undefined,
  path: string[] = ['filter'],
): Promise<ScoreListFilter> {
  const f = filter ?? {};
  const sql = ctx.deps.db.query;
  for (const [field, table, what] of [
    ['traceId', 'traces', 'Trace'],
    ['spanId', 'spans', 'Span'],
  ] as const) {
    const id = f[field]?.id;
    if (!id) continue;
    const rows = await sql(`SELECT 1 FROM ${table} WHERE id = $1::uuid AND project_id = $2::uuid`, [
      id,
      projectId,
    ]);
    if (!rows.length) throw notFound(what, [...path, field]);
  }
  return { ...f, traceId: f.traceId?.id ?? null, spanId: f.spanId?.id ?? null };
}

builder.queryFields((t) => ({
  scores: t.connection(
    {
      type: ScoreRef,
      description: "A project's scores, newest first (forward pagination: first/after).",
      args: {
        projectId: t.arg.globalID({ required: true, for: ProjectRef }),
        filter: t.arg({ type: ScoreFilter }),
      },
      authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
      resolve: async (_root, args, ctx): Promise<ScorePage> => {
        const projectId = args.projectId.id;
        const after = afterOf(args);
        const limit = pageSize(args);
        const filter = await listFilter(ctx, projectId, args.filter);
        const sql = ctx.deps.db.query;
        const rows = await listScores(sql, { projectId, filter, after, limit });
        return {
          ...keysetPage(rows, limit, after !== null, cursorOf),
          count: () => countScores(sql, projectId, filter),
        };
      },
    },
    ScoreConnectionRef,
  ),
}));
