// The one place evaluation state changes are announced. Subscriptions and webhooks (issue 6)
// listen here; today the listeners are in-process.
export type EvaluationEventType = 'evaluation.created' | 'evaluation.started' | 'evaluation.progress' | 'evaluation.completed' | 'evaluation.failed' | 'evaluation.canceled';

export interface EvaluationEvent {
  type: EvaluationEventType;
  evaluationId: string;
  projectId: string;
  at: Date;
}

export function createEvaluationEvents() {
  const listeners = new Set<(event: EvaluationEvent) => void>();
  return {
    emit(type: EvaluationEventType, evaluationId: string, projectId: string) {
      const event = { type, evaluationId, projectId, at: new Date() };
      for (const listener of listeners) {
        try {
          listener(event);
        } catch {
          // a failing listener must not stop the engine or the other listeners
        }
      }
    },
    /** Returns the unsubscribe function. */
    listen(listener: (event: EvaluationEvent) => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}

export type EvaluationEvents = ReturnType<typeof createEvaluationEvents>;
