// Score types and reads: `Score` (a node), `scores(projectId, filter)`, `Trace.scores` and
// `Span.scores`. Reading needs the `read` action (VIEWER and up; BILLING sees none). Like traces,
// a score is checked where it enters the graph (the project of a list, node by id); what is
// reached from it belongs to the same project.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { z } from 'zod';
import type { Context } from '../../context';
import { badInput, notFound } from '../../errors';
import { ScoreDataType, ScoreSource } from '../../generated/prisma/enums';
import { decodeCursor, encodeCursor, keysetPage } from '../../lib/cursors';
import { pageSize } from '../../lib/pages';
import { builder } from '../../schema/builder';
import { ProjectRef } from '../projects/schema';
import { loadersOf } from '../traces/loaders';
import { readable, SpanRef, TraceRef } from '../traces/schema';
import { FALSE, MAX_ID, MAX_NAME, TRUE } from './input';
import { scoreLoadersOf } from './loaders';
import {
  countScores,
  listScores,
  scoresOf,
  type ScoreListFilter,
  type ScoreOwner,
} from './read-sql';
import type { ScoreRow } from './repo';

export const ScoreDataTypeEnum = builder.enumType(ScoreDataType, {
  name: 'ScoreDataType',
  description: `NUMERIC: a number in value. CATEGORICAL: a category in stringValue (and, when its config maps the category to a number, that number in value). BOOLEAN: value 1 or 0, stringValue "${TRUE}" or "${FALSE}" (either may be sent, in any case; both are stored).`,
});
export const ScoreSourceEnum = builder.enumType(ScoreSource, {
  name: 'ScoreSource',
  description:
    'Where a score came from. Clients send API (the default), FEEDBACK (from end users) or ANNOTATION (from reviewers); EVALUATION and ONLINE_EVALUATION are written by Evalgraph.',
});
const ScoreTargetEnum = builder.enumType('ScoreTarget', {
  values: ['TRACE', 'SPAN', 'SESSION', 'EVALUATION_ITEM'] as const,
  description: 'What a score is about (a span score also names its trace).',
});

export const ScoreRef = builder.objectRef<ScoreRow>('Score');

const gid = (type: string, id: string | null) => (id === null ? null : encodeGlobalID(type, id));

builder.node(ScoreRef, {
  // Written by mutations (which drop their project's cached responses) and, later, by workers.
  extensions: { cacheTtlMs: 10_000 },
  id: { resolve: (s) => s.id },
  description:
    'A judgement of a trace, a span, a session or an evaluation item: a number, a category or a yes/no.',
  loadMany: (ids, ctx) =>
    Promise.all(
      ids.map(
        async (id) =>
          readable(ctx, await scoreLoadersOf(ctx).byId.load(id), 'Score') as ScoreRow | null,
      ),
    ),
  fields: (t) => ({
    clientId: t.string({
      nullable: true,
      description: 'Your id for it: sending a score with it again updates this one.',
      resolve: (s) => s.clientId,
    }),
    project: t.field({
      type: ProjectRef,
      resolve: async (s, _a, ctx) =>
        (await ctx.deps.db.prisma.project.findUnique({ where: { id: s.projectId } }))!,
    }),
    target: t.field({
      type: ScoreTargetEnum,
      resolve: (s) =>
        s.spanId
          ? 'SPAN'
          : s.traceId
            ? 'TRACE'
            : s.sessionId !== null
              ? 'SESSION'
              : 'EVALUATION_ITEM',
    }),
    trace: t.field({
      type: TraceRef,
      nullable: true,
      description: 'The trace scored, or the trace of the span scored.',
      resolve: (s, _a, ctx, info) =>
        s.traceId === null ? null : loadersOf(ctx).use(info).trace.load(s.traceId),
    }),
    span: t.field({
      type: SpanRef,
      nullable: true,
      resolve: (s, _a, ctx, info) =>
        s.spanId === null ? null : loadersOf(ctx).use(info).span.load(s.spanId),
    }),
    sessionId: t.string({ nullable: true, resolve: (s) => s.sessionId }),
    evaluationItem: t.prismaField({
      type: 'EvaluationItem',
      nullable: true,
      resolve: (query, s, _a, ctx) =>
        s.evaluationItemId === null
          ? null
          : ctx.deps.db.prisma.evaluationItem.findUnique({
              ...query,
              where: { id: s.evaluationItemId },
            }),
    }),
    name: t.string({ resolve: (s) => s.name }),
    dataType: t.field({ type: ScoreDataTypeEnum, resolve: (s) => s.dataType }),
    value: t.float({ nullable: true, resolve: (s) => s.value }),
    stringValue: t.string({ nullable: true, resolve: (s) => s.stringValue }),
    comment: t.string({ nullable: true, resolve: (s) => s.comment }),
    source: t.field({ type: ScoreSourceEnum, resolve: (s) => s.source }),
    userId: t.string({
      nullable: true,
      description: 'The end user of your application who gave it (feedback).',
      resolve: (s) => s.userId,
    }),
    authorUserId: t.id({
      nullable: true,
      description: 'The Evalgraph user whose key wrote it (null when Evalgraph did).',
      resolve: (s) => gid('User', s.authorUserId),
    }),
    authorApiKeyId: t.id({
      nullable: true,
      description: 'The API key that wrote it.',
      resolve: (s) => gid('ApiKey', s.authorApiKeyId),
    }),
    evaluation: t.prismaField({
      type: 'Evaluation',
      nullable: true,
      description: 'The evaluation that produced it (source EVALUATION).',
      resolve: (query, s, _a, ctx) =>
        s.evaluationId === null
          ? null
          : ctx.deps.db.prisma.evaluation.findUnique({ ...query, where: { id: s.evaluationId } }),
    }),
    evaluationRuleId: t.id({
      nullable: true,
      description: 'The online evaluation rule that produced it (source ONLINE_EVALUATION).',
      resolve: (s) => gid('EvaluationRule', s.evaluationRuleId),
    }),
    graderName: t.string({
      nullable: true,
      description: 'The grader (testing criterion) that produced it.',
      resolve: (s) => s.graderName,
    }),
    timestamp: t.field({
      type: 'DateTime',
      description: 'When it was given (yours, else when it arrived).',
      resolve: (s) => s.timestamp,
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (s) => s.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (s) => s.updatedAt }),
  }),
});

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

/** The scores of a trace or span (which the caller may read: it was reached through its checks). */
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
): Promise<ScorePage> {
  const after = afterOf(args);
  const limit = pageSize(args);
  const loaders = scoreLoadersOf(ctx);
  const rows = after
    ? await scoresOf(ctx.deps.db.query, owner, [id], limit + 1, after)
    : await loaders.firstOf(owner, limit + 1).load(id);
  return {
    ...keysetPage(rows, limit, after !== null, cursorOf),
    count: () => loaders.countOf(owner).load(id),
  };
}

builder.objectFields(TraceRef, (t) => ({
  scores: t.connection(
    {
      type: ScoreRef,
      description: "The trace's scores and its spans' scores, newest first (first/after).",
      resolve: (trace, args, ctx) => ownerScores(ctx, 'trace_id', trace.id, args),
    },
    ScoreConnectionRef,
  ),
}));

builder.objectFields(SpanRef, (t) => ({
  scores: t.connection(
    {
      type: ScoreRef,
      description: "The span's scores, newest first (first/after).",
      resolve: (span, args, ctx) => ownerScores(ctx, 'span_id', span.id, args),
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
