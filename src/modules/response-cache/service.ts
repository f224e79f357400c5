// Keeps cached responses honest. A response is tagged with every entity in it (by the envelop
// plugin) and with the projects whose data it read (`ProjectData:<id>`, from the auth checks).
// Any successful mutation drops the responses of the projects it touched (and of the entities it
// returned); OTLP ingestion drops its project's; an evaluation's progress drops the responses
// that contain it, and its start and end drop its project's (lists filtered by status).
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { Deps } from '../../deps';
import type { ResponseStore } from '../../storage/response-cache';
import { topics, type EventMessage } from '../events/catalogue';

export const projectTag = (projectId: string) => `ProjectData:${projectId}`;
/** Responses over every project (an instance admin's costs without a project). */
export const ALL_PROJECTS = '*';

export function createResponseCacheService(deps: Deps, store: ResponseStore) {
  const off = deps.config.responseCache.enabled
    ? deps.pubsub.listen<EventMessage>(topics.evaluationsChanged, (event) => {
        const tags = [`Evaluation:${encodeGlobalID('Evaluation', event.subjectId)}`];
        if (event.type !== 'evaluation.progress')
          tags.push(projectTag(event.projectId), projectTag(ALL_PROJECTS));
        void store.invalidate(tags);
      })
    : () => {};
  return {
    store,
    /** Drops every cached response that read these projects' data. */
    invalidateProjects: async (projectIds: Iterable<string>) => {
      const ids = [...projectIds];
      if (ids.length) await store.invalidate([...ids.map(projectTag), projectTag(ALL_PROJECTS)]);
    },
    close: off,
  };
}

export type ResponseCacheService = ReturnType<typeof createResponseCacheService>;
