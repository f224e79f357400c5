// The one way events go out. `transaction(fn)` runs `fn` in one database transaction with an
// `emit` that builds each event's message with its catalogue entry; before the commit, one
// statement writes the webhook outbox rows of them all; after it, listeners in this process hear
// them, pub/sub carries them to the subscriptions of every process, and webhook workers wake. A
// change that rolls back announces nothing; one that commits has its webhooks in the outbox (the
// workers deliver them at least once), while pub/sub stays best effort (subscribers re-read state).
import { v7 as uuidv7 } from 'uuid';
import type { Deps } from '../../deps';
import type { Sql } from '../../storage/db';
import { jsonParam } from '../../storage/json-param';
import {
  CATALOGUE,
  PROGRESS,
  topics,
  webhookBody,
  type EventMessage,
  type EventName,
  type SubjectOf,
} from './catalogue';
import { optedIn, optInKey, writeOutbox, type OutboxRow } from './outbox-sql';

export interface Emitted {
  /** The `webhook-id` of its outbox message. */
  messageId: string;
  /** Set at the commit: whether any endpoint is to receive it. */
  written: boolean;
}

export interface EmitOptions {
  /** Send the webhook to these endpoints (that are enabled) rather than to those subscribed to the event. */
  endpoints?: string[] | null;
  /** Alert channels of the event's project to receive it too (a delivery each, formatted for its type). */
  channels?: string[] | null;
}

export type Emit = <E extends EventName>(
  type: E,
  subject: SubjectOf<E>,
  options?: EmitOptions,
) => Emitted;

interface Pending {
  message: EventMessage;
  topics: string[];
  endpoints: string[] | null;
  channels: string[] | null;
  emitted: Emitted;
}

// One ISO text per millisecond: a transaction emitting a thousand events formats its time once.
let lastStamp = { ms: 0, iso: '' };
function stamp(): string {
  const ms = Date.now();
  if (ms !== lastStamp.ms) lastStamp = { ms, iso: new Date(ms).toISOString() };
  return lastStamp.iso;
}

export function createEvents(deps: Pick<Deps, 'db' | 'pubsub' | 'log'>) {
  const listeners = new Set<(message: EventMessage) => void>();
  // Throttled events, per subject: when one was last published, and the latest waiting.
  const throttled = new Map<
    string,
    { at: number; timer: NodeJS.Timeout | null; latest: Pending | null }
  >();

  function publish(p: Pending) {
    for (const topic of p.topics) deps.pubsub.publish(topic, p.message);
  }

  function publishThrottled(p: Pending) {
    // Subjects that ended in another process (a cancel in an API process) leave idle entries here.
    if (throttled.size > 1_000)
      for (const [id, e] of throttled)
        if (!e.timer && Date.now() - e.at > PROGRESS.publishMs) throttled.delete(id);
    const entry = throttled.get(p.message.subjectId) ?? { at: 0, timer: null, latest: null };
    throttled.set(p.message.subjectId, entry);
    entry.latest = p;
    if (entry.timer) return; // the trailing publish carries the latest
    const wait = entry.at + PROGRESS.publishMs - Date.now();
    if (wait <= 0) {
      entry.at = Date.now();
      return publish(p);
    }
    entry.timer = setTimeout(() => {
      entry.timer = null;
      entry.at = Date.now();
      if (entry.latest) publish(entry.latest);
    }, wait);
    entry.timer.unref();
  }

  /** After the commit, in the order emitted. */
  function announce(pending: Pending[]) {
    const together = new Map<string, EventMessage[]>();
    for (const p of pending) {
      for (const listener of listeners) {
        try {
          listener(p.message);
        } catch (error) {
          // A failing listener must not stop the others, nor the change that was committed.
          deps.log.error({ err: error, event: p.message.type }, 'event listener failed');
        }
      }
      const spec = CATALOGUE[p.message.type] as (typeof CATALOGUE)[EventName] & {
        together?: boolean;
      };
      if (!p.topics.length) continue;
      if (spec.together) {
        for (const topic of p.topics) {
          const list = together.get(topic);
          if (list) list.push(p.message);
          else together.set(topic, [p.message]);
        }
        continue;
      }
      if (spec.throttled) {
        publishThrottled(p);
        continue;
      }
      if (spec.final) {
        // Nothing throttled goes out after the end.
        const entry = throttled.get(p.message.subjectId);
        if (entry?.timer) clearTimeout(entry.timer);
        throttled.delete(p.message.subjectId);
      }
      publish(p);
    }
    // Published only while someone listens (usually nobody): a thousand scores make a large message.
    for (const [topic, messages] of together)
      void deps.pubsub.listened(topic).then((yes) => {
        if (yes) deps.pubsub.publish(topic, messages);
      });
    if (pending.some((p) => p.emitted.written)) deps.pubsub.publish(topics.webhookWork, {});
  }

  /** The outbox rows of what is to go to webhooks; a throttled event whose subject ended in the same transaction is not sent. */
  function outboxRows(pending: Pending[]): OutboxRow[] {
    const ended = new Set(
      pending.filter((p) => CATALOGUE[p.message.type].final).map((p) => p.message.subjectId),
    );
    const rows = new Map<string, OutboxRow>();
    for (const p of pending) {
      const spec = CATALOGUE[p.message.type];
      if (!spec.webhooks) continue;
      const { type, subjectId, projectId } = p.message;
      if (spec.throttled && ended.has(subjectId)) continue;
      const row = {
        id: p.emitted.messageId,
        projectId,
        eventType: type,
        body: jsonParam(webhookBody(p.message)),
        at: new Date(p.message.at),
        endpoints: p.endpoints,
        channels: p.channels,
        progressOf: spec.throttled ? subjectId : null,
        subjectId,
      };
      // Of throttled events of one subject, only the latest of the transaction.
      rows.set(spec.throttled ? `${type}:${subjectId}` : row.id, row);
    }
    return [...rows.values()];
  }

  /** The events, less those of opt-in events that no endpoint of their project lists. */
  async function withRecipients(sql: Sql, pending: Pending[]): Promise<Pending[]> {
    const optIn = pending.filter(
      (p) => p.endpoints === null && (CATALOGUE[p.message.type] as { optIn?: boolean }).optIn,
    );
    if (!optIn.length) return pending;
    const wanted = await optedIn(
      sql,
      [...new Set(optIn.map((p) => p.message.projectId))],
      [...new Set(optIn.map((p) => p.message.type))],
    );
    const dropped = new Set(
      optIn.filter((p) => !wanted.has(optInKey(p.message.projectId, p.message.type))),
    );
    return dropped.size ? pending.filter((p) => !dropped.has(p)) : pending;
  }

  return {
    /**
     * Runs `fn` in one transaction; what it emits is written to the outbox before the commit and
     * announced after it. Emit the event where the state changes, with the state as changed.
     */
    async transaction<T>(fn: (sql: Sql, emit: Emit) => Promise<T>): Promise<T> {
      const pending: Pending[] = [];
      let open = true;
      const emit: Emit = (type, subject, options = {}) => {
        if (!open) throw new Error(`${type} emitted after its transaction ended`);
        const spec = CATALOGUE[type] as unknown as {
          ids(s: unknown): { projectId: string; subjectId: string };
          data(s: unknown): EventMessage['data'];
          topics(s: unknown): string[];
          together?: boolean;
        };
        // The outbox's own clock (as receivers always had it), not deps.clock, which tests move:
        // two changes at one business instant are still stamped in the order they were written.
        const { projectId, subjectId } = spec.ids(subject);
        const at = stamp();
        // Events emitted many at a time build their payload when it is first read (most go to no
        // endpoint and no subscriber); their subjects are fresh rows that nothing changes later.
        // (A getter in the literal: it stays enumerable, so the payload is in the JSON.)
        let data: EventMessage['data'] | undefined;
        const message = (
          spec.together
            ? {
                type,
                at,
                projectId,
                subjectId,
                get data() {
                  data ??= spec.data(subject);
                  return data;
                },
              }
            : { type, at, projectId, subjectId, data: spec.data(subject) }
        ) as EventMessage;
        // Its webhook-id is made when first asked for: most frequent events go to no endpoint.
        let messageId: string | undefined;
        const emitted: Emitted = {
          get messageId() {
            messageId ??= `msg_${uuidv7().replace(/-/g, '')}`;
            return messageId;
          },
          written: false,
        };
        pending.push({
          message,
          topics: spec.topics(subject),
          endpoints: options.endpoints ?? null,
          channels: options.channels?.length ? options.channels : null,
          emitted,
        });
        return emitted;
      };
      const result = await deps.db.transaction(async (sql) => {
        try {
          const value = await fn(sql, emit);
          const written = await writeOutbox(sql, outboxRows(await withRecipients(sql, pending)));
          // Asking for a message id makes one: only when some were written.
          if (written.size)
            for (const p of pending) p.emitted.written = written.has(p.emitted.messageId);
          return value;
        } finally {
          open = false;
        }
      });
      announce(pending);
      return result;
    },

    /** Hears every event emitted in this process, after its commit; returns the unsubscribe function. */
    listen(listener: (message: EventMessage) => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}

export type Events = ReturnType<typeof createEvents>;
