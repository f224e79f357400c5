// Alert notifications on pub/sub, for `alertFired(projectId)` subscribers in every process. The
// alert rules engine (rules, scheduler, history) calls `fire`; this is its one way out.
import type { PubSub } from '../../storage/pubsub';

export type AlertState = 'OK' | 'WARNING' | 'FIRING' | 'RESOLVED';

export interface AlertNotification {
  /** Raw id of the alert rule. */
  ruleId: string;
  ruleName: string;
  projectId: string;
  state: AlertState;
  value: number | null;
  threshold: number;
  windowSeconds: number;
  /** ISO 8601. */
  at: string;
}

export const alertTopic = (projectId: string) => `project:${projectId}:alerts`;

export function createAlertEvents(pubsub: PubSub) {
  return {
    fire(notification: AlertNotification) {
      pubsub.publish(alertTopic(notification.projectId), notification);
    },
  };
}

export type AlertEvents = ReturnType<typeof createAlertEvents>;
