// What an alert state change announces: `alert.fired` or `alert.resolved` (events/catalogue.ts
// builds the payload), to the rule's channels or to every endpoint subscribed, and to `alertFired`
// subscribers. The alert rules engine emits it in the transaction that records the change.
import { decodeGlobalID } from '@pothos/plugin-relay';
import type { AlertGroupBy, AlertMetric, AlertSeverity } from '../../generated/prisma/enums';
import type { Baseline } from './anomaly';
import type { EventMessage } from '../events/catalogue';
import type { Emit } from '../events/emitter';

export type AlertState = 'OK' | 'WARNING' | 'FIRING' | 'RESOLVED';

export interface AlertNotification {
  /** Raw id of the alert event (the state change). */
  eventId: string;
  /** Raw id of the alert rule. */
  ruleId: string;
  ruleName: string;
  metric: AlertMetric;
  /** The rule's severity (absent from events recorded before rules had one). */
  severity?: AlertSeverity;
  projectId: string;
  fromState: AlertState;
  state: AlertState;
  value: number | null;
  /** The threshold crossed; for ANOMALY the baseline's bound on the value's side (null without a baseline). */
  threshold: number | null;
  windowSeconds: number;
  /** The group of a grouped rule whose state changed; null for an ungrouped rule. */
  group?: { by: AlertGroupBy; value: string } | null;
  /** ANOMALY: what the value was compared with (null: too little history); null for other rules. */
  baseline?: Baseline | null;
  /** Samples in the window. */
  samples?: number;
  /** false: recorded, but held back by the rule's cooldown (never published). */
  notified?: boolean;
  /** Why the state changed when no measurement moved it (the rule was disabled). */
  reason?: string | null;
  /** ISO 8601. */
  at: string;
}

/**
 * Emits the change: to `endpointIds`, or to every endpoint of the project subscribed to the event;
 * and to the alert channels `channelIds` (Slack, PagerDuty, email) of the rule.
 */
export function emitAlert(
  emit: Emit,
  notification: AlertNotification,
  endpointIds: string[] | null = null,
  channelIds: string[] = [],
) {
  const type =
    notification.state === 'RESOLVED' || notification.state === 'OK'
      ? 'alert.resolved'
      : 'alert.fired';
  return emit(type, notification, { endpoints: endpointIds, channels: channelIds });
}

/** The notification an `alertFired` subscriber's message carries (its payload has the API's global ids). */
export function notificationOf(
  message: EventMessage<'alert.fired' | 'alert.resolved'>,
): AlertNotification {
  const { id: _id, ruleId, projectId: _projectId, ...rest } = message.data;
  return {
    ...rest,
    eventId: message.subjectId,
    ruleId: decodeGlobalID(ruleId).id,
    projectId: message.projectId,
  };
}
