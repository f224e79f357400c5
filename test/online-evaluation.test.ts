// Online evaluation rules through HTTP: traces and spans ingested are matched against a project's
// rules, sampled by a hash of their ids, and judged once after the rule's delay, their results
// written as ONLINE_EVALUATION scores. A fake OpenAI-compatible judge answers on loopback.
import { createOnlineEvaluationJob } from '../src/modules/online-evaluations/job';
import { startWorkerPool } from '../src/worker/pool';
import { globalId, type TestApp } from './support/app';
import type { FakeLlm } from './support/fake-llm';
import {
  contains,
  createRule,
  onlineScores,
  onlineTestApp,
  RULE,
  ruleState,
  settled,
  waitForRule,
} from './support/online';
import { ingest, span } from './support/spans';

let app: TestApp;
let fake: FakeLlm;
onlineTestApp({ EVALGRAPH_JUDGE_MAX_RETRIES: '1' }, (s) => ({ app, fake } = s));

const json = (value: unknown) => ({ text: JSON.stringify(value) });
// gpt-4o-mini at $0.15 / $0.60 per 1M tokens; the fake reports 100 prompt and 10 completion tokens a call.
const CALL_COST = (100 * 0.15 + 10 * 0.6) / 1e6;
const quality = {
  type: 'score_model',
  name: 'quality',
  model: 'gpt-4o-mini',
  input: [{ role: 'user', content: 'Rate this: {{sample.output_text}}' }],
  range: [0, 1],
  pass_threshold: 0.5,
};
const at = (s: number) => new Date(Date.UTC(2025, 2, 1, 12, 0, s)).toISOString();

it('judges a matching trace once, after its delay, and writes ONLINE_EVALUATION scores on it', async () => {
  const project = await app.seedProject();
  fake.on('Rate this: a fine answer', json({ score: 0.9, reasoning: 'helpful' }));
  const id = await createRule(app, project, { delaySeconds: 0, testingCriteria: [quality] });
  const sent = await ingest(app, project, [
    span({ traceId: 't1', spanId: 'root', name: 'agent', input: 'q', output: 'a fine answer' }),
    span({ traceId: 't1', spanId: 'llm', parentSpanId: 'root', model: 'gpt-4o', output: 'x' }),
  ]);
  expect(sent.body.errors).toBeUndefined();
  await waitForRule(app, id, settled(1));

  const rule = (await app.gql(RULE, { id })).body.data.evaluationRule;
  expect(rule.stats).toMatchObject({
    sampled: 1,
    pending: 0,
    evaluated: 1,
    errored: 0,
    skippedByBudget: 0,
    judgeInputTokens: 100,
    judgeOutputTokens: 10,
  });
  expect(Number(rule.stats.judgeCost)).toBeCloseTo(CALL_COST, 12);
  expect(rule.stats.lag.max).toBeGreaterThanOrEqual(0);
  const scores = await onlineScores(app, project);
  expect(scores).toEqual([
    {
      name: 'quality',
      value: 0.9,
      comment: 'helpful',
      source: 'ONLINE_EVALUATION',
      evaluationRuleId: id,
      graderName: 'quality',
      trace: { externalId: 't1' },
      span: null,
    },
  ]);
  // The root span was judged (its output), once.
  expect(fake.calls).toHaveLength(1);
  // Matches are added to the rule every couple of seconds.
  await waitForRule(app, id, (s) => s.stats.matched === 1);

  const metrics = await (await fetch(`${app.url}/metrics`)).text();
  expect(metrics).toMatch(/evalgraph_online_evaluations_total\{outcome="evaluated"\} [1-9]/);
  expect(metrics).toMatch(/evalgraph_online_evaluation_lag_seconds_count [1-9]/);
  expect(metrics).toMatch(/evalgraph_online_evaluation_targets_total\{stage="sampled"\} [1-9]/);
});

it('matches filters: trace conditions over the trace, span conditions on one span', async () => {
  const project = await app.seedProject();
  const judge = [contains('has_ok', 'ok')];
  const base = { delaySeconds: 0, testingCriteria: judge };
  const rules = {
    llmSpans: await createRule(app, project, {
      ...base,
      target: 'SPAN',
      filter: { spanKind: 'LLM' },
    }),
    gpt4oTraces: await createRule(app, project, { ...base, filter: { model: 'gpt-4o' } }),
    named: await createRule(app, project, { ...base, target: 'SPAN', filter: { name: 'lookup' } }),
    prodTagged: await createRule(app, project, { ...base, filter: { tags: ['prod', 'eu'] } }),
    userSessions: await createRule(app, project, {
      ...base,
      target: 'SPAN',
      filter: { userId: 'u1', sessionId: 's1', spanKind: 'TOOL' },
    }),
    metadata: await createRule(app, project, {
      ...base,
      target: 'SPAN',
      filter: {
        metadata: [
          { key: 'route', value: 'billing' },
          { key: 'cfg.temp', value: '0.5' },
        ],
      },
    }),
    errors: await createRule(app, project, { ...base, filter: { status: 'ERROR' } }),
    disabled: await createRule(app, project, { ...base, enabled: false }),
  };
  await ingest(app, project, [
    // A: tagged prod+eu across two spans, user u1 and session s1 on the root only.
    span({
      traceId: 'A',
      spanId: 'a0',
      name: 'agent',
      tags: ['prod'],
      userId: 'u1',
      sessionId: 's1',
      output: 'ok',
    }),
    span({
      traceId: 'A',
      spanId: 'a1',
      parentSpanId: 'a0',
      name: 'chat',
      kind: 'LLM',
      model: 'gpt-4o-2024-08-06',
      tags: ['eu'],
      output: 'ok',
    }),
    span({
      traceId: 'A',
      spanId: 'a2',
      parentSpanId: 'a0',
      name: 'lookup',
      kind: 'TOOL',
      output: 'ok',
    }),
    // B: another user; an errored LLM call to another model; metadata that matches.
    span({
      traceId: 'B',
      spanId: 'b0',
      name: 'agent',
      userId: 'u2',
      sessionId: 's1',
      tags: ['prod'],
      output: 'ok',
    }),
    span({
      traceId: 'B',
      spanId: 'b1',
      parentSpanId: 'b0',
      name: 'chat',
      kind: 'LLM',
      model: 'claude-3-5-sonnet',
      status: 'ERROR',
      metadata: { route: 'billing', cfg: { temp: 0.5 } },
      output: 'ok',
    }),
    span({
      traceId: 'B',
      spanId: 'b2',
      parentSpanId: 'b0',
      name: 'lookup',
      kind: 'TOOL',
      metadata: { route: 'billing', cfg: { temp: 0.7 } },
      output: 'ok',
    }),
  ]);
  const expected = {
    llmSpans: ['A/a1', 'B/b1'],
    gpt4oTraces: ['A'],
    named: ['A/a2', 'B/b2'],
    prodTagged: ['A'],
    userSessions: ['A/a2'],
    metadata: ['B/b1'],
    errors: ['B'],
    disabled: [],
  };
  for (const [name, id] of Object.entries(rules))
    await waitForRule(app, id, settled(expected[name as keyof typeof expected].length));
  const scores = await onlineScores(app, project);
  const judged: Record<string, string[]> = {};
  for (const s of scores) {
    const name = Object.entries(rules).find(([, id]) => id === s.evaluationRuleId)![0];
    (judged[name] ??= []).push(
      s.span ? `${s.trace.externalId}/${s.span.externalId}` : s.trace.externalId,
    );
  }
  for (const [name, targets] of Object.entries(expected))
    expect([name, (judged[name] ?? []).sort()]).toEqual([name, targets]);
  expect(scores.every((s) => s.value === 1 && s.name === 'has_ok')).toBe(true);
});

it('samples by a hash of the ids: about the rate, and the same ones again after re-ingest', async () => {
  const project = await app.seedProject();
  // Never due during the test: only what is sampled is looked at.
  const id = await createRule(app, project, {
    samplingRate: 0.3,
    delaySeconds: 3600,
    testingCriteria: [contains('c', 'x')],
  });
  const spans = Array.from({ length: 1000 }, (_, i) =>
    span({ traceId: `trace-${i}`, spanId: 'root', name: 'agent', output: 'x' }),
  );
  expect((await ingest(app, project, spans)).body.errors).toBeUndefined();
  const first = (await ruleState(app, id)).stats.sampled;
  expect(first).toBeGreaterThanOrEqual(250);
  expect(first).toBeLessThanOrEqual(350);
  // Re-ingest: any other choice would queue new targets; none is.
  expect((await ingest(app, project, spans)).body.errors).toBeUndefined();
  await new Promise((r) => setTimeout(r, 1_100)); // past the stats' cache
  expect((await ruleState(app, id)).stats.sampled).toBe(first);
  // A backfill of the same traces samples the same ones: all queued already.
  const again = await app.gql(
    `mutation($id: ID!, $from: DateTime!, $to: DateTime!) { backfillEvaluationRule(input: { id: $id, from: $from, to: $to }) { queuedCount scannedTraceCount nextFrom } }`,
    { id, from: at(0), to: at(59) },
  );
  expect(again.body.data.backfillEvaluationRule).toEqual({
    queuedCount: 0,
    scannedTraceCount: 1000,
    nextFrom: null,
  });
});

it('waits for the last batch of a trace: one judgement, of the whole trace, after the delay', async () => {
  const project = await app.seedProject();
  fake.on('Rate this: the complete answer', json({ score: 1 }));
  const id = await createRule(app, project, { delaySeconds: 4, testingCriteria: [quality] });
  // The root span arrives first without its output, then again with it (and a child).
  await ingest(app, project, [
    span({ traceId: 'late', spanId: 'root', name: 'agent', input: 'q' }),
  ]);
  await ingest(app, project, [
    span({ traceId: 'late', spanId: 'root', name: 'agent', output: 'the complete answer' }),
    span({ traceId: 'late', spanId: 'c', parentSpanId: 'root', name: 'tool' }),
  ]);
  const state = await waitForRule(app, id, settled(1));
  expect(state.stats).toMatchObject({ evaluated: 1, errored: 0 });
  expect(fake.calls).toHaveLength(1);
  const rule = (await app.gql(RULE, { id })).body.data.evaluationRule;
  // Judged no sooner than the delay after the last batch.
  expect(rule.stats.lag.p50).toBeGreaterThanOrEqual(4);
  expect((await onlineScores(app, project)).map((s) => s.value)).toEqual([1]);
});

it('judges each sampled trace exactly once with two workers racing for them', async () => {
  const project = await app.seedProject();
  fake.delayMs = 30;
  fake.on('Rate this:', json({ score: 0.5 }));
  // A second worker in this process, with its own claim token, racing the server's.
  const deps = app.server.deps;
  const services = app.server.services;
  const second = startWorkerPool(deps, [
    createOnlineEvaluationJob(deps, {
      costs: services.costs,
      judge: services.judge,
      quotas: services.quotas,
      events: services.events,
    }),
  ]);
  try {
    const id = await createRule(app, project, { delaySeconds: 0, testingCriteria: [quality] });
    for (let batch = 0; batch < 4; batch++)
      await ingest(
        app,
        project,
        Array.from({ length: 10 }, (_, i) =>
          span({
            traceId: `r${batch}-${i}`,
            spanId: 'root',
            name: 'agent',
            output: `answer ${batch}-${i}`,
          }),
        ),
      );
    await waitForRule(app, id, settled(40));
    expect((await ruleState(app, id)).stats).toMatchObject({ evaluated: 40, errored: 0 });
    const scores = await onlineScores(app, project);
    expect(new Set(scores.map((s) => s.trace.externalId)).size).toBe(40);
    expect(scores).toHaveLength(40);
    // No trace was judged twice.
    expect(fake.calls).toHaveLength(40);
  } finally {
    await second.stop();
  }
});

it('maps span fields to grader variables, with RAG contexts from the retrievers', async () => {
  const project = await app.seedProject();
  const id = await createRule(app, project, {
    target: 'SPAN',
    delaySeconds: 0,
    filter: { spanKind: 'LLM' },
    variables: { input: 'metadata.question', expectedOutput: 'metadata.expected' },
    testingCriteria: [
      {
        type: 'string_check',
        name: 'saw_everything',
        input: '{{item.input}}|{{sample.output_text}}|{{item.expected_output}}|{{item.contexts}}',
        reference: 'why?|because|because|["doc one","doc two","plain"]',
        operation: 'eq',
      },
    ],
  });
  await ingest(app, project, [
    span({ traceId: 'rag', spanId: 'r', name: 'agent' }),
    span({
      traceId: 'rag',
      spanId: 'ret1',
      parentSpanId: 'r',
      kind: 'RETRIEVER',
      name: 'search',
      startTime: at(1),
      output: JSON.stringify([{ page_content: 'doc one' }, 'doc two']),
    }),
    span({
      traceId: 'rag',
      spanId: 'ret2',
      parentSpanId: 'r',
      kind: 'RETRIEVER',
      name: 'search',
      startTime: at(2),
      output: 'plain',
    }),
    span({
      traceId: 'rag',
      spanId: 'llm',
      parentSpanId: 'r',
      kind: 'LLM',
      name: 'chat',
      startTime: at(3),
      input: 'prompt',
      output: 'because',
      metadata: { question: 'why?', expected: 'because' },
    }),
  ]);
  await waitForRule(app, id, settled(1));
  expect((await onlineScores(app, project)).map((s) => [s.span?.externalId, s.value])).toEqual([
    ['llm', 1],
  ]);
});

it('generates G-Eval steps once per rule and stores them with it', async () => {
  const project = await app.seedProject();
  const STEPS = 'Write 3 to 5 concise evaluation steps';
  fake.on(STEPS, json({ steps: ['Read it.', 'Judge it.'] }));
  fake.on('Evaluation form', { text: '5', logprobs: [{ token: '5', top: { '5': 1 } }] });
  const id = await createRule(app, project, {
    delaySeconds: 0,
    testingCriteria: [
      { type: 'g_eval', name: 'coherence', criteria: 'Coherent.', score_range: [1, 5] },
    ],
  });
  await ingest(
    app,
    project,
    ['g1', 'g2', 'g3'].map((t) => span({ traceId: t, spanId: 'root', name: 'agent', output: 'x' })),
  );
  await waitForRule(app, id, settled(3));
  expect((await ruleState(app, id)).stats).toMatchObject({ evaluated: 3, errored: 0 });
  expect(fake.calls.filter((c) => JSON.stringify(c.body.messages).includes(STEPS))).toHaveLength(1);
  const rule = await app.gql(`query($id: ID!) { evaluationRule(id: $id) { testingCriteria } }`, {
    id,
  });
  expect(rule.body.data.evaluationRule.testingCriteria[0].evaluation_steps).toEqual([
    'Read it.',
    'Judge it.',
  ]);
  expect((await onlineScores(app, project)).map((s) => s.value)).toEqual([1, 1, 1]);
});

it("stores each score as its name's config says, and errors a target whose score it refuses", async () => {
  const project = await app.seedProject();
  const config = (input: Record<string, unknown>) =>
    app.gql(
      `mutation($input: CreateScoreConfigInput!) { createScoreConfig(input: $input) { scoreConfig { id } } }`,
      { input: { projectId: globalId('Project', project), ...input } },
    );
  expect((await config({ name: 'has_ok', dataType: 'BOOLEAN' })).body.errors).toBeUndefined();
  expect(
    (await config({ name: 'capped', dataType: 'NUMERIC', maxValue: 0.5 })).body.errors,
  ).toBeUndefined();
  const ok = await createRule(app, project, {
    delaySeconds: 0,
    testingCriteria: [contains('has_ok', 'ok')],
  });
  const capped = await createRule(app, project, {
    delaySeconds: 0,
    testingCriteria: [contains('capped', 'ok')],
  });
  await ingest(app, project, [span({ traceId: 'c', spanId: 'root', name: 'agent', output: 'ok' })]);
  await waitForRule(app, ok, settled(1));
  const refused = await waitForRule(app, capped, settled(1));
  expect(refused.stats).toMatchObject({ evaluated: 0, errored: 1 });
  const res = await app.gql(
    `query($p: ID!) { scores(projectId: $p, filter: { source: ONLINE_EVALUATION }) { edges { node { name dataType value stringValue } } } }`,
    { p: globalId('Project', project) },
  );
  expect(res.body.data.scores.edges.map((e: { node: unknown }) => e.node)).toEqual([
    { name: 'has_ok', dataType: 'BOOLEAN', value: 1, stringValue: 'True' },
  ]);
});

it('writes what quotes half of a character as U+FFFD, where it failed the whole group', async () => {
  // A JSON error quotes the text around its fault cut by UTF-16 units: here half an emoji.
  const project = await app.seedProject();
  const json = await createRule(app, project, {
    delaySeconds: 0,
    testingCriteria: [{ type: 'json_schema', name: 'json', input: '{{sample.output_text}}' }],
  });
  await ingest(app, project, [
    span({ traceId: 'cut', spanId: 'root', name: 'agent', output: '😀😀😀😀😀😀' }),
  ]);
  expect((await waitForRule(app, json, settled(1))).stats).toMatchObject({
    evaluated: 1,
    errored: 0,
  });
  expect(await onlineScores(app, project)).toEqual([
    expect.objectContaining({ name: 'json', value: 0, comment: expect.stringMatching(/\ufffd/) }),
  ]);

  // A judge's unreadable answer, quoted in the task's error cut inside an emoji: the task
  // errors once, judged once (not a failed write, judged again and again).
  fake.on('Rate this: cut', { text: `${'x'.repeat(199)}😀 and no JSON` });
  const judged = await createRule(app, project, { delaySeconds: 0, testingCriteria: [quality] });
  await ingest(app, project, [
    span({ traceId: 'cut-2', spanId: 'root', name: 'agent', output: 'cut' }),
  ]);
  expect((await waitForRule(app, judged, settled(1))).stats).toMatchObject({ errored: 1 });
  expect(fake.calls).toHaveLength(1);
});

it('refuses bad rules with the path of the problem', async () => {
  const input = { projectId: globalId('Project', app.projectId), name: 'bad' };
  const cases: [Record<string, unknown>, (string | number)[]][] = [
    [{ testingCriteria: [{ type: 'nope', name: 'x' }] }, ['input', 'testingCriteria', 0, 'type']],
    [{ testingCriteria: [contains('c', 'x')], samplingRate: 1.5 }, ['input', 'samplingRate']],
    [{ testingCriteria: [contains('c', 'x')], delaySeconds: -1 }, ['input', 'delaySeconds']],
    [
      { testingCriteria: [contains('c', 'x')], variables: { input: 'body' } },
      ['input', 'variables', 'input'],
    ],
    [
      { testingCriteria: [contains('c', 'x')], filter: { tags: [''] } },
      ['input', 'filter', 'tags', 0],
    ],
  ];
  for (const [fields, path] of cases) {
    const res = await app.gql(
      `mutation($input: CreateEvaluationRuleInput!) { createEvaluationRule(input: $input) { evaluationRule { id } } }`,
      { input: { ...input, ...fields } },
    );
    expect([res.body.errors?.[0].extensions?.code, res.body.errors?.[0].extensions?.path]).toEqual([
      'BAD_USER_INPUT',
      path,
    ]);
  }
});
