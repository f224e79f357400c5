// `scoreSummary`: a project's scores in [from, to), grouped, with the statistics of their values
// and the count of each category. Needs the `read` action, like the scores themselves.
import { appError } from '../../errors';
import { builder } from '../../schema/builder';
import { ProjectRef } from '../projects/schema';
import { listFilter, ScoreFilter } from './queries';
import { ScoreSourceEnum } from './schema';
import {
  MAX_CATEGORIES_PER_GROUP,
  summariseScores,
  TooManyGroupsError,
  type ScoreGroupBy,
  type ScoreSummaryRow,
} from './summary-sql';

const MAX_SCORE_GROUPS = 10_000;

const ScoreGroupByEnum = builder.enumType('ScoreGroupBy', {
  values: {
    NAME: {},
    SOURCE: {},
    DAY: { description: 'UTC day of the score’s timestamp.' },
    HOUR: { description: 'UTC hour of the score’s timestamp.' },
    MODEL: {
      description:
        "For a span score, the span's normalised model; for a trace score, the trace's main model (of its spans with a model: LLM spans first, then the most tokens, then the earliest). Session and evaluation-item scores have none.",
    },
    USER: {
      description:
        'The end user: who gave the score (feedback), else the end user of the span or trace scored.',
    },
    STRING_VALUE: { description: 'The category (or True/False).' },
  } as const,
});

const ScoreKeysRef = builder.objectRef<ScoreSummaryRow['keys']>('ScoreSummaryKeys').implement({
  description:
    'The group of a row: only the keys grouped by are set (a key grouped by may still be null: a score without a model, say).',
  fields: (t) => ({
    name: t.string({ nullable: true, resolve: (k) => k.NAME ?? null }),
    source: t.field({
      type: ScoreSourceEnum,
      nullable: true,
      resolve: (k) => (k.SOURCE as never) ?? null,
    }),
    day: t.string({
      nullable: true,
      description: 'YYYY-MM-DD (UTC).',
      resolve: (k) => k.DAY ?? null,
    }),
    hour: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.HOUR ?? null }),
    model: t.string({ nullable: true, resolve: (k) => k.MODEL ?? null }),
    userId: t.string({
      nullable: true,
      description: 'End user id.',
      resolve: (k) => k.USER ?? null,
    }),
    stringValue: t.string({ nullable: true, resolve: (k) => k.STRING_VALUE ?? null }),
  }),
});

const CategoryCountRef = builder
  .objectRef<{ category: string; count: number }>('ScoreCategoryCount')
  .implement({
    fields: (t) => ({
      category: t.exposeString('category', {
        description: 'A stringValue: a category, or True/False.',
      }),
      count: t.exposeInt('count'),
    }),
  });

const ScoreSummaryRowRef = builder.objectRef<ScoreSummaryRow>('ScoreSummaryRow').implement({
  // Scores keep arriving (mutations drop their project's cached answers): kept 30 s at most.
  extensions: { cacheTtlMs: 30_000 },
  fields: (t) => ({
    keys: t.field({ type: ScoreKeysRef, resolve: (r) => r.keys }),
    count: t.exposeInt('count', { description: 'Scores in the group.' }),
    valueCount: t.exposeInt('valueCount', {
      description:
        'Scores with a value: NUMERIC ones, BOOLEAN ones (1 or 0) and CATEGORICAL ones whose category maps to a value. The statistics are over these.',
    }),
    mean: t.exposeFloat('mean', {
      nullable: true,
      description: 'Null without values. Of BOOLEAN scores: the share that is true.',
    }),
    min: t.exposeFloat('min', { nullable: true }),
    max: t.exposeFloat('max', { nullable: true }),
    p50: t.exposeFloat('p50', {
      nullable: true,
      description: 'Median, interpolated between values (percentile_cont).',
    }),
    p95: t.exposeFloat('p95', { nullable: true, description: 'Interpolated between values.' }),
    categoryCounts: t.field({
      type: [CategoryCountRef],
      description: `Scores per stringValue (CATEGORICAL and BOOLEAN), most frequent first; at most ${MAX_CATEGORIES_PER_GROUP}.`,
      extensions: { listSize: MAX_CATEGORIES_PER_GROUP },
      resolve: (r) => r.categoryCounts,
    }),
  }),
});

builder.queryField('scoreSummary', (t) =>
  t.field({
    type: [ScoreSummaryRowRef],
    // An aggregation over the window's scores: 50 points, and up to 100 rows of 1.
    extensions: { cost: 50, listSize: 100 },
    complexity: 50,
    description: `Count, mean, min, max, p50 and p95 of score values, and counts per category, of a project's scores given in [from, to), grouped. At most ${MAX_SCORE_GROUPS} groups.`,
    args: {
      projectId: t.arg.globalID({ required: true, for: ProjectRef }),
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
      filter: t.arg({
        type: ScoreFilter,
        description: 'Its from and to, if given, narrow the window.',
      }),
      groupBy: t.arg({ type: [ScoreGroupByEnum], defaultValue: [] }),
    },
    authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
    resolve: async (_root, args, ctx) => {
      if (args.to.getTime() <= args.from.getTime())
        throw appError('BAD_USER_INPUT', '`to` must be after `from`.', {
          extensions: { path: ['to'] },
        });
      const projectId = args.projectId.id;
      try {
        return await summariseScores(ctx.deps.db.query, {
          projectId,
          from: args.from,
          to: args.to,
          filter: await listFilter(ctx, projectId, args.filter),
          groupBy: (args.groupBy ?? []) as ScoreGroupBy[],
          maxRows: MAX_SCORE_GROUPS,
        });
      } catch (error) {
        if (error instanceof TooManyGroupsError)
          throw appError(
            'BAD_USER_INPUT',
            `More than ${error.limit} groups: narrow the time range or group by fewer keys.`,
          );
        throw error;
      }
    },
  }),
);
