// The instance's judge cost per day (EVALGRAPH_GLOBAL_LIMITS judgeCostPerDayUsd), every project
// together, counted where judge spending is counted (usage_counters): once spent, a running
// evaluation stops (INSTANCE_LIMIT_EXCEEDED), createEvaluation refuses judged evaluations in any
// project (429, Retry-After until midnight UTC), and online rules pause; /metrics and readiness
// show the day's spending.
import { globalId, type TestApp } from './support/app';
import { CREATE, createEvaluation, waitFor } from './support/evaluations';
import type { FakeLlm } from './support/fake-llm';
import { metricValue } from './support/held';
import { createRule, onlineTestApp, settled, waitForRule } from './support/online';
import { ingest, span } from './support/spans';

let app: TestApp;
let fake: FakeLlm;
// One item and one task at a time: each judge call is checked after the one before it is counted.
// Each call costs (100 × 0.15 + 10 × 0.60) / 1M = 0.000021 USD: the second spends past 0.00003.
onlineTestApp(
  {
    EVALGRAPH_EVAL_CONCURRENCY: '1',
    EVALGRAPH_ONLINE_EVAL_CONCURRENCY: '1',
    EVALGRAPH_GLOBAL_LIMITS: JSON.stringify({ judgeCostPerDayUsd: 0.00003 }),
  },
  (s) => ({ app, fake } = s),
);

const rated = {
  type: 'score_model',
  name: 'rated',
  model: 'gpt-4o-mini',
  input: [{ role: 'user', content: 'Rate this: {{sample.output_text}}' }],
};
const exact = {
  type: 'string_check',
  name: 'exact',
  input: '{{sample.output_text}}',
  reference: '{{item.expected_output}}',
  operation: 'eq',
};
const items = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ input: i, expectedOutput: 'a', output: `a${i}` }));

it('stops judge spending of every project once the instance’s daily judge budget is spent', async () => {
  fake.on('Rate this:', {
    text: JSON.stringify({ score: 1 }),
    usage: { prompt: 100, completion: 10 },
  });
  const id = await createEvaluation(app, [rated], items(5));
  const stopped = await waitFor(app, id);
  expect([stopped.status, stopped.errorCode]).toEqual(['FAILED', 'INSTANCE_LIMIT_EXCEEDED']);
  expect(stopped.error).toMatch(/daily judge budget of 0.00003 USD/);
  expect(stopped.resultCounts.completed).toBe(2);
  expect(fake.calls).toHaveLength(2);

  // Another project: judged evaluations are refused at creation, others are not.
  const other = await app.seedProject();
  const refused = await app.gql(CREATE, {
    input: {
      projectId: globalId('Project', other),
      name: 'judged',
      testingCriteria: [rated],
      dataSource: { items: items(1) },
    },
  });
  expect(refused.status).toBe(429);
  const retryAfter = Number(refused.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(86_400);
  expect(refused.body.errors).toEqual([
    expect.objectContaining({
      message: expect.stringMatching(/instance's daily judge budget of 0.00003 USD/),
      extensions: { code: 'INSTANCE_LIMIT_EXCEEDED', limit: 'judgeCostPerDayUsd', retryAfter },
    }),
  ]);
  const plain = await createEvaluation(app, [exact], items(2), { projectId: other });
  expect((await waitFor(app, plain)).status).toBe('COMPLETED');

  // An online rule of that project pauses and skips what comes due, judging nothing.
  const rule = await createRule(app, other, { delaySeconds: 0, testingCriteria: [rated] });
  await ingest(
    app,
    other,
    Array.from({ length: 3 }, (_, k) =>
      span({ traceId: `t${k}`, spanId: 'root', name: 'agent', output: `answer ${k}` }),
    ),
  );
  const paused = await waitForRule(app, rule, settled(3));
  expect(paused.status).toBe('PAUSED');
  expect(paused.pausedReason).toMatch(/instance's daily judge budget/);
  expect(paused.stats).toMatchObject({ evaluated: 0, skippedByBudget: 3 });
  expect(fake.calls).toHaveLength(2);

  // The day's spending of the instance, and the refusals, where operators look.
  const text = await (await fetch(`${app.url}/metrics`)).text();
  expect(metricValue(text, 'evalgraph_instance_judge_cost_today_usd')).toBeCloseTo(0.000042, 12);
  expect(
    metricValue(text, 'evalgraph_instance_limit_refused_total', 'limit="judgeCostPerDayUsd"'),
  ).toBeGreaterThanOrEqual(3);
  const ready = (await (await fetch(`${app.url}/health/ready`)).json()) as any;
  expect(ready.checks.instanceLimits.judgeCostPerDayUsd).toEqual({
    limit: '0.00003',
    spentToday: '0.000042',
  });
});
