// The Score type (a node) and the score enums; the reads are in queries.ts. Reading needs the
// `read` action (VIEWER and up; BILLING sees none). Like traces, a score is checked where it enters
// the graph (the project of a list, node by id); what is reached from it is of the same project.
import { encodeGlobalID } from '@pothos/plugin-relay';
import type DataLoader from 'dataloader';
import type { GraphQLResolveInfo } from 'graphql';
import { ScoreDataType, ScoreSource } from '../../generated/prisma/enums';
import { builder } from '../../schema/builder';
import { ProjectRef } from '../projects/schema';
import { loadersOf } from '../traces/loaders';
import { readable, SpanRef, TraceRef } from '../traces/schema';
import { FALSE, TRUE } from './input';
import { scoreLoadersOf } from './loaders';
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

/**
 * A row by id through a request's loader. A subscription keeps one context for all its events:
 * there the row is forgotten once read, so each event reads it fresh and nothing piles up.
 */
async function loadFresh<R>(
  loader: DataLoader<string, R>,
  id: string,
  info: GraphQLResolveInfo,
): Promise<R> {
  const row = await loader.load(id);
  if (info.operation.operation === 'subscription') loader.clear(id);
  return row;
}

/**
 * What a score links to needs the read right: a FEEDBACK key gets back the score it created, not
 * the trace or span it is about.
 */
const readsItsProject = (s: ScoreRow) => ({
  project: { id: s.projectId, action: 'read' as const },
});

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
          (await readable(
            ctx,
            await scoreLoadersOf(ctx).byId.load(id),
            'Score',
          )) as ScoreRow | null,
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
      authScopes: readsItsProject,
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
      authScopes: readsItsProject,
      resolve: (s, _a, ctx, info) =>
        s.traceId === null ? null : loadFresh(loadersOf(ctx).use(info).trace, s.traceId, info),
    }),
    span: t.field({
      type: SpanRef,
      nullable: true,
      authScopes: readsItsProject,
      resolve: (s, _a, ctx, info) =>
        s.spanId === null ? null : loadFresh(loadersOf(ctx).use(info).span, s.spanId, info),
    }),
    sessionId: t.string({ nullable: true, resolve: (s) => s.sessionId }),
    evaluationItem: t.prismaField({
      type: 'EvaluationItem',
      nullable: true,
      authScopes: readsItsProject,
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
