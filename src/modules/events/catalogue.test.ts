import { encodeGlobalID } from '@pothos/plugin-relay';
import type { EvaluationState } from '../evaluations/summaries';
import { scoreOf } from '../scores/events';
import type { ScoreRow } from '../scores/repo';
import {
  CATALOGUE,
  DEFAULT_WEBHOOK_EVENTS,
  FINAL_EVENTS,
  WEBHOOK_EVENTS,
  webhookBody,
} from './catalogue';

const running: EvaluationState = {
  id: '0190c7d4-0000-7000-8000-000000000001',
  projectId: '0190c7d4-0000-7000-8000-000000000002',
  batchId: null,
  name: 'nightly',
  status: 'RUNNING',
  total: 3,
  completed: 1,
  passed: 1,
  failed: 0,
  errored: 0,
  skipped: 0,
  judgeInputTokens: 120,
  judgeOutputTokens: 30,
  judgeCost: '0.0042',
  judgeUnpricedCalls: 0,
  error: null,
  errorCode: null,
  createdAt: new Date('2026-12-01T10:00:00.000Z'),
  startedAt: new Date('2026-12-01T10:00:01.5Z'),
  finishedAt: null,
  graders: null,
};

describe('evaluation payloads', () => {
  it('speak the API: global ids, ISO times with milliseconds, percentDone as a double', () => {
    expect(CATALOGUE['evaluation.progress'].data(running)).toEqual({
      id: encodeGlobalID('Evaluation', running.id),
      projectId: encodeGlobalID('Project', running.projectId),
      batchId: null,
      name: 'nightly',
      status: 'RUNNING',
      resultCounts: { total: 3, completed: 1, passed: 1, failed: 0, errored: 0, skipped: 0 },
      percentDone: 100 / 3,
      error: null,
      errorCode: null,
      createdAt: '2026-12-01T10:00:00.000Z',
      startedAt: '2026-12-01T10:00:01.500Z',
      finishedAt: null,
    });
  });

  it('carry perTestingCriteriaResults once ended, with null for what cannot be computed', () => {
    const graders = [
      { name: 'exact', type: 'STRING_CHECK', meanScore: 0.5, passed: 1, failed: 1, errored: 0 },
      { name: 'judge', type: 'SCORE_MODEL', meanScore: null, passed: 0, failed: 0, errored: 2 },
    ];
    const ended = {
      ...running,
      status: 'CANCELED' as const,
      total: 0,
      completed: 0,
      batchId: running.id,
      finishedAt: new Date('2026-12-01T10:00:02Z'),
      graders,
    };
    const data = CATALOGUE['evaluation.canceled'].data(ended);
    expect(data).toMatchObject({
      percentDone: 100,
      batchId: encodeGlobalID('EvaluationBatch', running.id),
      finishedAt: '2026-12-01T10:00:02.000Z',
    });
    expect(data.perTestingCriteriaResults).toEqual([
      { ...graders[0], passRate: 0.5 },
      { ...graders[1], passRate: null },
    ]);
  });
});

it('alert and test payloads use global ids; the body is type, timestamp and data', () => {
  const n = {
    eventId: running.id,
    ruleId: running.projectId,
    ruleName: 'p95',
    metric: 'LATENCY_MS' as const,
    projectId: running.projectId,
    fromState: 'OK' as const,
    state: 'FIRING' as const,
    value: 2.5,
    threshold: 2,
    windowSeconds: 60,
    at: '2026-12-01T10:00:00.000Z',
  };
  const data = CATALOGUE['alert.fired'].data(n);
  expect(data).toEqual({
    ...n,
    eventId: undefined,
    id: encodeGlobalID('AlertEvent', n.eventId),
    ruleId: encodeGlobalID('AlertRule', n.ruleId),
    projectId: encodeGlobalID('Project', n.projectId),
  });
  expect(data).not.toHaveProperty('eventId');
  const test = { endpointId: running.id, projectId: running.projectId };
  const message = {
    type: 'webhook.test' as const,
    at: n.at,
    ...CATALOGUE['webhook.test'].ids(test),
    data: CATALOGUE['webhook.test'].data(test),
  };
  expect(webhookBody(message)).toEqual({
    type: 'webhook.test',
    timestamp: n.at,
    data: {
      endpointId: encodeGlobalID('WebhookEndpoint', running.id),
      projectId: encodeGlobalID('Project', running.projectId),
      message: 'A test message from Evalgraph.',
    },
  });
});

it('names what webhooks take and what ends a subject', () => {
  expect(WEBHOOK_EVENTS).toEqual([
    'evaluation.created',
    'evaluation.started',
    'evaluation.progress',
    'evaluation.completed',
    'evaluation.failed',
    'evaluation.canceled',
    'batch.completed',
    'alert.fired',
    'alert.resolved',
    'score.created',
    'webhook.test',
  ]);
  expect([...FINAL_EVENTS]).toEqual([
    'evaluation.completed',
    'evaluation.failed',
    'evaluation.canceled',
  ]);
  expect(CATALOGUE['evaluation.progress'].throttled).toBe(true);
});

describe('score payloads', () => {
  const at = new Date('2026-12-01T10:00:00.250Z');
  const score: ScoreRow = {
    id: '0190c7d4-0000-7000-8000-000000000010',
    projectId: '0190c7d4-0000-7000-8000-000000000002',
    clientId: 'mine-1',
    traceId: '0190c7d4-0000-7000-8000-000000000011',
    spanId: '0190c7d4-0000-7000-8000-000000000012',
    sessionId: null,
    evaluationItemId: null,
    name: 'helpful',
    dataType: 'BOOLEAN',
    value: 1,
    stringValue: 'True',
    comment: null,
    source: 'FEEDBACK',
    authorUserId: '0190c7d4-0000-7000-8000-000000000013',
    authorApiKeyId: null,
    userId: 'end-user',
    evaluationId: null,
    evaluationRuleId: null,
    graderName: null,
    timestamp: at,
    createdAt: at,
    updatedAt: at,
  };

  it('speak the API, and subscribers read the score back from them', () => {
    const data = CATALOGUE['score.created'].data(score);
    expect(data).toMatchObject({
      id: encodeGlobalID('Score', score.id),
      projectId: encodeGlobalID('Project', score.projectId),
      traceId: encodeGlobalID('Trace', score.traceId!),
      spanId: encodeGlobalID('Span', score.spanId!),
      authorUserId: encodeGlobalID('User', score.authorUserId!),
      authorApiKeyId: null,
      timestamp: '2026-12-01T10:00:00.250Z',
    });
    const message = {
      type: 'score.created' as const,
      at: at.toISOString(),
      projectId: score.projectId,
      subjectId: score.id,
      data,
    };
    expect(scoreOf(message)).toEqual(score);
    expect(CATALOGUE['score.created'].topics(score)).toEqual([`project:${score.projectId}:scores`]);
  });

  it('go only to endpoints that list them', () => {
    expect(WEBHOOK_EVENTS).toContain('score.created');
    expect(DEFAULT_WEBHOOK_EVENTS).not.toContain('score.created');
    expect(DEFAULT_WEBHOOK_EVENTS).toEqual(WEBHOOK_EVENTS.filter((e) => e !== 'score.created'));
  });
});
