// The `spans` root: a project's spans holding a phrase in their input or output, newest first.
// The phrase is matched by phrase-sql.ts; SQL in search-sql.ts.
import { z } from 'zod';
import { badInput, notFound } from '../../errors';
import { decodeCursor, encodeCursor, keysetPage } from '../../lib/cursors';
import { pageSize } from '../../lib/pages';
import { builder } from '../../schema/builder';
import { ProjectRef } from '../projects/schema';
import { MAX_PHRASE, MIN_PHRASE, PHRASE_SEARCH_COST } from './phrase-sql';
import { SpanKindEnum, SpanRef, SpanStatusEnum, TraceRef } from './schema';
import { searchSpans } from './search-sql';
import { selectedFields } from './selection';

/** A phrase as SpanFilter.text and TraceFilter.text take it. */
export const phraseSchema = z.string().min(MIN_PHRASE).max(MAX_PHRASE);

const SpanFilter = builder.inputType('SpanFilter', {
  description: 'All given conditions must hold.',
  fields: (t) => ({
    text: t.string({
      required: true,
      description: `Spans whose input or output contains this phrase: case-insensitive, taken literally (% and _ are plain characters), ${MIN_PHRASE} to ${MAX_PHRASE} characters.`,
      validate: phraseSchema,
    }),
    from: t.field({ type: 'DateTime', description: 'Spans that started at or after this time.' }),
    to: t.field({ type: 'DateTime', description: 'Spans that started before this time.' }),
    traceId: t.globalID({ for: TraceRef, description: 'Spans of this trace of the project.' }),
    kind: t.field({ type: SpanKindEnum }),
    status: t.field({ type: SpanStatusEnum }),
    model: t.string({
      description:
        'Spans of this model, compared normalised (Span.normalizedModel): gpt-4o finds gpt-4o-2024-08-06 and azure/gpt-4o, not gpt-4o-mini.',
      validate: z.string().max(256),
    }),
    userId: t.string({ description: 'End user id.', validate: z.string().max(256) }),
  }),
});

builder.queryFields((t) => ({
  spans: t.connection(
    {
      type: SpanRef,
      description:
        'Spans of a project whose input or output contains a phrase, newest first (forward pagination: first/after). Reads the spans of the time range: give from/to on large projects.',
      extensions: { cost: PHRASE_SEARCH_COST },
      args: {
        projectId: t.arg.globalID({ required: true, for: ProjectRef }),
        filter: t.arg({ type: SpanFilter, required: true }),
      },
      authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
      resolve: async (_root, args, ctx, info) => {
        const projectId = args.projectId.id;
        if (args.last != null || args.before != null)
          throw badInput('spans pages forward only: use first and after.', ['last']);
        const after = args.after ? decodeCursor(args.after, 'time') : null;
        if (args.after && !after)
          throw badInput('`after` is not a cursor of this list.', ['after']);
        const traceId = args.filter.traceId?.id ?? null;
        if (traceId) {
          // Another project's trace answers as a missing one.
          const rows = await ctx.deps.db.query(
            'SELECT 1 FROM traces WHERE id = $1::uuid AND project_id = $2::uuid',
            [traceId, projectId],
          );
          if (!rows.length) throw notFound('Trace', ['filter', 'traceId']);
        }
        const selected = selectedFields(info);
        const fields = new Set(selected.get('Span'));
        // Tree fields link spans by their parent id (as loaders.ts reads them).
        if (fields.has('parent') || fields.has('children')) fields.add('parentExternalId');
        const limit = pageSize(args);
        const rows = await searchSpans(ctx.deps.db.query, {
          projectId,
          filter: { ...args.filter, traceId },
          after,
          limit,
          fields,
        });
        return keysetPage(rows, limit, after !== null, (row) => encodeCursor(row.sortKey, row.id));
      },
    },
    { name: 'SpanConnection' },
    { name: 'SpanEdge' },
  ),
}));
