// The event catalogue: every event Evalgraph announces, declared once. An entry says what the
// event means, how its payload `data` is built from the state that changed (one builder: webhook
// receivers get it in the signed body, subscribers and listeners in the pub/sub message), and
// where it goes: to the webhook outbox (the project's endpoints subscribed to it, or those named
// when it is emitted), to pub/sub topics (GraphQL subscriptions, other processes), or both.
// `WEBHOOK_EVENTS`, the `EvaluationEventType` enum and the texts that list event names derive
// from it. Events are emitted in the transaction of their change (emitter.ts); no database
// trigger builds any.
//
// Adding an event: an entry here, an `emit` where its state changes, a test that a receiver (or a
// subscriber) gets it.
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { AlertNotification } from '../alerts/events';
import { scoreData } from '../scores/events';
import type { ScoreRow } from '../scores/repo';
import {
  FINAL_STATUSES,
  passRate,
  percentDone,
  type EvaluationState,
} from '../evaluations/summaries';

/** pub/sub topics, and who listens to them. */
export const topics = {
  /** One evaluation's events: its `evaluationProgress` watchers. */
  evaluation: (id: string) => `evaluation:${id}`,
  /** A project's evaluation events: `evaluationEvents`. */
  projectEvaluations: (projectId: string) => `project:${projectId}:evaluations`,
  /** Work to do: the evaluation workers of every process wake up. */
  evaluationWork: 'evaluations:work',
  /** Any evaluation change: cached responses showing it are dropped. */
  evaluationsChanged: 'evaluations:changed',
  /** An item changed without an event (put back to be tried again): `{ evaluationId }`; cached responses showing its evaluation are dropped. */
  evaluationItemsChanged: 'evaluation-items:changed',
  /** A project's alert state changes: `alertFired`. */
  projectAlerts: (projectId: string) => `project:${projectId}:alerts`,
  /** A project's new scores, a list per transaction (`together`): `scoreCreated`. */
  projectScores: (projectId: string) => `project:${projectId}:scores`,
  /** A project's online evaluation rules changed: every process drops its cached rules of it. */
  evaluationRulesChanged: 'evaluation-rules:changed',
  /** Sampled traces queued due at once (a backfill): the online evaluation workers wake up. */
  onlineEvaluationWork: 'online-evaluations:work',
  /** Outbox rows were written (or requeued): the webhook workers of every process wake up. */
  webhookWork: 'webhooks:work',
  /**
   * An endpoint was changed (URL, enabled, events, secrets) or deleted: `{ endpointId }`. Webhook
   * workers hand back, unsent, what they claimed of it before (claimed ahead of its cap with the
   * old row), to be claimed again with what holds now.
   */
  webhookEndpointChanged: 'webhook-endpoints:changed',
  /** A key was revoked (`{ keyId }`): its open subscriptions end, its sockets close. */
  keyRevoked: 'auth:revoked',
  /** A user's access changed (`{ userId }`): membership, role, tier or limits. */
  accessChanged: 'auth:access-changed',
  /**
   * A project was deleted (`{ projectId }`): instance admins' requests find it no more, and webhook
   * workers hand back, unsent, what they claimed of it.
   */
  projectDeleted: 'auth:project-deleted',
  /** A data job was handed to the workers (lifecycle/data-jobs.ts): the data job workers wake up. */
  dataJobWork: 'data-jobs:work',
};

/**
 * evaluation.progress is the one throttled event, and here is how often it goes out:
 * - on pub/sub (`evaluationEvents`, listeners of other processes): at most once per `publishMs`
 *   per evaluation from each emitting process; the latest always follows, none after the end.
 * - to webhooks: at most once per endpoint's `progressIntervalSeconds` (`webhookIntervalSeconds`
 *   unless set) per evaluation, whichever process emits it: the last time sent is kept per
 *   endpoint and evaluation in webhook_progress_marks, written with the message. A progress
 *   emitted in the transaction that ends its evaluation is not sent (the final event is).
 * - to `evaluationProgress` watchers: that subscription re-reads the evaluation when told, at most
 *   once per EVALGRAPH_PROGRESS_INTERVAL_MS (default 250 ms; evaluations/progress.ts).
 * In-process listeners hear every progress, one per item written.
 */
export const PROGRESS = { publishMs: 100, webhookIntervalSeconds: 5 } as const;

interface EventSpec<S, D> {
  /** What it means (shown in the GraphQL schema where the event is listed). */
  description: string;
  /** Raw ids: the project (outbox rows, topics) and what the event is about (throttling, listeners). */
  ids(subject: S): { projectId: string; subjectId: string };
  /** The payload's `data`, built from the state as the change left it. */
  data(subject: S): D;
  /** Written to the webhook outbox. */
  webhooks: boolean;
  /**
   * Sent only to endpoints that name it (it can be frequent): an endpoint created without an
   * events list does not get it (DEFAULT_WEBHOOK_EVENTS).
   */
  optIn?: boolean;
  /** Published after the commit on these topics (none: not published). */
  topics(subject: S): string[];
  /**
   * Frequent and emitted many at a time: the events of one transaction go out on each topic as
   * one message, the list of them, and only while someone listens (in-process listeners still hear
   * each one). The payload is built when first read: the subject must not change once emitted.
   */
  together?: boolean;
  /** Sent no more often than PROGRESS says. */
  throttled?: boolean;
  /** The last event of its subject: a throttled one still waiting is dropped. */
  final?: boolean;
}

const define = <S, D extends object>(spec: EventSpec<S, D>) => spec;
const iso = (at: Date | null) => (at ? at.toISOString() : null);

/** The evaluation as webhooks show it (no judge spending: that needs the costs role), in the API's terms. */
function evaluationData(e: EvaluationState) {
  return {
    id: encodeGlobalID('Evaluation', e.id),
    projectId: encodeGlobalID('Project', e.projectId),
    batchId: e.batchId === null ? null : encodeGlobalID('EvaluationBatch', e.batchId),
    name: e.name,
    status: e.status,
    resultCounts: {
      total: e.total,
      completed: e.completed,
      passed: e.passed,
      failed: e.failed,
      errored: e.errored,
      skipped: e.skipped,
    },
    percentDone: percentDone(e.total, e.completed, e.skipped),
    error: e.error,
    errorCode: e.errorCode,
    createdAt: iso(e.createdAt),
    startedAt: iso(e.startedAt),
    finishedAt: iso(e.finishedAt),
    // Once it has ended: `perTestingCriteriaResults` as `Evaluation` shows it.
    ...(FINAL_STATUSES.has(e.status) && e.graders
      ? { perTestingCriteriaResults: e.graders.map((g) => ({ ...g, passRate: passRate(g) })) }
      : {}),
  };
}

export type EvaluationData = ReturnType<typeof evaluationData>;

const evaluation = (
  description: string,
  options: { work?: boolean; throttled?: boolean; final?: boolean } = {},
) =>
  define({
    description,
    ids: (e: EvaluationState) => ({ projectId: e.projectId, subjectId: e.id }),
    data: evaluationData,
    webhooks: true,
    topics: (e) => [
      topics.evaluation(e.id),
      topics.projectEvaluations(e.projectId),
      ...(options.work ? [topics.evaluationWork] : []),
      topics.evaluationsChanged,
    ],
    throttled: options.throttled,
    final: options.final,
  });

/** A batch whose last evaluation ended. */
export interface BatchState {
  id: string;
  projectId: string;
  name: string;
  /** In id order. */
  evaluations: { id: string; name: string; status: string }[];
}

/** Raw ids; the payload says what the test is (sendTestWebhook). */
export interface TestSubject {
  endpointId: string;
  projectId: string;
}

const alert = (description: string) =>
  define({
    description,
    ids: (n: AlertNotification) => ({ projectId: n.projectId, subjectId: n.eventId }),
    data: ({ eventId, ...rest }: AlertNotification) => ({
      ...rest,
      id: encodeGlobalID('AlertEvent', eventId),
      ruleId: encodeGlobalID('AlertRule', rest.ruleId),
      projectId: encodeGlobalID('Project', rest.projectId),
    }),
    webhooks: true,
    topics: (n) => [topics.projectAlerts(n.projectId)],
  });

export const CATALOGUE = {
  'evaluation.created': evaluation('An evaluation was created (QUEUED).', { work: true }),
  'evaluation.started': evaluation(
    'An evaluation started running (again, after rerunEvaluation).',
    { work: true },
  ),
  'evaluation.progress': evaluation('Items of a running evaluation were graded (throttled).', {
    throttled: true,
  }),
  'evaluation.completed': evaluation('Every item of an evaluation was graded.', { final: true }),
  'evaluation.failed': evaluation('An evaluation stopped on an error (errorCode says which).', {
    final: true,
  }),
  'evaluation.canceled': evaluation('An evaluation was canceled.', { final: true }),
  'batch.completed': define({
    description: 'The last evaluation of a batch ended.',
    ids: (b: BatchState) => ({ projectId: b.projectId, subjectId: b.id }),
    data: (b) => ({
      id: encodeGlobalID('EvaluationBatch', b.id),
      projectId: encodeGlobalID('Project', b.projectId),
      name: b.name,
      evaluations: b.evaluations.map((e) => ({
        id: encodeGlobalID('Evaluation', e.id),
        name: e.name,
        status: e.status,
      })),
    }),
    webhooks: true,
    topics: () => [],
  }),
  'alert.fired': alert('An alert rule went to WARNING or FIRING.'),
  'alert.resolved': alert('An alert rule resolved (or went back to OK).'),
  'score.created': define({
    description:
      'A score was created (resending a score with its clientId updates it and announces nothing). Opt-in: only to endpoints that list it.',
    ids: (s: ScoreRow) => ({ projectId: s.projectId, subjectId: s.id }),
    data: scoreData,
    webhooks: true,
    optIn: true,
    together: true,
    topics: (s) => [topics.projectScores(s.projectId)],
  }),
  'webhook.test': define({
    description: 'A test message, to one endpoint (sendTestWebhook).',
    ids: (t: TestSubject) => ({ projectId: t.projectId, subjectId: t.endpointId }),
    data: (t) => ({
      endpointId: encodeGlobalID('WebhookEndpoint', t.endpointId),
      projectId: encodeGlobalID('Project', t.projectId),
      message: 'A test message from Evalgraph.',
    }),
    webhooks: true,
    topics: () => [],
  }),
};

export type EventName = keyof typeof CATALOGUE;
export type SubjectOf<E extends EventName> = Parameters<(typeof CATALOGUE)[E]['data']>[0];
export type DataOf<E extends EventName> = ReturnType<(typeof CATALOGUE)[E]['data']>;

export const EVENT_NAMES = Object.keys(CATALOGUE) as EventName[];
/** What a webhook endpoint may subscribe to. */
export const WEBHOOK_EVENTS = EVENT_NAMES.filter((name) => CATALOGUE[name].webhooks);
/** What an endpoint created without an events list subscribes to: every webhook event but the opt-in ones. */
export const DEFAULT_WEBHOOK_EVENTS = WEBHOOK_EVENTS.filter(
  (name) => !(CATALOGUE[name] as { optIn?: boolean }).optIn,
);

export type EvaluationEventName = Extract<EventName, `evaluation.${string}`>;
export const EVALUATION_EVENTS = EVENT_NAMES.filter((name): name is EvaluationEventName =>
  name.startsWith('evaluation.'),
);
export const FINAL_EVENTS: ReadonlySet<EventName> = new Set(
  EVENT_NAMES.filter((name) => CATALOGUE[name].final),
);

/** An event as listeners and pub/sub subscribers get it. */
export interface EventMessage<E extends EventName = EventName> {
  type: E;
  /** ISO 8601: when it was written (the webhook's `timestamp`). */
  at: string;
  /** Raw id of its project. */
  projectId: string;
  /** Raw id of what it is about (an evaluation, a batch, an alert event, an endpoint). */
  subjectId: string;
  data: DataOf<E>;
}

/** The webhook body, as signed and sent. */
export const webhookBody = (message: EventMessage) => ({
  type: message.type,
  timestamp: message.at,
  data: message.data,
});
