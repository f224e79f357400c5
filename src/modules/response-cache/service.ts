// Keeps cached responses honest. A response is tagged with every entity in it (by the envelop
// plugin) and with the projects whose data it read (`ProjectData:<id>`, from the auth checks).
// Any successful mutation drops the responses of the projects it touched (and of the entities it
// returned); OTLP ingestion drops its project's; an evaluation's progress drops the responses
// that contain it, and its start and end drop its project's (lists filtered by status), as does
// an item put back to be tried again (its state and lastError change without an event); scores
// written by any writer (workers included) drop their project's, once per transaction.
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { Deps } from '../../deps';
import type { ResponseStore } from '../../storage/response-cache';
import { topics, type EventMessage } from '../events/catalogue';
import type { Events } from '../events/emitter';

export const projectTag = (projectId: string) => `ProjectData:${projectId}`;
/** Responses over every project (an instance admin's costs without a project). */
export const ALL_PROJECTS = '*';

export function createResponseCacheService(deps: Deps, store: ResponseStore, events: Events) {
  const off = deps.config.responseCache.enabled
    ? deps.pubsub.listen<EventMessage>(topics.evaluationsChanged, (event) => {
        const tags = [`Evaluation:${encodeGlobalID('Evaluation', event.subjectId)}`];
        if (event.type !== 'evaluation.progress')
          tags.push(projectTag(event.projectId), projectTag(ALL_PROJECTS));
        void store.invalidate(tags);
      })
    : () => {};
  const offItems = deps.config.responseCache.enabled
    ? deps.pubsub.listen<{ evaluationId: string }>(topics.evaluationItemsChanged, (m) => {
        void store.invalidate([`Evaluation:${encodeGlobalID('Evaluation', m.evaluationId)}`]);
      })
    : () => {};
  // Listeners hear a transaction's events one after another, synchronously: its projects are
  // collected and dropped once, after the last.
  const stale = new Set<string>();
  const offScores = deps.config.responseCache.enabled
    ? events.listen((event) => {
        if (event.type !== 'score.created') return;
        if (!stale.size)
          queueMicrotask(() => {
            const ids = [...stale];
            stale.clear();
            store
              .invalidate([...ids.map(projectTag), projectTag(ALL_PROJECTS)])
              .catch((err) => deps.log.warn({ err }, 'could not drop cached answers of scores'));
          });
        stale.add(event.projectId);
      })
    : () => {};
  return {
    store,
    /** Drops every cached response that read these projects' data. */
    invalidateProjects: async (projectIds: Iterable<string>) => {
      const ids = [...projectIds];
      if (ids.length) await store.invalidate([...ids.map(projectTag), projectTag(ALL_PROJECTS)]);
    },
    close: () => {
      off();
      offItems();
      offScores();
    },
  };
}

export type ResponseCacheService = ReturnType<typeof createResponseCacheService>;
