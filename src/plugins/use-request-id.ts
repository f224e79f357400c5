import { randomUUID } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';

const ids = new WeakMap<Request, string>();

/** The request's id: the caller's `x-request-id` (if sane) or a new one. */
export function requestIdOf(request: Request): string {
  let id = ids.get(request);
  if (!id) {
    const given = request.headers.get('x-request-id');
    id = given && /^[\w.:-]{1,100}$/.test(given) ? given : randomUUID();
    ids.set(request, id);
  }
  return id;
}

/** Echoes the request id in `x-request-id`, so a user can quote it and we can find the logs. */
export function useRequestId(): Plugin {
  return {
    onResponse({ request, response }) {
      response.headers.set('x-request-id', requestIdOf(request));
    },
  };
}
