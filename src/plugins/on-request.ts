import type { Plugin } from 'graphql-yoga';

export type OnRequestPayload = Parameters<NonNullable<Plugin['onRequest']>>[0];

/**
 * An `onRequest` hook that answers some requests only. Yoga runs the plugins' hooks in turn and waits
 * on each promise one returns: an `async` hook costs every request a promise and a turn of the
 * microtask queue, even the many it lets pass. This one is synchronous for those.
 */
export function answering(
  wants: (payload: OnRequestPayload) => boolean,
  answer: (payload: OnRequestPayload) => Promise<void>,
): NonNullable<Plugin['onRequest']> {
  return (payload) => (wants(payload) ? answer(payload) : undefined);
}
