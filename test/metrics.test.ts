// /metrics: each of our metrics moves when its event happens, label values stay bounded, and the
// text is valid exposition format (parsed here; .ci/run also runs `promtool check metrics` on the
// snapshot this test writes to test-results/metrics.prom). serviceStatus reads the SLO counts.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { createTestApp, globalId, type TestApp } from './support/app';
import { createEvaluation, waitFor } from './support/evaluations';
import { judgeEnv, startFakeLlm, type FakeLlm } from './support/fake-llm';
import { subscribeWs, until, wsClient } from './support/live';
import { startReceiver, type Receiver } from './support/receiver';
import { ingest, span } from './support/spans';
import { createEndpoint, sendTest } from './support/webhooks';

let app: TestApp;
let fake: FakeLlm;
let receiver: Receiver;

beforeAll(async () => {
  fake = await startFakeLlm();
  receiver = await startReceiver();
  app = await createTestApp({
    ...judgeEnv(fake),
    EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    EVALGRAPH_SLO_QUERY_P95_MS: '1',
    EVALGRAPH_WEBHOOK_RETRY_SCHEDULE_MS: '0',
    EVALGRAPH_ALERTS_POLL_MS: '3600000',
  });
});
afterAll(async () => {
  await app.close();
  await fake.close();
  await receiver.close();
});

const scrape = async () =>
  parsePrometheusTextFormat(await (await fetch(`${app.url}/metrics`)).text());

/** The sum of a counter's or gauge's samples with these labels (0 when absent); for a histogram, of its counts. */
async function value(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const histogram = text.includes(`# TYPE ${name} histogram`);
  const series = histogram ? `${name}_count` : name;
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== series) continue;
    const have = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
}

async function moves(
  name: string,
  labels: Record<string, string>,
  act: () => Promise<unknown>,
  by?: number,
) {
  const before = await value(name, labels);
  await act();
  let after = before;
  await until(
    async () => (after = await value(name, labels)) > before,
    5_000,
    `${name} ${JSON.stringify(labels)} to move`,
  );
  if (by !== undefined) expect(after - before).toBe(by);
}

it('GraphQL operations: count, duration, phases and errors by operation name, requests by tier, HTTP by status class', async () => {
  const op = () => app.gql('query MetricsProbe { viewer { email } }');
  await moves(
    'graphql_operations_total',
    { operation_name: 'MetricsProbe', operation_type: 'query' },
    op,
    1,
  );
  await moves('graphql_operation_duration_seconds', { operation_name: 'MetricsProbe' }, op, 1);
  await moves('graphql_execute_duration_seconds', { operation_name: 'MetricsProbe' }, op);
  await moves('graphql_parse_duration_seconds', {}, () =>
    app.gql(`query Fresh${Date.now()} { viewer { id } }`),
  );
  await moves(
    'graphql_http_request_duration_seconds',
    { operation_name: 'MetricsProbe', status_code: '200' },
    op,
  );
  await moves(
    'graphql_operation_errors_total',
    { operation_name: 'Broken', phase: 'validate' },
    () => app.gql('query Broken { nope }'),
  );
  await moves('evalgraph_requests_total', { tier: 'ENTERPRISE', type: 'query' }, op, 1);
  await moves('evalgraph_http_requests_total', { route: 'graphql', status_class: '4xx' }, () =>
    app.gql('{ viewer { id } }', {}, { key: 'evg_wrong_key_000000000000000000000000' }),
  );
  // A malformed id is the caller's mistake: no unexpected error is counted (the availability SLO).
  const internal = await value('evalgraph_internal_errors_total');
  const bad = await app.gql('query { alertRule(id: "not-a-global-id") { name } }');
  expect(bad.body.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
  expect(await value('evalgraph_internal_errors_total')).toBe(internal);
});

it('operation names chosen by clients stay bounded', async () => {
  for (let i = 0; i < 210; i++) await app.gql(`query Generated${i} { viewer { id } }`);
  const family = (await scrape()).find((f) => f.name === 'graphql_operations_total')!;
  const names = new Set(family.metrics.map((m) => m.labels!.operation_name));
  expect(names.has('other')).toBe(true);
  expect(names.size).toBeLessThanOrEqual(200 + 20);
});

it('ingest, evaluations, graders, judge calls, tokens and cost, subscriptions, queues', async () => {
  await moves(
    'evalgraph_ingested_spans_total',
    { source: 'graphql' },
    () => ingest(app, app.projectId, [span({ traceId: 'm1' }), span({ traceId: 'm1' })]),
    2,
  );
  await moves('evalgraph_ingested_spans_total', { source: 'otlp' }, () =>
    fetch(`${app.url}/v1/traces`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${app.adminKey}`,
        'x-evalgraph-project': globalId('Project', app.projectId),
      },
      body: JSON.stringify({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: '1af7651916cd43dd8448eb211c80319c',
                    spanId: 'a7ad6b7169203331',
                    name: 'otlp',
                    startTimeUnixNano: '1740830400000000000',
                    endTimeUnixNano: '1740830401000000000',
                  },
                ],
              },
            ],
          },
        ],
      }),
    }),
  );

  const client = wsClient(app.url, app.adminKey);
  try {
    const events = subscribeWs(
      client,
      'subscription($p: ID!) { evaluationEvents(projectId: $p) { type } }',
      { p: globalId('Project', app.projectId) },
    );
    await until(
      async () => (await value('evalgraph_active_subscriptions')) >= 1,
      5_000,
      'an open subscription',
    );
    fake.on('Rate this', {
      text: JSON.stringify({ score: 0.9 }),
      usage: { prompt: 100, completion: 10 },
    });
    const before = {
      finished: await value('evalgraph_evaluations_finished_total', { status: 'COMPLETED' }),
      tokens: await value('evalgraph_judge_tokens_total', {
        model: 'gpt-4o-mini',
        direction: 'input',
      }),
    };
    const id = await createEvaluation(
      app,
      [
        {
          type: 'score_model',
          name: 'q',
          model: 'gpt-4o-mini',
          input: [{ role: 'user', content: 'Rate this: {{sample.output_text}}' }],
        },
        { type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'x' },
      ],
      [
        { input: 1, output: 'x' },
        { input: 2, output: 'y' },
      ],
    );
    expect((await waitFor(app, id)).status).toBe('COMPLETED');
    await until(
      async () =>
        (await value('evalgraph_evaluations_finished_total', { status: 'COMPLETED' })) ===
        before.finished + 1,
      5_000,
      'the finished evaluation',
    );
    await until(
      async () =>
        (await value('evalgraph_evaluation_duration_seconds', { status: 'COMPLETED' })) >= 1,
      5_000,
      'its duration',
    );
    expect(
      await value('evalgraph_grader_results_total', {
        grader_type: 'SCORE_MODEL',
        outcome: 'passed',
      }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      await value('evalgraph_grader_results_total', { grader_type: 'REGEX', outcome: 'failed' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await value('evalgraph_grader_duration_seconds', { grader_type: 'REGEX' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      await value('evalgraph_judge_request_seconds', { call: 'chat', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      (await value('evalgraph_judge_tokens_total', { model: 'gpt-4o-mini', direction: 'input' })) -
        before.tokens,
    ).toBe(200);
    expect(await value('evalgraph_judge_cost_usd_total', { model: 'gpt-4o-mini' })).toBeGreaterThan(
      0,
    );
    events.stop();
  } finally {
    await client.dispose();
  }
  const families = await scrape();
  const depth = families.find((f) => f.name === 'evalgraph_queue_depth')!;
  expect(depth.metrics.map((m) => m.labels!.queue).sort()).toEqual([
    'evaluation_items',
    'online_evaluation_tasks',
    'webhook_deliveries',
  ]);
  expect(
    families.find((f) => f.name === 'evalgraph_queue_oldest_age_seconds')!.metrics,
  ).toHaveLength(3);
  expect(families.find((f) => f.name === 'evalgraph_judge_circuit_state')!.metrics[0].value).toBe(
    '0',
  );
});

it('alert rules, webhook deliveries, and the SLOs from the same counts', async () => {
  await app.gql(
    `mutation($input: CreateAlertRuleInput!) { createAlertRule(input: $input) { alertRule { id } } }`,
    {
      input: {
        projectId: globalId('Project', app.projectId),
        name: 'spans',
        metric: 'SPAN_COUNT',
        aggregation: 'COUNT',
        operator: 'GTE',
        threshold: 0,
        windowSeconds: 3600,
        minSamples: 0,
      },
    },
  );
  await moves(
    'evalgraph_alert_state_changes_total',
    { state: 'FIRING', notified: 'true' },
    async () => {
      await moves('evalgraph_alert_rules_evaluated_total', {}, () =>
        app.server.services.alertRules.evaluateDue(),
      );
    },
  );
  // Two test webhooks: one answered 200, one 500 (no retries).
  receiver.answer = (_r, i) => ({ status: i === 0 ? 200 : 500 });
  const endpointId = await createEndpoint(app, receiver.url);
  for (let i = 0; i < 2; i++) await sendTest(app, endpointId);
  await until(
    async () => (await value('evalgraph_webhook_deliveries_total')) >= 2,
    10_000,
    'two deliveries',
  );

  const status = await app.gql(
    `{ serviceStatus { slos { name objective windows { window good total value errorBudgetRemaining burnRate } } } }`,
  );
  const slos = Object.fromEntries(status.body.data.serviceStatus.slos.map((s: any) => [s.name, s]));
  const hour = (name: string) => slos[name].windows.find((w: any) => w.window === '1h');
  expect(slos.availability.objective).toBe(0.999);
  expect(hour('availability').total).toBeGreaterThan(200);
  expect(hour('availability').value).toBe(1);
  expect(hour('availability').burnRate).toBe(0);
  // Every query is "slow" at a 1 ms threshold: the budget is overspent twenty times over.
  expect(hour('query_latency_p95').value).toBeLessThan(0.5);
  expect(hour('query_latency_p95').burnRate).toBeGreaterThan(10);
  expect(hour('webhook_success')).toMatchObject({
    good: 1,
    total: 2,
    value: 0.5,
    burnRate: expect.closeTo(50, 9),
  });
  const denied = await app.gql(
    '{ serviceStatus { at } }',
    {},
    { key: (await app.seedUser({ role: 'ADMIN' })).key },
  );
  expect(denied.body.errors![0].extensions!.code).toBe('FORBIDDEN');
});

it('is valid exposition format, with help and type for every family', async () => {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const families = parsePrometheusTextFormat(text);
  expect(families.length).toBeGreaterThan(30);
  for (const f of families.filter(
    (x) => x.name.startsWith('evalgraph_') || x.name.startsWith('graphql_'),
  )) {
    expect(f.help.length).toBeGreaterThan(0);
    expect(f.type).not.toBe('UNTYPED');
  }
  // The Grafana dashboard and the Prometheus rules use only metrics that exist.
  const known = new Set(families.map((f) => f.name));
  for (const file of ['deploy/grafana/evalgraph.json', 'deploy/prometheus/evalgraph.rules.yml']) {
    const used = new Set(
      [
        ...readFileSync(path.resolve(__dirname, '..', file), 'utf8').matchAll(
          /\b((?:evalgraph|graphql|process|nodejs)_[a-z_]+)\b/g,
        ),
      ].map((m) => m[1].replace(/_(bucket|count|sum)$/, '')),
    );
    expect({ file, unknown: [...used].filter((name) => !known.has(name)) }).toEqual({
      file,
      unknown: [],
    });
  }
  // For `promtool check metrics` in .ci/run.
  const dir = path.resolve(__dirname, '..', 'test-results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'metrics.prom'), text);
});
