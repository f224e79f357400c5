// The one place evaluation state changes are announced. In-process listeners hear every event at
// once; other processes (subscriptions on any API instance, workers waiting for work) hear them
// through pub/sub on `evaluation:<id>`, `project:<id>:evaluations` and `evaluations:work`.
// Progress is published at most once per PROGRESS_PUBLISH_MS per evaluation (the last one is
// always sent), so a fast evaluation does not flood Redis with one message per item.
import type { PubSub } from '../../storage/pubsub';

export type EvaluationEventType = 'evaluation.created' | 'evaluation.started' | 'evaluation.progress' | 'evaluation.completed' | 'evaluation.failed' | 'evaluation.canceled';

export const FINAL_EVENTS: ReadonlySet<EvaluationEventType> = new Set(['evaluation.completed', 'evaluation.failed', 'evaluation.canceled']);

export interface EvaluationEvent {
  type: EvaluationEventType;
  evaluationId: string;
  projectId: string;
  /** ISO 8601. */
  at: string;
}

export const topics = {
  evaluation: (id: string) => `evaluation:${id}`,
  project: (projectId: string) => `project:${projectId}:evaluations`,
  /** Work to do: workers of every process wake up. */
  work: 'evaluations:work',
  /** Any change (webhook workers wake: the change wrote its outbox messages). */
  changed: 'evaluations:changed',
};

const PROGRESS_PUBLISH_MS = 100;

export function createEvaluationEvents(pubsub: PubSub) {
  const listeners = new Set<(event: EvaluationEvent) => void>();
  // Per evaluation: when progress was last published, and a trailing publish waiting.
  const progress = new Map<string, { at: number; timer: NodeJS.Timeout | null }>();

  function publish(event: EvaluationEvent) {
    pubsub.publish(topics.evaluation(event.evaluationId), event);
    pubsub.publish(topics.project(event.projectId), event);
    if (event.type === 'evaluation.created' || event.type === 'evaluation.started') pubsub.publish(topics.work, event);
    pubsub.publish(topics.changed, event);
  }

  function publishProgress(event: EvaluationEvent) {
    // Evaluations that ended elsewhere (a cancel in an API process) leave idle entries here.
    if (progress.size > 1_000) for (const [id, e] of progress) if (!e.timer && Date.now() - e.at > PROGRESS_PUBLISH_MS) progress.delete(id);
    const entry = progress.get(event.evaluationId) ?? { at: 0, timer: null };
    progress.set(event.evaluationId, entry);
    if (entry.timer) return; // the trailing publish will carry it
    const wait = entry.at + PROGRESS_PUBLISH_MS - Date.now();
    if (wait <= 0) {
      entry.at = Date.now();
      publish(event);
      return;
    }
    entry.timer = setTimeout(() => {
      entry.timer = null;
      entry.at = Date.now();
      publish({ ...event, at: new Date().toISOString() });
    }, wait);
    entry.timer.unref();
  }

  return {
    emit(type: EvaluationEventType, evaluationId: string, projectId: string) {
      const event: EvaluationEvent = { type, evaluationId, projectId, at: new Date().toISOString() };
      for (const listener of listeners) {
        try {
          listener(event);
        } catch {
          // a failing listener must not stop the engine or the other listeners
        }
      }
      if (type === 'evaluation.progress') return publishProgress(event);
      if (FINAL_EVENTS.has(type)) {
        // No progress after the end.
        const entry = progress.get(evaluationId);
        if (entry?.timer) clearTimeout(entry.timer);
        progress.delete(evaluationId);
      }
      publish(event);
    },
    /** In-process listener of every event; returns the unsubscribe function. */
    listen(listener: (event: EvaluationEvent) => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}

export type EvaluationEvents = ReturnType<typeof createEvaluationEvents>;
