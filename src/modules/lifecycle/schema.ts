// Deleting trace data: deleteTraces and deleteEndUserData, each a data job (data-jobs.ts) that the
// call itself works for up to EVALGRAPH_DELETE_INLINE_MS, then hands to the workers; and the
// DataJob type with its two queries.
import { badInput, notFound } from '../../errors';
import { builder } from '../../schema/builder';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { allows, authorize, authorizeRow } from '../auth/access';
import { recordAudit } from '../audit/record';
import { topics } from '../events/catalogue';
import { isUuid } from '../../lib/ids';
import { isInstanceAdmin, type Action } from '../auth/permissions';
import { ProjectRef } from '../projects/schema';
import { authorizeCostFilter, TraceFilter } from '../traces/queries';
import type { TraceListFilter } from '../traces/read-sql';
import { TraceRef } from '../traces/schema';
import { PHRASE_SEARCH_COST } from '../traces/phrase-sql';
import type { DataJobKind, DataJobTarget } from './data-jobs';
import { startJob } from './start-job';

/** Trace ids one call may name; more are deleted by filter. */
const MAX_TRACE_IDS = 1_000;

/**
 * Who may start a job of a kind, and so retry one and read its target. Its counts and status are
 * for every reader of the project; what it deletes (an erased end user's id, above all) is not.
 * PROJECT jobs are instance admins' alone (their type's scope).
 */
const STARTERS: Record<DataJobKind, Action> = {
  TRACES: 'write',
  END_USER: 'manage',
  PROJECT: 'manage',
};

export const DataJobRef = builder.prismaNode('DataJob', {
  // A job changes batch by batch, from any process: never cached.
  extensions: { cacheTtlMs: 0 },
  nullable: true,
  id: { field: 'id' },
  // A project's deletion outlives its project: only instance admins (who alone delete projects) read
  // that job, the project being gone for every reader; other jobs are read as their project is.
  authScopes: (job) =>
    job.kind === 'PROJECT'
      ? { instanceAdmin: true }
      : { project: { id: job.projectId, action: 'read' as const } },
  description:
    'A deletion carried out in batches: by the call that asked for it while it had time, then by the workers. What it has deleted is gone from every query, cached answer, rollup and export as each batch commits; SUCCEEDED means all of it is.',
  fields: (t) => ({
    projectId: t.id({
      description: 'Project.id of its project (which a PROJECT job outlives).',
      resolve: (j) => encodeGlobalID('Project', j.projectId),
    }),
    kind: t.exposeString('kind', { description: 'TRACES, END_USER or PROJECT.' }),
    status: t.exposeString('status', { description: 'PENDING, RUNNING, SUCCEEDED or FAILED.' }),
    target: t.field({
      type: 'JSON',
      nullable: true,
      description:
        "What it deletes: { traceIds }, { filter } or { userId }. Only for readers who may start such a job (TRACES: the write right; END_USER: the project's ADMIN role; PROJECT: instance admins): null for others, so an erased end user's id is not read back by a VIEWER.",
      resolve: (j, _args, ctx) => {
        if (!allows(ctx, j.projectId, STARTERS[j.kind as DataJobKind])) return null;
        // What the caller named, not the job's own bookkeeping (how far it went, a step done).
        const {
          after: _after,
          prepared: _prepared,
          ...named
        } = j.target as Record<string, unknown>;
        return named;
      },
    }),
    tracesMatched: t.exposeInt('tracesMatched', {
      description: 'Traces it matched when it was made.',
    }),
    tracesDeleted: t.exposeInt('tracesDeleted'),
    spansDeleted: t.exposeInt('spansDeleted'),
    scoresDeleted: t.exposeInt('scoresDeleted'),
    otherDeleted: t.exposeInt('otherDeleted', {
      description: 'Other rows: dataset items copied from spans, evaluations and the like.',
    }),
    progress: t.float({
      nullable: true,
      description:
        'tracesDeleted / tracesMatched (1 when done); null while nothing was matched and it is not done.',
      resolve: (j) =>
        j.status === 'SUCCEEDED'
          ? 1
          : j.tracesMatched > 0
            ? Math.min(1, j.tracesDeleted / j.tracesMatched)
            : null,
    }),
    error: t.exposeString('error', { nullable: true, description: 'Why its last batch failed.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
  }),
});

/** A filter that narrows something: an empty string or list matches every trace, as null does. */
const hasCondition = (f: Record<string, unknown>) =>
  Object.values(f).some((v) => v != null && v !== '' && !(Array.isArray(v) && v.length === 0));

builder.relayMutationField(
  'deleteTraces',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      traceIds: t.globalIDList({
        for: TraceRef,
        description: `Traces to delete (at most ${MAX_TRACE_IDS}); or give a filter.`,
      }),
      filter: t.field({
        type: TraceFilter,
        description: 'Delete every trace this matches now (traces that arrive later stay).',
      }),
    }),
  },
  {
    description:
      'Deletes traces with their spans and scores, and takes their contribution out of the rollups. Answers a data job: SUCCEEDED when the call finished it, else RUNNING and carried on by the workers (node(id)). Needs the write right.',
    // A phrase (filter.text) reads the spans of the range, as the traces root does.
    extensions: {
      cost: (args: { input?: { filter?: { text?: string | null } | null } }) =>
        args.input?.filter?.text != null ? PHRASE_SEARCH_COST : 0,
    },
    resolve: async (_root, { input }, ctx) => {
      const projectId = input.projectId.id;
      await authorize(ctx, projectId, 'write');
      if ((input.traceIds == null) === (input.filter == null))
        throw badInput('Give traceIds or filter, not both.', ['input']);
      let target: DataJobTarget;
      // Named traces are read once, here: all found, they are what the job matches.
      let matched: number | undefined;
      if (input.traceIds) {
        const ids = [...new Set(input.traceIds.map((g) => g.id))];
        if (!ids.length) throw badInput('traceIds is empty.', ['input', 'traceIds']);
        if (ids.length > MAX_TRACE_IDS)
          throw badInput(`At most ${MAX_TRACE_IDS} trace ids; delete more by filter.`, [
            'input',
            'traceIds',
          ]);
        const found = await ctx.deps.db.query<{ id: string }>(
          'SELECT id::text FROM traces WHERE project_id = $1::uuid AND id = ANY($2::uuid[])',
          [projectId, ids],
        );
        const known = new Set(found.map((r) => r.id));
        const missing = input.traceIds.findIndex((g) => !known.has(g.id));
        if (missing >= 0) throw notFound('Trace', ['input', 'traceIds', missing]);
        target = { traceIds: ids };
        matched = ids.length;
      } else {
        const filter = input.filter as TraceListFilter;
        await authorizeCostFilter(ctx, projectId, filter);
        if (!hasCondition(filter as Record<string, unknown>))
          throw badInput('The filter matches every trace: give at least one condition.', [
            'input',
            'filter',
          ]);
        target = { filter };
      }
      return startJob(ctx, { projectId, kind: 'TRACES', target, matched }, 'traces.delete');
    },
  },
  {
    outputFields: (t) => ({
      job: t.field({ type: DataJobRef, nullable: false, resolve: (p) => p.job as never }),
    }),
  },
);

builder.relayMutationField(
  'deleteEndUserData',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      userId: t.string({ required: true, description: 'The end user id (Trace.userId).' }),
    }),
  },
  {
    description:
      "Erases one end user of the application (GDPR): their traces, spans and scores, scores they gave or of their sessions, dataset items copied from their spans, online evaluation results, and their contribution to rollups. Answers a data job that says when it is done. Needs the project's ADMIN role.",
    resolve: async (_root, { input }, ctx) => {
      const projectId = input.projectId.id;
      await authorize(ctx, projectId, 'manage');
      if (!input.userId.trim()) throw badInput('userId is empty.', ['input', 'userId']);
      return startJob(
        ctx,
        { projectId, kind: 'END_USER', target: { userId: input.userId } },
        'endUser.delete',
      );
    },
  },
  {
    outputFields: (t) => ({
      job: t.field({ type: DataJobRef, nullable: false, resolve: (p) => p.job as never }),
    }),
  },
);

builder.queryField('dataJobs', (t) =>
  t.prismaConnection(
    {
      type: 'DataJob',
      cursor: 'id',
      description: "A project's data jobs, newest first. One job: node(id).",
      args: { projectId: t.arg.globalID({ required: true, for: ProjectRef }) },
      authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
      resolve: (query, _root, args, ctx) =>
        ctx.deps.db.prisma.dataJob.findMany({
          ...query,
          where: { projectId: args.projectId.id },
          orderBy: { id: 'desc' },
        }),
    },
    { name: 'DataJobConnection' },
    { name: 'DataJobEdge' },
  ),
);

builder.relayMutationField(
  'retryDataJob',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: DataJobRef }) }) },
  {
    description:
      'Hands a FAILED data job back to the workers, to resume where it stopped (what it deleted stays counted). Needs the right that starts a job of its kind (TRACES: write; END_USER: the project ADMIN role; PROJECT: instance admin). A job that is not FAILED is BAD_USER_INPUT: of concurrent calls, one requeues it and the others are refused.',
    resolve: async (_root, { input }, ctx) => {
      const path = ['input', 'id'];
      const id = input.id.id;
      const found = isUuid(id)
        ? await ctx.deps.db.prisma.dataJob.findUnique({ where: { id } })
        : null;
      // A project's deletion: its project is gone, and the job is for instance admins alone.
      if (found?.kind === 'PROJECT') {
        if (!isInstanceAdmin(ctx.principal)) throw notFound('DataJob', path);
      } else
        await authorizeRow(
          ctx,
          found,
          STARTERS[found?.kind as DataJobKind] ?? 'manage',
          'DataJob',
          path,
        );
      const job = await ctx.deps.db.transaction(async (sql) => {
        const requeued = await ctx.services.dataJobs.retry(sql, id);
        if (!requeued)
          throw badInput(
            'Only a FAILED job can be retried (this one is not, or was just retried).',
            path,
          );
        await recordAudit(
          ctx,
          {
            action: 'dataJob.retry',
            projectId: requeued.projectId,
            targetType: 'DataJob',
            targetId: id,
            details: { kind: requeued.kind, error: found!.error },
          },
          sql,
        );
        return requeued;
      });
      ctx.deps.pubsub.publish(topics.dataJobWork, {});
      return { job };
    },
  },
  {
    outputFields: (t) => ({
      job: t.field({ type: DataJobRef, nullable: false, resolve: (p) => p.job as never }),
    }),
  },
);
