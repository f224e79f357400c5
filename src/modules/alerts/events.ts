// How alert state changes go out: `alert.fired` / `alert.resolved` webhooks (written to the
// outbox) and `alertFired(projectId)` subscribers (pub/sub). The alert rules engine (rules,
// scheduler, history) goes through here; it is its one way out.
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { Deps } from '../../deps';
import type { AlertMetric } from '../../generated/prisma/enums';
import type { Sql } from '../../storage/db';
import { enqueueWebhook, WORK_TOPIC } from '../webhooks/service';

export type AlertState = 'OK' | 'WARNING' | 'FIRING' | 'RESOLVED';

export interface AlertNotification {
  /** Raw id of the alert event (the state change). */
  eventId: string;
  /** Raw id of the alert rule. */
  ruleId: string;
  ruleName: string;
  metric: AlertMetric;
  projectId: string;
  fromState: AlertState;
  state: AlertState;
  value: number | null;
  threshold: number;
  windowSeconds: number;
  /** Samples in the window. */
  samples?: number;
  /** false: recorded, but held back by the rule's cooldown (never published). */
  notified?: boolean;
  /** Why the state changed when no measurement moved it (the rule was disabled). */
  reason?: string | null;
  /** ISO 8601. */
  at: string;
}

export const alertTopic = (projectId: string) => `project:${projectId}:alerts`;

export function createAlertEvents(deps: Deps) {
  /** Writes the `alert.fired` / `alert.resolved` message, in the transaction that records the change. */
  const enqueue = (sql: Sql, notification: AlertNotification, endpointIds: string[] | null = null) => {
    const event = notification.state === 'RESOLVED' || notification.state === 'OK' ? 'alert.resolved' : 'alert.fired';
    const { eventId, ...rest } = notification;
    const data = { ...rest, id: encodeGlobalID('AlertEvent', eventId), ruleId: encodeGlobalID('AlertRule', notification.ruleId), projectId: encodeGlobalID('Project', notification.projectId) };
    return enqueueWebhook(sql, notification.projectId, event, data, endpointIds);
  };
  /** After the commit: subscribers hear it, webhook workers wake. */
  const announce = (notification: AlertNotification) => {
    deps.pubsub.publish(alertTopic(notification.projectId), notification);
    deps.pubsub.publish(WORK_TOPIC, {});
  };
  return {
    enqueue,
    announce,
    /** Both, for a change with no transaction of its own: to `endpointIds`, or to every endpoint of the project subscribed to the event. */
    async fire(notification: AlertNotification, endpointIds: string[] | null = null) {
      await deps.db.transaction((sql) => enqueue(sql, notification, endpointIds));
      announce(notification);
    },
  };
}

export type AlertEvents = ReturnType<typeof createAlertEvents>;
