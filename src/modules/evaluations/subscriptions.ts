// Live evaluations: `evaluationProgress(id)` (the state now, then coalesced changes, ending with
// the final state) and `evaluationEvents(projectId)` (every lifecycle event of a project's
// evaluations). Both are read-scoped like the queries, over every transport.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../../schema/builder';
import { authorizeId } from '../auth/access';
import { projectScope } from '../auth/permissions';
import { ProjectRef } from '../projects/schema';
import {
  CATALOGUE,
  EVALUATION_EVENTS,
  PROGRESS,
  topics,
  type EvaluationEventName,
  type EventMessage,
} from '../events/catalogue';
import { EvaluationRef, EvaluationStatusEnum, GraderResults, ResultCounts } from './schema';
import { JUDGE_COST, JUDGE_TOKENS, unpricedCalls } from './spend-descriptions';
import { percentDone, type EvaluationSnapshot } from './summaries';

type EvaluationEvent = EventMessage<EvaluationEventName>;

const readScope = projectScope('read');
const costScope = projectScope('costs');

/** Seconds left at the rate seen since the start; null before any item is done or after the end. */
export function etaSeconds(
  s: Pick<EvaluationSnapshot, 'status' | 'total' | 'completed' | 'startedAt' | 'at'>,
): number | null {
  if (s.status !== 'RUNNING' || !s.startedAt || s.completed === 0) return null;
  const elapsed = (s.at.getTime() - s.startedAt.getTime()) / 1000;
  return Math.max(0, Math.round(((s.total - s.completed) * elapsed) / s.completed));
}

const EvaluationProgressRef = builder
  .objectRef<EvaluationSnapshot>('EvaluationProgress')
  .implement({
    description:
      'Where an evaluation stands, as pushed by `evaluationProgress`. Judge spending needs the BILLING or ADMIN role.',
    authScopes: readScope,
    fields: (t) => ({
      evaluationId: t.id({ resolve: (s) => encodeGlobalID('Evaluation', s.id) }),
      evaluation: t.field({
        type: EvaluationRef,
        nullable: true,
        description:
          'The evaluation itself (read from the database per event: select only what you need).',
        resolve: (s, _a, ctx) => ctx.deps.db.prisma.evaluation.findUnique({ where: { id: s.id } }),
      }),
      status: t.field({ type: EvaluationStatusEnum, resolve: (s) => s.status }),
      resultCounts: t.field({
        type: ResultCounts,
        resolve: (s) => ({
          total: s.total,
          completed: s.completed,
          passed: s.passed,
          failed: s.failed,
          errored: s.errored,
          skipped: s.skipped,
        }),
      }),
      percentDone: t.float({ resolve: (s) => percentDone(s.total, s.completed, s.skipped) }),
      perTestingCriteriaResults: t.field({
        type: [GraderResults],
        description: 'Running mean score and pass counts per grader.',
        resolve: (s) => s.graders,
      }),
      judgeInputTokens: t.field({
        type: 'SafeInt',
        nullable: true,
        authScopes: costScope,
        description: JUDGE_TOKENS,
        resolve: (s) => s.judgeInputTokens,
      }),
      judgeOutputTokens: t.field({
        type: 'SafeInt',
        nullable: true,
        authScopes: costScope,
        description: JUDGE_TOKENS,
        resolve: (s) => s.judgeOutputTokens,
      }),
      judgeCost: t.field({
        type: 'Decimal',
        nullable: true,
        authScopes: costScope,
        description: `${JUDGE_COST} Of the calls made so far.`,
        resolve: (s) => s.judgeCost,
      }),
      judgeUnpricedCalls: t.int({
        nullable: true,
        authScopes: costScope,
        description: unpricedCalls('Judge calls made so far', 'judgeCost'),
        resolve: (s) => s.judgeUnpricedCalls,
      }),
      etaSeconds: t.int({
        nullable: true,
        description: 'Estimated seconds to completion at the rate so far.',
        resolve: (s) => etaSeconds(s),
      }),
      error: t.exposeString('error', { nullable: true }),
      errorCode: t.exposeString('errorCode', { nullable: true }),
      startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
      finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
      at: t.expose('at', { type: 'DateTime', description: 'When this state was read.' }),
    }),
  });

/** The catalogue's evaluation events, as enum values: evaluation.created is CREATED. */
export const toEnum = (type: EvaluationEventName) => type.slice('evaluation.'.length).toUpperCase();
const EvaluationEventTypeEnum = builder.enumType('EvaluationEventType', {
  values: Object.fromEntries(
    EVALUATION_EVENTS.map((name) => [
      toEnum(name),
      { description: `${name}: ${CATALOGUE[name].description}` },
    ]),
  ),
});

const EvaluationEventRef = builder.objectRef<EvaluationEvent>('EvaluationEvent').implement({
  description: `A change of one of a project's evaluations (progress at most every ${PROGRESS.publishMs} ms per evaluation).`,
  authScopes: readScope,
  fields: (t) => ({
    type: t.field({ type: EvaluationEventTypeEnum, resolve: (e) => toEnum(e.type) }),
    evaluationId: t.id({ resolve: (e) => encodeGlobalID('Evaluation', e.subjectId) }),
    evaluation: t.field({
      type: EvaluationRef,
      nullable: true,
      resolve: (e, _a, ctx) =>
        ctx.deps.db.prisma.evaluation.findUnique({ where: { id: e.subjectId } }),
    }),
    at: t.field({ type: 'DateTime', resolve: (e) => new Date(e.at) }),
  }),
});

/** A reader that falls behind keeps lifecycle events (up to 1,000) and only the latest progress per evaluation. */
function keepEvents(held: EvaluationEvent[], next: EvaluationEvent): EvaluationEvent[] {
  const kept =
    next.type === 'evaluation.progress'
      ? held.filter((e) => !(e.type === 'evaluation.progress' && e.subjectId === next.subjectId))
      : held;
  kept.push(next);
  return kept.length > 1_000 ? kept.slice(kept.length - 1_000) : kept;
}

builder.subscriptionFields((t) => ({
  evaluationProgress: t.field({
    type: EvaluationProgressRef,
    description:
      "The evaluation's state now, then at most every 250 ms while it changes; the stream completes after the final state.",
    args: { id: t.arg.globalID({ required: true, for: EvaluationRef }) },
    subscribe: async (_root, args, ctx) => {
      const projectId = await authorizeId(ctx, 'Evaluation', args.id.id, 'read');
      return ctx.services.subscriptions.open(
        ctx,
        projectId,
        ctx.services.progress.watch(args.id.id),
      );
    },
    resolve: (snapshot) => snapshot,
  }),
  evaluationEvents: t.field({
    type: EvaluationEventRef,
    description:
      'Every evaluation event of a project: created, started, progress, completed, failed, canceled.',
    args: { projectId: t.arg.globalID({ required: true, for: ProjectRef }) },
    authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
    subscribe: (_root, args, ctx) =>
      ctx.services.subscriptions.topic<EvaluationEvent>(
        ctx,
        args.projectId.id,
        topics.projectEvaluations(args.projectId.id),
        keepEvents,
      ),
    resolve: (event) => event,
  }),
}));
