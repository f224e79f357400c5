// createScore, createScores and deleteScore: the `write` action on the project (DEVELOPER and
// ADMIN); FEEDBACK keys create scores with source FEEDBACK only. Scores are checked against their name's config; what they are about must be in the
// project (NOT_FOUND otherwise, as for a missing one).
import type { InputFieldBuilder } from '@pothos/core';
import { decodeGlobalID } from '@pothos/plugin-relay';
import type { Context } from '../../context';
import { isUuid, NIL_UUID } from '../../lib/ids';
import { builder } from '../../schema/builder';
import { forbidden } from '../../errors';
import { allows, authorizeRow } from '../auth/access';
import { ProjectRef } from '../projects/schema';
import { SpanRef, TraceRef } from '../traces/schema';
import { MAX_SCORES_PER_BATCH, type Author } from './service';
import type { ScoreInput } from './input';
import { ScoreDataTypeEnum, ScoreRef, ScoreSourceEnum } from './schema';
import { scoreLoadersOf } from './loaders';
import { recordAudit } from '../audit/record';

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/** The fields of one score, in createScore's input and in each of createScores'. */
const scoreFields = (t: InputFieldBuilder<Types, 'InputObject'>) => ({
  clientId: t.string({
    description:
      'Your id for the score (a uuid, say; up to 256 characters), unique in the project: sending a score with it again updates that score instead of adding one.',
  }),
  traceId: t.globalID({ for: TraceRef, description: 'A trace of the project.' }),
  spanId: t.globalID({
    for: SpanRef,
    description: 'A span of the project (the score records its trace too).',
  }),
  sessionId: t.string({ description: 'An end-user session (Trace.sessionId).' }),
  evaluationItemId: t.id({ description: 'An evaluation item of the project (EvaluationItem.id).' }),
  traceExternalId: t.string({
    description:
      'A trace of the project by the id your application gave it (Trace.externalId: the trace id your SDK or OTLP exporter sent). What a web app knows of its traces, so end-user feedback needs no read access.',
  }),
  spanExternalId: t.string({
    description:
      'With traceExternalId: a span of that trace by the id your application gave it (Span.externalId).',
  }),
  name: t.string({
    required: true,
    description: 'Up to 200 characters. A score config of this name, if any, validates the score.',
  }),
  dataType: t.field({
    type: ScoreDataTypeEnum,
    description:
      "Defaults to the score config's; without a config, NUMERIC when only value is given and CATEGORICAL when only stringValue is.",
  }),
  value: t.float(),
  stringValue: t.string({ description: 'Up to 500 characters.' }),
  comment: t.string({ description: 'Up to 10,000 characters.' }),
  source: t.field({
    type: ScoreSourceEnum,
    description: 'API (default), FEEDBACK or ANNOTATION.',
  }),
  userId: t.string({ description: 'The end user of your application who gave it (feedback).' }),
  timestamp: t.field({ type: 'DateTime', description: 'When it was given; defaults to now.' }),
});

/** An evaluation item id as EvaluationItem.id shows it (a uuid), or as a global id. */
function itemId(id: string | number | null | undefined): string | null {
  if (id == null) return null;
  const text = String(id);
  if (isUuid(text)) return text;
  try {
    const decoded = decodeGlobalID(text);
    if (decoded.typename === 'EvaluationItem' && isUuid(decoded.id)) return decoded.id;
  } catch {
    // not a global id: names nothing
  }
  return NIL_UUID;
}

type ScoreArgs = {
  clientId?: string | null;
  traceId?: { id: string } | null;
  spanId?: { id: string } | null;
  sessionId?: string | null;
  evaluationItemId?: string | number | null;
  name: string;
} & Omit<ScoreInput, 'clientId' | 'traceId' | 'spanId' | 'sessionId' | 'evaluationItemId' | 'name'>;

// Field by field rather than spread: a batch makes a thousand of them.
const toInput = (s: ScoreArgs): ScoreInput => ({
  clientId: s.clientId,
  traceId: s.traceId?.id ?? null,
  spanId: s.spanId?.id ?? null,
  sessionId: s.sessionId,
  evaluationItemId: itemId(s.evaluationItemId),
  traceExternalId: s.traceExternalId,
  spanExternalId: s.spanExternalId,
  name: s.name,
  dataType: s.dataType,
  value: s.value,
  stringValue: s.stringValue,
  comment: s.comment,
  source: s.source,
  userId: s.userId,
  timestamp: s.timestamp,
});

const authorOf = (ctx: Context): Author => ({
  userId: ctx.principal?.userId ?? null,
  apiKeyId: ctx.principal?.keyId ?? null,
});

/**
 * Creating scores takes the `feedback` right (FEEDBACK keys, DEVELOPER, ADMIN); any source but
 * FEEDBACK takes `write` as well, so a key shipped in a web app sends end-user feedback only.
 */
function onlyFeedbackUnlessWriter(
  ctx: Context,
  projectId: string,
  scores: readonly { source?: string | null }[],
) {
  if (scores.every((s) => s.source === 'FEEDBACK') || allows(ctx, projectId, 'write')) return;
  throw forbidden('This key creates scores with source FEEDBACK only.');
}

const ScoreInputRef = builder.inputType('ScoreInput', {
  description:
    'One score: what it is about (exactly one of traceId, spanId, sessionId, evaluationItemId and traceExternalId, with spanExternalId for a span of it), its name and its value.',
  fields: scoreFields,
});

builder.relayMutationField(
  'createScore',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      ...scoreFields(t),
    }),
  },
  {
    description:
      'Adds a score (or, with a clientId already used in the project, updates that score).',
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'feedback' } }),
    resolve: async (_root, { input }, ctx) => {
      onlyFeedbackUnlessWriter(ctx, input.projectId.id, [input]);
      const { projectId, ...score } = input;
      const result = await ctx.services.scores.create(projectId.id, [toInput(score)], {
        partial: false,
        author: authorOf(ctx),
        path: ['input'],
        single: true,
      });
      return result.scores[0];
    },
  },
  { outputFields: (t) => ({ score: t.field({ type: ScoreRef, resolve: (s) => s }) }) },
);

const ScoreErrorRef = builder
  .objectRef<{ index: number; field: string; message: string; code: string }>('ScoreError')
  .implement({
    description: 'Why one score of a batch was refused.',
    fields: (t) => ({
      index: t.exposeInt('index', { description: 'Position of the score in input.scores.' }),
      field: t.exposeString('field'),
      message: t.exposeString('message'),
      code: t.exposeString('code', {
        description: 'BAD_USER_INPUT, or NOT_FOUND for a target that is not in the project.',
      }),
    }),
  });

builder.relayMutationField(
  'createScores',
  {
    inputFields: (t) => ({
      projectId: t.globalID({ required: true, for: ProjectRef }),
      scores: t.field({
        type: [ScoreInputRef],
        required: true,
        description: `Up to ${MAX_SCORES_PER_BATCH.toLocaleString('en')} scores.`,
      }),
      partial: t.boolean({
        defaultValue: false,
        description:
          'Store the valid scores and report the invalid ones, instead of refusing the whole batch.',
      }),
    }),
  },
  {
    // Cost: a point per 10 scores (and at least 10, as every mutation).
    extensions: {
      cost: (args: { input?: { scores?: unknown[] } }) =>
        Math.ceil((args.input?.scores?.length ?? 0) / 10),
    },
    description:
      'Adds scores in one write. Idempotent with clientIds: the same batch sent twice is stored once.',
    authScopes: (_root, { input }) => ({ project: { id: input.projectId.id, action: 'feedback' } }),
    resolve: (_root, { input }, ctx) => {
      onlyFeedbackUnlessWriter(ctx, input.projectId.id, input.scores);
      return ctx.services.scores.create(input.projectId.id, input.scores.map(toInput), {
        partial: input.partial ?? false,
        author: authorOf(ctx),
        path: ['input', 'scores'],
      });
    },
  },
  {
    outputFields: (t) => ({
      acceptedCount: t.exposeInt('acceptedCount', {
        description:
          'Scores stored (a clientId repeated in the batch: each counts, the last wins).',
      }),
      rejectedCount: t.exposeInt('rejectedCount'),
      errors: t.field({
        type: [ScoreErrorRef],
        description: 'Problems of the rejected scores (partial mode).',
        resolve: (r) => r.problems,
      }),
      scores: t.field({
        type: [ScoreRef],
        description: 'The stored scores of the accepted inputs, in input order.',
        // Counted as 100 before the run (the output has no argument to size it by); the actual
        // cost counts what was returned.
        extensions: { listSize: 100 },
        resolve: (r) => r.scores,
      }),
    }),
  },
);

builder.relayMutationField(
  'deleteScore',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: ScoreRef }) }) },
  {
    resolve: async (_root, { input }, ctx) => {
      const score = await authorizeRow(
        ctx,
        await scoreLoadersOf(ctx).byId.load(input.id.id),
        'write',
        'Score',
        ['input', 'id'],
      );
      await ctx.services.scores.remove(score.projectId, score.id, (sql) =>
        recordAudit(
          ctx,
          {
            action: 'score.delete',
            projectId: score.projectId,
            targetType: 'Score',
            targetId: score.id,
          },
          sql,
        ),
      );
      return { id: score.id };
    },
  },
  {
    outputFields: (t) => ({
      deletedScoreId: t.id({ resolve: (p) => Buffer.from(`Score:${p.id}`).toString('base64') }),
    }),
  },
);
