// Publish/subscribe between processes: Redis channels (through @graphql-yoga/redis-event-target)
// when REDIS_URL is set, an in-process EventTarget otherwise. Messages are JSON and best effort:
// the database stays the source of truth, so a lost message delays, never loses, anything
// (subscribers re-read state; workers also poll).
import { setMaxListeners } from 'node:events';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Cluster, type Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisClient } from './redis';

export interface PubSub {
  publish(topic: string, payload: unknown): void;
  /**
   * Whether anyone, in any process, listens to `topic` now (Redis: PUBSUB NUMSUB, summed over a
   * cluster's nodes, as each counts only its own subscribers). Lets a
   * publisher of large, frequent messages skip building and sending them for nobody.
   */
  listened(topic: string): Promise<boolean>;
  /** Calls `listener` with each payload published on `topic`; returns the unsubscribe function. */
  listen<T = unknown>(topic: string, listener: (payload: T) => void): () => void;
  close(): Promise<void>;
}

type Target = Pick<EventTarget, 'addEventListener' | 'removeEventListener' | 'dispatchEvent'>;

function overTarget(
  target: Target,
  prefix: string,
  log: Logger,
  close: () => Promise<void>,
  listened: PubSub['listened'],
): PubSub {
  return {
    publish(topic, payload) {
      target.dispatchEvent(new CustomEvent(prefix + topic, { detail: payload }));
    },
    listened,
    listen(topic, listener) {
      const callback = (event: Event) => {
        try {
          listener((event as CustomEvent).detail);
        } catch (error) {
          // One failing listener must not stop the others (nor the publisher, in process).
          log.error({ err: error, topic }, 'pub/sub listener failed');
        }
      };
      target.addEventListener(prefix + topic, callback);
      return () => target.removeEventListener(prefix + topic, callback);
    },
    close,
  };
}

export function createMemoryPubSub(log: Logger): PubSub {
  const target = new EventTarget();
  // Any number of subscribers may listen to one topic.
  setMaxListeners(0, target);
  const counts = new Map<string, number>();
  const pubsub = overTarget(
    target,
    '',
    log,
    async () => {},
    async (topic) => !!counts.get(topic),
  );
  return {
    ...pubsub,
    listen(topic, listener) {
      counts.set(topic, (counts.get(topic) ?? 0) + 1);
      const off = pubsub.listen(topic, listener);
      let on = true;
      return () => {
        if (!on) return;
        on = false;
        off();
        const left = (counts.get(topic) ?? 1) - 1;
        if (left) counts.set(topic, left);
        else counts.delete(topic);
      };
    },
  };
}

/**
 * `publisher` is the shared fail-fast client (a publish while Redis is down is dropped and logged,
 * never queued); `subscriber` is a connection of its own in subscriber mode, which ioredis
 * re-subscribes after a reconnect.
 */
export function createRedisPubSub(
  publisher: RedisClient,
  subscriber: RedisClient,
  prefix: string,
  log: Logger,
): PubSub {
  const target = createRedisEventTarget({
    publishClient: {
      publish: (channel: string, message: string) =>
        publisher.publish(channel, message).catch((error: unknown) => {
          log.warn({ err: error, channel }, 'pub/sub publish failed (Redis unavailable?)');
          return 0;
        }),
    } as unknown as Redis, // only publish() is used by the event target
    // Its (un)subscribe commands wait for a reconnect; at shutdown they are dropped, not thrown.
    subscribeClient: {
      on: (event: string, fn: (channel: string, message: string) => void) =>
        subscriber.on(event, fn),
      subscribe: (channel: string) =>
        subscriber
          .subscribe(channel)
          .catch((error: unknown) =>
            log.debug({ err: error, channel }, 'pub/sub subscribe dropped'),
          ),
      unsubscribe: (channel: string) =>
        subscriber
          .unsubscribe(channel)
          .catch((error: unknown) =>
            log.debug({ err: error, channel }, 'pub/sub unsubscribe dropped'),
          ),
    } as unknown as Redis, // only on(), subscribe() and unsubscribe() are used by the event target
  });
  return overTarget(
    target,
    `${prefix}pubsub:`,
    log,
    async () => {
      subscriber.disconnect();
    },
    async (topic) => {
      // A cluster carries a classic PUBLISH to every node, and a subscriber may be on any of them
      // (replicas included).
      const nodes = publisher instanceof Cluster ? publisher.nodes('all') : [publisher];
      const counts = await Promise.all(
        nodes.map((node) =>
          node
            .pubsub('NUMSUB', `${prefix}pubsub:${topic}`)
            .then((reply) => Number((reply as [string, number])[1])),
        ),
      ).catch(() => null);
      // Unknown (Redis unavailable): publish anyway, as a publish that fails is only logged.
      return counts === null || nodes.length === 0 || counts.some((n) => n > 0);
    },
  );
}
