// A project's retention (retention.ts deletes by it): Project.retention and setProjectRetention.
import { z } from 'zod';
import { parseInput } from '../../lib/validate';
import { builder } from '../../schema/builder';
import { recordAudit } from '../audit/record';
import { ProjectRef } from '../projects/schema';
import { effectiveTraceDays } from './retention';

interface Retention {
  traceDays: number | null;
  effectiveTraceDays: number | null;
  evaluationDays: number | null;
  keepAggregates: boolean;
}

const days = z.number().int().min(1).max(36_500).nullish();
const retentionInput = z.object({ traceDays: days, evaluationDays: days });

const RetentionRef = builder.objectRef<Retention>('ProjectRetention').implement({
  description: "How long a project's data is kept; a worker deletes what is older.",
  fields: (t) => ({
    traceDays: t.exposeInt('traceDays', {
      nullable: true,
      description:
        "The project's own: traces, spans and scores older than this many days are deleted. null: the instance's default (effectiveTraceDays).",
    }),
    effectiveTraceDays: t.exposeInt('effectiveTraceDays', {
      nullable: true,
      description:
        "What applies: traceDays, else the instance's EVALGRAPH_RETENTION_DAYS; null: kept forever.",
    }),
    evaluationDays: t.exposeInt('evaluationDays', {
      nullable: true,
      description:
        'Finished evaluations (with items, results and their scores) created longer ago than this many days are deleted; null: kept.',
    }),
    keepAggregates: t.exposeBoolean('keepAggregates', {
      description:
        'true: the rollups (costSummary, metrics, scoreMetrics over whole hours and days) keep what retention deleted; false: they lose it with the rows.',
    }),
  }),
});

type ProjectRow = {
  traceRetentionDays: number | null;
  evaluationRetentionDays: number | null;
  keepAggregates: boolean;
};

const retentionOf = (deps: Parameters<typeof effectiveTraceDays>[0], p: ProjectRow): Retention => ({
  traceDays: p.traceRetentionDays,
  effectiveTraceDays: effectiveTraceDays(deps, p.traceRetentionDays),
  evaluationDays: p.evaluationRetentionDays,
  keepAggregates: p.keepAggregates,
});

builder.objectField(ProjectRef, 'retention', (t) =>
  t.field({
    type: RetentionRef,
    description: 'How long its data is kept (setProjectRetention).',
    resolve: (project, _args, ctx) => retentionOf(ctx.deps, project),
  }),
);

builder.relayMutationField(
  'setProjectRetention',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      traceDays: t.int({
        description: "1 to 36500; null: the instance's default (EVALGRAPH_RETENTION_DAYS).",
      }),
      evaluationDays: t.int({ description: '1 to 36500; null: evaluations are kept.' }),
      keepAggregates: t.boolean({
        defaultValue: true,
        description: 'Whether the rollups keep what retention deletes (default true).',
      }),
    }),
  },
  {
    description:
      'Sets how long the project keeps its traces and evaluations (project ADMIN). Every field is set: one left null goes back to its default. A worker deletes what is older, in batches, within EVALGRAPH_RETENTION_MS or so.',
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'manage' } }),
    resolve: async (_root, { input }, ctx) => {
      const data = parseInput(retentionInput, input);
      const projectId = input.projectId.id;
      const after = {
        traceRetentionDays: data.traceDays ?? null,
        evaluationRetentionDays: data.evaluationDays ?? null,
        keepAggregates: input.keepAggregates ?? true,
      };
      const project = await ctx.deps.db.prisma.$transaction(async (tx) => {
        const before = await tx.project.findUniqueOrThrow({ where: { id: projectId } });
        const updated = await tx.project.update({ where: { id: projectId }, data: after });
        await recordAudit(
          ctx,
          {
            action: 'project.retention',
            projectId,
            targetType: 'Project',
            targetId: projectId,
            details: {
              before: retentionOf(ctx.deps, before),
              after: retentionOf(ctx.deps, updated),
            },
          },
          tx,
        );
        return updated;
      });
      return { project };
    },
  },
  {
    outputFields: (t) => ({
      project: t.field({ type: ProjectRef, resolve: (p) => p.project }),
    }),
  },
);
