// Alert rules through HTTP with an injected clock: every metric/aggregation pair against a
// hand-computed value, state changes and their notifications (alertFired and signed webhooks),
// cooldown, no data, no double firing, validation.
import { createTestApp, globalId, type TestApp } from './support/app';
import { createEvaluation, waitFor } from './support/evaluations';
import { judgeEnv, startFakeLlm, type FakeLlm } from './support/fake-llm';
import { subscribeWs, until, wsClient } from './support/live';
import { startReceiver, type Receiver } from './support/receiver';
import { ingest } from './support/spans';
import { createEndpoint } from './support/webhooks';
import { createAlertRules } from '../src/modules/alerts/service';

let app: TestApp;
let fake: FakeLlm;
let receiver: Receiver;
let project: string; // global id
const T = Date.parse('2026-11-20T12:00:00.000Z');
const at = (secondsBefore: number) => new Date(T - secondsBefore * 1000).toISOString();
const setClock = (ms: number) => (app.server.deps.clock.now = () => new Date(ms));

const CREATE_RULE = `mutation($input: CreateAlertRuleInput!) { createAlertRule(input: $input) { alertRule { id state } } }`;
const TEST_RULE = `mutation($id: ID!) { testAlertRule(input: { id: $id }) { result { value samples state wouldBecome } } }`;

async function createRule(input: Record<string, unknown>, projectId = project) {
  const res = await app.gql(CREATE_RULE, {
    input: {
      projectId,
      name: 'rule',
      operator: 'GT',
      threshold: 1e12,
      windowSeconds: 300,
      ...input,
    },
  });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.createAlertRule.alertRule.id as string;
}

async function measured(input: Record<string, unknown>) {
  const id = await createRule(input);
  // The query and the mutation measure alike.
  const query = await app.gql(`query($id: ID!) { testAlertRule(id: $id) { value samples } }`, {
    id,
  });
  const res = await app.gql(TEST_RULE, { id });
  expect(query.body.data.testAlertRule).toEqual({
    value: res.body.data?.testAlertRule.result.value,
    samples: res.body.data?.testAlertRule.result.samples,
  });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.testAlertRule.result as { value: number | null; samples: number };
}

beforeAll(async () => {
  fake = await startFakeLlm();
  receiver = await startReceiver();
  // The worker's own loop stays out of the way: tests evaluate due rules themselves.
  app = await createTestApp({
    EVALGRAPH_ALERTS_POLL_MS: '3600000',
    ...judgeEnv(fake),
    EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
  });
  project = globalId('Project', app.projectId);
  // Five spans in the window (the last 300 s before T) and one before it.
  const span = (id: string, over: Record<string, unknown>) => ({
    traceId: `t-${id}`,
    spanId: id,
    name: id,
    ...over,
  });
  const res = await ingest(app, app.projectId, [
    span('s1', {
      model: 'model-a',
      kind: 'LLM',
      totalTokens: 100,
      totalCost: '0.10',
      startTime: at(250),
      endTime: new Date(T - 250_000 + 100).toISOString(),
      status: 'OK',
      userId: 'u1',
      tags: ['prod'],
    }),
    span('s2', {
      model: 'model-a',
      kind: 'LLM',
      totalTokens: 200,
      totalCost: '0.20',
      startTime: at(200),
      endTime: new Date(T - 200_000 + 200).toISOString(),
      status: 'ERROR',
      userId: 'u1',
      tags: ['prod'],
    }),
    span('s3', {
      model: 'model-b',
      kind: 'TOOL',
      totalTokens: 300,
      totalCost: '0.30',
      startTime: at(150),
      endTime: new Date(T - 150_000 + 300).toISOString(),
      status: 'OK',
      userId: 'u2',
      tags: ['dev'],
    }),
    span('s4', {
      model: 'model-b',
      kind: 'LLM',
      totalTokens: 400,
      totalCost: '0.40',
      startTime: at(100),
      endTime: new Date(T - 100_000 + 400).toISOString(),
      status: 'ERROR',
      userId: 'u2',
      tags: ['prod', 'beta'],
    }),
    span('s5', { kind: 'CHAIN', startTime: at(50), status: 'OK', userId: 'u3' }),
    span('old', {
      model: 'model-a',
      kind: 'LLM',
      totalTokens: 9000,
      totalCost: '9',
      startTime: at(400),
      endTime: new Date(T - 400_000 + 9000).toISOString(),
      status: 'ERROR',
      userId: 'u1',
      tags: ['prod'],
    }),
  ]);
  expect(res.body.data.ingestSpans.acceptedCount).toBe(6);

  // Scores: helpfulness 1, 2, 4, 5 (API) and 3 (FEEDBACK) in the window, 100 before it; another name.
  const given = [
    [1, 'API', 250],
    [2, 'API', 200],
    [4, 'API', 150],
    [5, 'API', 100],
    [3, 'FEEDBACK', 50],
    [100, 'API', 400],
  ] as const;
  const scores = await app.gql(
    `mutation($input: CreateScoresInput!) { createScores(input: $input) { acceptedCount } }`,
    {
      input: {
        projectId: project,
        scores: [
          ...given.map(([value, source, secondsBefore]) => ({
            sessionId: 'sess',
            name: 'helpfulness',
            value,
            source,
            timestamp: at(secondsBefore),
          })),
          { sessionId: 'sess', name: 'other', value: 50, timestamp: at(10) },
        ],
      },
    },
  );
  expect(scores.body.data.createScores.acceptedCount).toBe(7);

  // Evaluation results graded 100 s before T: scores 0.2, 0.4, 0.6, 0.9 (quality, passing from 0.5)
  // and 1, 0, 1, 0 (exact); in another evaluation one failing result.
  const scoreOf = (body: { messages: { content: string }[] }) =>
    Number(/Rate this: ([\d.]+)/.exec(body.messages.map((m) => m.content).join('\n'))![1]);
  fake.on(
    (_body, text) => text.includes('Rate this:'),
    (body) => ({ text: JSON.stringify({ score: scoreOf(body) }) }),
  );
  setClock(T - 100_000);
  const quality = {
    type: 'score_model',
    name: 'quality',
    model: 'gpt-4o-mini',
    input: [{ role: 'user', content: 'Rate this: {{sample.output_text}}' }],
    pass_threshold: 0.5,
  };
  const exact = {
    type: 'string_check',
    name: 'exact',
    operation: 'eq',
    input: '{{sample.output_text}}',
    reference: '{{item.expected_output}}',
  };
  const nightly = await createEvaluation(
    app,
    [quality, exact],
    ['0.2', '0.4', '0.6', '0.9'].map((o, i) => ({
      input: i,
      output: o,
      expectedOutput: i % 2 === 0 ? o : 'x',
    })),
    { name: 'nightly' },
  );
  const other = await createEvaluation(
    app,
    [exact],
    [{ input: 0, output: 'a', expectedOutput: 'b' }],
    { name: 'other' },
  );
  expect((await waitFor(app, nightly)).status).toBe('COMPLETED');
  expect((await waitFor(app, other)).status).toBe('COMPLETED');
  setClock(T);
}, 60_000);

afterAll(async () => {
  await app.close();
  await fake.close();
  await receiver.close();
});

describe('each metric and aggregation, against hand-computed values', () => {
  // Spans in the window: cost 0.1, 0.2, 0.3, 0.4 (s5 has none); tokens 100, 200, 300, 400, 0;
  // latency 100, 200, 300, 400 ms (s5 has no end); 2 errors of 5.
  // percentile_cont over n sorted values: position p·(n−1), interpolated.
  const cases: [string, string, Record<string, unknown>, number][] = [
    ['COST', 'COUNT', {}, 4],
    ['COST', 'SUM', {}, 1.0],
    ['COST', 'AVG', {}, 0.25],
    ['COST', 'MIN', {}, 0.1],
    ['COST', 'MAX', {}, 0.4],
    ['COST', 'P50', {}, 0.25],
    ['COST', 'P95', {}, 0.385],
    ['COST', 'P99', {}, 0.397],
    ['TOKENS', 'COUNT', {}, 5],
    ['TOKENS', 'SUM', {}, 1000],
    ['TOKENS', 'AVG', {}, 200],
    ['TOKENS', 'MIN', {}, 0],
    ['TOKENS', 'MAX', {}, 400],
    ['TOKENS', 'P50', {}, 200],
    ['TOKENS', 'P95', {}, 380],
    ['TOKENS', 'P99', {}, 396],
    ['LATENCY_MS', 'COUNT', {}, 4],
    ['LATENCY_MS', 'SUM', {}, 1000],
    ['LATENCY_MS', 'AVG', {}, 250],
    ['LATENCY_MS', 'MIN', {}, 100],
    ['LATENCY_MS', 'MAX', {}, 400],
    ['LATENCY_MS', 'P50', {}, 250],
    ['LATENCY_MS', 'P95', {}, 385],
    ['LATENCY_MS', 'P99', {}, 397],
    ['SPAN_COUNT', 'COUNT', {}, 5],
    ['ERROR_COUNT', 'COUNT', {}, 2],
    ['ERROR_RATE', 'AVG', {}, 0.4],
    // Results: scores 0.2, 0.4, 0.6, 0.9, 1, 0, 1, 0 (nightly) and 0 (other); 4 + 1 failed.
    ['EVAL_SCORE', 'COUNT', {}, 9],
    ['EVAL_SCORE', 'SUM', {}, 4.1],
    ['EVAL_SCORE', 'AVG', {}, 4.1 / 9],
    ['EVAL_SCORE', 'MIN', {}, 0],
    ['EVAL_SCORE', 'MAX', {}, 1],
    ['EVAL_SCORE', 'P50', {}, 0.4],
    ['EVAL_SCORE', 'P95', {}, 1],
    ['EVAL_SCORE', 'P99', {}, 1],
    ['EVAL_PASS_RATE', 'AVG', {}, 4 / 9],
    ['EVAL_FAILED_COUNT', 'COUNT', {}, 5],
    // Filters.
    ['COST', 'SUM', { model: 'model-a' }, 0.3],
    ['SPAN_COUNT', 'COUNT', { spanKind: 'LLM' }, 3],
    ['ERROR_COUNT', 'COUNT', { userId: 'u2' }, 1],
    ['SPAN_COUNT', 'COUNT', { tags: ['prod'] }, 3],
    ['SPAN_COUNT', 'COUNT', { tags: ['prod', 'beta'] }, 1],
    ['EVAL_SCORE', 'AVG', { grader: 'quality' }, 0.525],
    ['EVAL_SCORE', 'P95', { grader: 'quality' }, 0.855],
    ['EVAL_PASS_RATE', 'AVG', { grader: 'quality' }, 0.5],
    ['EVAL_FAILED_COUNT', 'COUNT', { evaluationName: 'nightly' }, 4],
    ['EVAL_FAILED_COUNT', 'COUNT', { evaluationName: 'nightly', grader: 'exact' }, 2],
    // Scores named helpfulness in the window: 1, 2, 3, 4, 5 (3 from feedback).
    ['SCORE', 'COUNT', { scoreName: 'helpfulness' }, 5],
    ['SCORE', 'AVG', { scoreName: 'helpfulness' }, 3],
    ['SCORE', 'MIN', { scoreName: 'helpfulness' }, 1],
    ['SCORE', 'MAX', { scoreName: 'helpfulness' }, 5],
    ['SCORE', 'P50', { scoreName: 'helpfulness' }, 3],
    ['SCORE', 'P95', { scoreName: 'helpfulness' }, 4.8],
    ['SCORE', 'AVG', { scoreName: 'helpfulness', scoreSource: 'API' }, 3],
    ['SCORE', 'COUNT', { scoreName: 'helpfulness', scoreSource: 'FEEDBACK' }, 1],
    ['SCORE', 'MAX', { scoreName: 'other' }, 50],
  ];
  it.each(cases)('%s %s %j = %d', async (metric, aggregation, filter, expected) => {
    const { value } = await measured({ metric, aggregation, filter });
    expect(value).toBeCloseTo(expected, 9);
  });

  it('only the window counts: an empty window is no data (value null, no samples)', async () => {
    setClock(T + 3_600_000);
    try {
      expect(await measured({ metric: 'COST', aggregation: 'SUM' })).toMatchObject({
        value: null,
        samples: 0,
      });
      expect(
        await measured({ metric: 'SPAN_COUNT', aggregation: 'COUNT', minSamples: 0 }),
      ).toMatchObject({ value: 0, samples: 0 });
    } finally {
      setClock(T);
    }
  });
});

describe('a SCORE rule', () => {
  it('fires when the mean of a score falls below its threshold, and resolves when feedback recovers', async () => {
    const other = await app.seedProject('score alerts');
    const projectId = globalId('Project', other);
    const id = await createRule(
      {
        name: 'helpfulness dropped',
        metric: 'SCORE',
        aggregation: 'AVG',
        filter: { scoreName: 'helpfulness', scoreSource: 'FEEDBACK' },
        operator: 'LT',
        threshold: 0.5,
        windowSeconds: 60,
        intervalSeconds: 30,
      },
      projectId,
    );
    const feedback = (values: number[], atMs: number) =>
      app.gql(
        `mutation($input: CreateScoresInput!) { createScores(input: $input) { acceptedCount } }`,
        {
          input: {
            projectId,
            scores: values.map((value) => ({
              sessionId: 's',
              name: 'helpfulness',
              value,
              source: 'FEEDBACK',
              timestamp: new Date(atMs).toISOString(),
            })),
          },
        },
      );
    const state = async (ms: number) => {
      setClock(ms);
      await app.server.services.alertRules.evaluateDue();
      return (await app.gql(`query($id: ID!) { alertRule(id: $id) { state lastValue } }`, { id }))
        .body.data.alertRule;
    };
    try {
      await feedback([0, 0, 1], T + 1_000);
      expect(await state(T + 10_000)).toEqual({ state: 'FIRING', lastValue: 1 / 3 });
      await feedback([1, 1, 1, 1], T + 50_000);
      expect(await state(T + 80_000)).toEqual({ state: 'RESOLVED', lastValue: 1 });
    } finally {
      setClock(T);
    }
  });
});

describe('state changes', () => {
  const EVENTS = `query($id: ID!) { alertRule(id: $id) { state lastValue events(first: 20) { edges { node { fromState state value threshold samples notified } } } } }`;

  it('go OK → WARNING → FIRING → RESOLVED, notified to alertFired subscribers and the rule’s webhook channels', async () => {
    const other = await app.seedProject('alerting');
    const projectId = globalId('Project', other);
    const endpointId = await createEndpoint(app, receiver.url, other);
    const id = await createRule(
      {
        name: 'traffic',
        metric: 'SPAN_COUNT',
        aggregation: 'COUNT',
        operator: 'GT',
        threshold: 4,
        warningThreshold: 2,
        windowSeconds: 60,
        intervalSeconds: 30,
        minSamples: 0,
        channels: [endpointId],
      },
      projectId,
    );
    const client = wsClient(app.url, app.adminKey);
    const live = subscribeWs(
      client,
      `subscription($p: ID!) { alertFired(projectId: $p) { ruleName fromState state value } }`,
      { p: projectId },
    );
    await new Promise((r) => setTimeout(r, 200));
    receiver.received.length = 0;
    const step = async (ms: number) => {
      setClock(ms);
      return app.server.services.alertRules.evaluateDue();
    };
    const spans = (n: number, startMs: number) =>
      Array.from({ length: n }, (_, i) => ({
        traceId: `x${startMs}`,
        spanId: `x${startMs}-${i}`,
        name: 'call',
        startTime: new Date(startMs + i).toISOString(),
      }));
    try {
      await ingest(app, other, spans(3, T + 1_000));
      expect(await step(T + 10_000)).toBeGreaterThanOrEqual(1); // 3 spans: WARNING
      await ingest(app, other, spans(2, T + 20_000));
      await step(T + 25_000); // not due yet (interval 30 s): nothing
      await step(T + 40_000); // 5 spans: FIRING
      await step(T + 70_000); // still 5 in the window (2 of them): 2 → RESOLVED
      await step(T + 200_000); // 0: OK level, stays RESOLVED
      const rule = (await app.gql(EVENTS, { id })).body.data.alertRule;
      expect(rule.state).toBe('RESOLVED');
      expect(rule.events.edges.map((e: any) => e.node).reverse()).toEqual([
        { fromState: 'OK', state: 'WARNING', value: 3, threshold: 2, samples: 3, notified: true },
        {
          fromState: 'WARNING',
          state: 'FIRING',
          value: 5,
          threshold: 4,
          samples: 5,
          notified: true,
        },
        {
          fromState: 'FIRING',
          state: 'RESOLVED',
          value: 2,
          threshold: 4,
          samples: 2,
          notified: true,
        },
      ]);
      await until(() => live.events.length === 3, 5_000, 'three alertFired events');
      expect(
        live.events.map((e) => [
          e.data.alertFired.fromState,
          e.data.alertFired.state,
          e.data.alertFired.value,
        ]),
      ).toEqual([
        ['OK', 'WARNING', 3],
        ['WARNING', 'FIRING', 5],
        ['FIRING', 'RESOLVED', 2],
      ]);
      await until(() => receiver.received.length === 3, 10_000, 'three webhooks');
      const payloads = receiver.received
        .map((r) => JSON.parse(r.body))
        .sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
      expect(payloads.map((p) => [p.type, p.data.state])).toEqual([
        ['alert.fired', 'WARNING'],
        ['alert.fired', 'FIRING'],
        ['alert.resolved', 'RESOLVED'],
      ]);
      expect(payloads[1].data).toMatchObject({
        ruleId: id,
        ruleName: 'traffic',
        value: 5,
        threshold: 4,
        windowSeconds: 60,
      });
    } finally {
      await client.dispose();
      setClock(T);
    }
  });

  it('disabling a FIRING rule resolves it at once, with the reason, and sends alert.resolved', async () => {
    const other = await app.seedProject('disabled while firing');
    const projectId = globalId('Project', other);
    const endpointId = await createEndpoint(app, receiver.url, other);
    const id = await createRule(
      {
        name: 'busy',
        metric: 'SPAN_COUNT',
        aggregation: 'COUNT',
        operator: 'GT',
        threshold: 1,
        windowSeconds: 60,
        minSamples: 0,
        channels: [endpointId],
      },
      projectId,
    );
    receiver.received.length = 0;
    try {
      await ingest(
        app,
        other,
        [1, 2, 3].map((i) => ({
          traceId: 'busy',
          spanId: `busy-${i}`,
          name: 'call',
          startTime: new Date(T + 1_000 + i).toISOString(),
        })),
      );
      setClock(T + 10_000);
      await app.server.services.alertRules.evaluateDue();
      expect((await app.gql(EVENTS, { id })).body.data.alertRule.state).toBe('FIRING');
      const disabled = await app.gql(
        `mutation($id: ID!) { updateAlertRule(input: { id: $id, enabled: false }) { alertRule { state enabled } } }`,
        { id },
      );
      expect(disabled.body.data.updateAlertRule.alertRule).toEqual({
        state: 'RESOLVED',
        enabled: false,
      });
      const history = await app.gql(
        `query($id: ID!) { alertEvents(ruleId: $id) { edges { node { fromState state reason } } } }`,
        { id },
      );
      expect(history.body.data.alertEvents.edges[0].node).toEqual({
        fromState: 'FIRING',
        state: 'RESOLVED',
        reason: 'The rule was disabled.',
      });
      await until(() => receiver.received.length === 2, 10_000, 'fired and resolved');
      const payloads = receiver.received
        .map((r) => JSON.parse(r.body))
        .sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
      expect(payloads.map((p) => [p.type, p.data.state, p.data.reason ?? null])).toEqual([
        ['alert.fired', 'FIRING', null],
        ['alert.resolved', 'RESOLVED', 'The rule was disabled.'],
      ]);
      // Disabling it again changes nothing.
      await app.gql(
        `mutation($id: ID!) { updateAlertRule(input: { id: $id, enabled: false }) { alertRule { state } } }`,
        { id },
      );
      expect(
        (
          await app.gql(
            `query($id: ID!) { alertEvents(ruleId: $id) { edges { node { state } } } }`,
            { id },
          )
        ).body.data.alertEvents.edges,
      ).toHaveLength(2);
    } finally {
      setClock(T);
    }
  });

  it('cooldown holds back a repeated firing and its resolution; history keeps them', async () => {
    const other = await app.seedProject('flapping');
    const projectId = globalId('Project', other);
    const id = await createRule(
      {
        name: 'flap',
        metric: 'ERROR_COUNT',
        aggregation: 'COUNT',
        operator: 'GTE',
        threshold: 1,
        windowSeconds: 30,
        intervalSeconds: 10,
        minSamples: 0,
        cooldownSeconds: 600,
      },
      projectId,
    );
    const error = (ms: number) =>
      ingest(app, other, [
        {
          traceId: `e${ms}`,
          spanId: `e${ms}`,
          name: 'boom',
          status: 'ERROR',
          startTime: new Date(ms).toISOString(),
        },
      ]);
    const step = (ms: number) => (setClock(ms), app.server.services.alertRules.evaluateDue());
    try {
      await error(T + 5_000);
      await step(T + 10_000); // FIRING, notified
      await step(T + 60_000); // RESOLVED, notified
      await error(T + 65_000);
      await step(T + 70_000); // FIRING again within 600 s: held back
      await step(T + 120_000); // RESOLVED: held back too
      await error(T + 800_000);
      await step(T + 805_000); // past the cooldown: notified
      const rule = (await app.gql(EVENTS, { id })).body.data.alertRule;
      expect(rule.events.edges.map((e: any) => [e.node.state, e.node.notified]).reverse()).toEqual([
        ['FIRING', true],
        ['RESOLVED', true],
        ['FIRING', false],
        ['RESOLVED', false],
        ['FIRING', true],
      ]);
      const history = await app.gql(
        `query($p: ID!) { alertEvents(projectId: $p, first: 2) { edges { node { ruleName state } } pageInfo { hasNextPage } } }`,
        { p: projectId },
      );
      expect(history.body.data.alertEvents.edges.map((e: any) => e.node.state)).toEqual([
        'FIRING',
        'RESOLVED',
      ]);
      expect(history.body.data.alertEvents.pageInfo.hasNextPage).toBe(true);
    } finally {
      setClock(T);
    }
  });

  it('no data: KEEP keeps the state, FIRING fires, OK resolves', async () => {
    const other = await app.seedProject('quiet');
    const projectId = globalId('Project', other);
    const keep = await createRule(
      {
        name: 'keep',
        metric: 'LATENCY_MS',
        aggregation: 'P95',
        operator: 'GT',
        threshold: 1000,
        windowSeconds: 60,
        minSamples: 3,
        noData: 'KEEP',
      },
      projectId,
    );
    const fire = await createRule(
      {
        name: 'fire',
        metric: 'LATENCY_MS',
        aggregation: 'P95',
        operator: 'GT',
        threshold: 1000,
        windowSeconds: 60,
        minSamples: 3,
        noData: 'FIRING',
      },
      projectId,
    );
    setClock(T + 10_000);
    try {
      await app.server.services.alertRules.evaluateDue();
      const state = async (id: string) => (await app.gql(EVENTS, { id })).body.data.alertRule.state;
      expect([await state(keep), await state(fire)]).toEqual(['OK', 'FIRING']);
      await app.gql(
        `mutation($input: UpdateAlertRuleInput!) { updateAlertRule(input: $input) { alertRule { noData } } }`,
        { input: { id: fire, noData: 'OK' } },
      );
      await app.server.services.alertRules.evaluateDue();
      expect(await state(fire)).toBe('RESOLVED');
    } finally {
      setClock(T);
    }
  });

  it('is recorded once when several workers evaluate the same due rules at once', async () => {
    const other = await app.seedProject('racing');
    const projectId = globalId('Project', other);
    await ingest(app, other, [
      { traceId: 'r', spanId: 'r', name: 'r', startTime: new Date(T - 1_000).toISOString() },
    ]);
    const ids = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        createRule(
          {
            name: `race ${i}`,
            metric: 'SPAN_COUNT',
            aggregation: 'COUNT',
            operator: 'GTE',
            threshold: 1,
            windowSeconds: 60,
          },
          projectId,
        ),
      ),
    );
    const workers = [
      app.server.services.alertRules,
      createAlertRules(app.server.deps, { events: app.server.services.events }),
      createAlertRules(app.server.deps, { events: app.server.services.events }),
    ];
    setClock(T);
    const done = await Promise.all(
      workers.map((w) => w.evaluateDue(4)).concat(workers.map((w) => w.evaluateDue(4))),
    );
    expect(done.reduce((a, b) => a + b, 0)).toBe(10);
    const events = await app.server.deps.db.prisma.alertEvent.groupBy({
      by: ['ruleId'],
      where: { projectId: other },
      _count: true,
    });
    expect(events).toHaveLength(10);
    expect(events.every((e) => e._count === 1)).toBe(true);
    expect(ids).toHaveLength(10);
  });
});

describe('review cases', () => {
  it('a stop in traffic fires a counting rule with its defaults (an empty window counts 0)', async () => {
    const other = await app.seedProject('silent');
    const id = await createRule(
      {
        name: 'stopped',
        metric: 'SPAN_COUNT',
        aggregation: 'COUNT',
        operator: 'LT',
        threshold: 1,
        windowSeconds: 60,
      },
      globalId('Project', other),
    );
    setClock(T + 5_000);
    try {
      await app.server.services.alertRules.evaluateDue();
      expect(
        (await app.gql(`query($id: ID!) { alertRule(id: $id) { state minSamples } }`, { id })).body
          .data.alertRule,
      ).toEqual({ state: 'FIRING', minSamples: 0 });
    } finally {
      setClock(T);
    }
  });

  it('a rule that cannot be measured holds up no other, and is tried again at its interval', async () => {
    const other = await app.seedProject('broken');
    const prisma = app.server.deps.db.prisma;
    // Stored behind the API's back with a filter the database refuses.
    await prisma.alertRule.create({
      data: {
        projectId: other,
        name: 'broken',
        metric: 'SPAN_COUNT',
        aggregation: 'COUNT',
        operator: 'GTE',
        threshold: 0,
        minSamples: 0,
        windowSeconds: 60,
        filter: { spanKind: 'NOT_A_KIND' },
        nextEvaluationAt: new Date(T - 1_000),
      },
    });
    await createRule(
      {
        name: 'fine',
        metric: 'SPAN_COUNT',
        aggregation: 'COUNT',
        operator: 'GTE',
        threshold: 0,
        windowSeconds: 60,
      },
      globalId('Project', other),
    );
    setClock(T);
    await app.server.services.alertRules.evaluateDue();
    const states = await prisma.alertRule.findMany({
      where: { projectId: other },
      select: { name: true, state: true, nextEvaluationAt: true },
      orderBy: { name: 'asc' },
    });
    expect(states.map((r) => [r.name, r.state])).toEqual([
      ['broken', 'OK'],
      ['fine', 'FIRING'],
    ]);
    expect(states[0].nextEvaluationAt.getTime()).toBe(T + 30_000);
  });

  it('updateAlertRule clears a warning threshold with null, and refuses a bad cursor', async () => {
    const id = await createRule({
      name: 'warned',
      metric: 'COST',
      aggregation: 'SUM',
      operator: 'GT',
      threshold: 10,
      warningThreshold: 5,
    });
    const update = (input: Record<string, unknown>) =>
      app.gql(
        `mutation($input: UpdateAlertRuleInput!) { updateAlertRule(input: $input) { alertRule { operator threshold warningThreshold description } } }`,
        { input: { id, ...input } },
      );
    expect((await update({ operator: 'LT' })).body.errors![0].extensions!.path).toEqual([
      'input',
      'warningThreshold',
    ]);
    const cleared = await update({
      operator: 'LT',
      warningThreshold: null,
      description: 'low spend',
    });
    expect(cleared.body.data.updateAlertRule.alertRule).toEqual({
      operator: 'LT',
      threshold: 10,
      warningThreshold: null,
      description: 'low spend',
    });
    const bad = await app.gql(
      `query($p: ID!) { alertEvents(projectId: $p, after: "nope") { edges { node { state } } } }`,
      { p: project },
    );
    expect(bad.body.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
  });
});

describe('validation', () => {
  const refused = async (input: Record<string, unknown>) => {
    const res = await app.gql(CREATE_RULE, {
      input: {
        projectId: project,
        name: 'bad',
        operator: 'GT',
        threshold: 1,
        windowSeconds: 60,
        metric: 'COST',
        aggregation: 'SUM',
        ...input,
      },
    });
    return res.body.errors![0].extensions as { code: string; path?: unknown[] };
  };

  it('refuses aggregations and filters that do not fit the metric, and badly ordered thresholds', async () => {
    expect(await refused({ metric: 'ERROR_RATE', aggregation: 'SUM' })).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'aggregation'],
    });
    expect(
      await refused({ metric: 'EVAL_SCORE', aggregation: 'AVG', filter: { model: 'x' } }),
    ).toMatchObject({ code: 'BAD_USER_INPUT', path: ['input', 'filter', 'model'] });
    // A SCORE rule names its score; score filters apply to it alone.
    expect(await refused({ metric: 'SCORE', aggregation: 'AVG' })).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'filter', 'scoreName'],
    });
    expect(
      await refused({ metric: 'SCORE', aggregation: 'SUM', filter: { scoreName: 'helpfulness' } }),
    ).toMatchObject({ code: 'BAD_USER_INPUT', path: ['input', 'aggregation'] });
    expect(
      await refused({ metric: 'SPAN_COUNT', aggregation: 'COUNT', filter: { scoreName: 'x' } }),
    ).toMatchObject({ code: 'BAD_USER_INPUT', path: ['input', 'filter', 'scoreName'] });
    expect(await refused({ warningThreshold: 5 })).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'warningThreshold'],
    });
    expect(await refused({ windowSeconds: 5 })).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'windowSeconds'],
    });
    expect(await refused({ name: '  ' })).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'name'],
    });
    expect(
      await refused({
        threshold: Number.MAX_VALUE * 0 + 1,
        channels: [globalId('WebhookEndpoint', '0190c7d4-0000-7000-8000-000000000001')],
      }),
    ).toMatchObject({ code: 'NOT_FOUND', path: ['input', 'channels'] });
  });

  it('keeps money from roles without the costs right: COST rules are set by BILLING or ADMIN, their values shown to them only', async () => {
    setClock(T);
    const developer = await app.seedUser({ role: 'DEVELOPER' });
    const viewer = await app.seedUser({ role: 'VIEWER' });
    const input = {
      projectId: project,
      name: 'spend',
      metric: 'COST',
      aggregation: 'SUM',
      operator: 'GT',
      threshold: 0.1,
      windowSeconds: 300,
    };
    const refused = await app.gql(CREATE_RULE, { input }, { key: developer.key });
    expect(refused.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const id = await createRule({ name: 'spend', metric: 'COST', aggregation: 'SUM' });
    const tested = await app.gql(TEST_RULE, { id });
    expect(tested.body.data.testAlertRule.result.value).toBeCloseTo(1);
    for (const key of [developer.key, viewer.key]) {
      const hidden = await app.gql(TEST_RULE, { id }, { key });
      expect(hidden.body.data?.testAlertRule?.result?.value ?? null).toBeNull();
      expect(hidden.body.errors?.map((e) => e.extensions?.code)).toContain('FORBIDDEN');
      const read = await app.gql(
        'query($id: ID!) { alertRule(id: $id) { name lastValue } }',
        { id },
        { key },
      );
      expect(read.body.data.alertRule).toEqual({ name: 'spend', lastValue: null });
    }
    // A rule on tokens shows its value to every reader.
    const tokens = await createRule({ name: 'tokens', metric: 'TOKENS', aggregation: 'SUM' });
    expect(
      (await app.gql(TEST_RULE, { id: tokens }, { key: viewer.key })).body.data.testAlertRule.result
        .value,
    ).toBe(1000);
    // Choosing the traces of an evaluation by their cost asks a yes/no question about costs.
    const evaluation = await app.gql(
      'mutation($p: ID!) { createEvaluation(input: { projectId: $p, name: "by cost", testingCriteria: [{ type: "regex", name: "r", input: "{{sample.output_text}}", pattern: "a" }], dataSource: { traces: { filter: { minCost: "1" } } } }) { evaluation { id } } }',
      { p: project },
      { key: developer.key },
    );
    expect(evaluation.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('needs write to change a rule and read to see it', async () => {
    const viewer = await app.seedUser({ role: 'VIEWER' });
    const outsider = await app.seedUser({
      role: 'DEVELOPER',
      projectId: await app.seedProject('elsewhere'),
    });
    const id = await createRule({ name: 'mine', metric: 'COST', aggregation: 'SUM' });
    const create = await app.gql(
      CREATE_RULE,
      {
        input: {
          projectId: project,
          name: 'x',
          metric: 'COST',
          aggregation: 'SUM',
          operator: 'GT',
          threshold: 1,
          windowSeconds: 60,
        },
      },
      { key: viewer.key },
    );
    expect(create.body.errors![0].extensions!.code).toBe('FORBIDDEN');
    const update = await app.gql(
      `mutation($input: UpdateAlertRuleInput!) { updateAlertRule(input: $input) { alertRule { id } } }`,
      { input: { id, threshold: 2 } },
      { key: viewer.key },
    );
    expect(update.body.errors![0].extensions!.code).toBe('FORBIDDEN');
    expect(
      (
        await app.gql(
          `query($id: ID!) { alertRule(id: $id) { name } }`,
          { id },
          { key: viewer.key },
        )
      ).body.data.alertRule.name,
    ).toBe('mine');
    const foreign = await app.gql(
      `query($id: ID!) { alertRule(id: $id) { name } }`,
      { id },
      { key: outsider.key },
    );
    expect(foreign.body.data?.alertRule ?? null).toBeNull();
    const tested = await app.gql(TEST_RULE, { id }, { key: outsider.key });
    expect(tested.body.errors![0].extensions!.code).toBe('NOT_FOUND');
    const deleted = await app.gql(
      `mutation($id: ID!) { deleteAlertRule(input: { id: $id }) { deletedAlertRuleId } }`,
      { id },
    );
    expect(deleted.body.data.deleteAlertRule.deletedAlertRuleId).toBe(id);
  });
});
