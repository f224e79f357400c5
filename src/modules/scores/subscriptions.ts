// `scoreCreated(projectId, filter)`: a project's new scores as they are written, by any writer
// (the API, evaluations, online rules), over every transport. Read-scoped like the queries.
import { boundedQueue } from '../../lib/channel';
import { builder } from '../../schema/builder';
import { topics, type EventMessage } from '../events/catalogue';
import { ProjectRef } from '../projects/schema';
import { scoreOf } from './events';
import { ScoreRef, ScoreSourceEnum } from './schema';

type ScoreCreated = EventMessage<'score.created'>;

const ScoreCreatedFilter = builder.inputType('ScoreCreatedFilter', {
  description: 'All given conditions must hold.',
  fields: (t) => ({
    name: t.string(),
    source: t.field({ type: ScoreSourceEnum }),
  }),
});

builder.subscriptionField('scoreCreated', (t) =>
  t.field({
    type: ScoreRef,
    description:
      "The project's new scores, as they are written (not those updated through their clientId). A reader that falls behind keeps the latest 1,000.",
    args: {
      projectId: t.arg.globalID({ required: true, for: ProjectRef }),
      filter: t.arg({ type: ScoreCreatedFilter }),
    },
    authScopes: (_root, args) => ({ project: { id: args.projectId.id, action: 'read' } }),
    subscribe: (_root, args, ctx) => {
      const name = args.filter?.name ?? null;
      const source = args.filter?.source ?? null;
      // The topic carries each transaction's new scores as one list.
      return ctx.services.subscriptions.topic<ScoreCreated, ScoreCreated[]>(
        ctx,
        args.projectId.id,
        topics.projectScores(args.projectId.id),
        boundedQueue(1_000),
        (messages) =>
          messages.filter(
            ({ data }) =>
              (name === null || data.name === name) && (source === null || data.source === source),
          ),
      );
    },
    resolve: (message) => scoreOf(message),
  }),
);
