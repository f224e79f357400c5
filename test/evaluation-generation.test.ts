// Evaluations whose outputs a model generates (the `completions` data source) through HTTP with
// the fake provider: the messages it receives (rendered with the item) and the sampling params,
// retries, generation priced apart from judging and counted into quotas, and a run stopped when
// the quota is spent.
import { globalId, type TestApp } from './support/app';
import { CREATE, waitFor } from './support/evaluations';
import type { FakeLlm } from './support/fake-llm';
import { judgeTestApp } from './support/judge-app';

let app: TestApp;
let fake: FakeLlm;
judgeTestApp(
  {
    // One item at a time: the order of calls (and of quota checks) is known.
    EVALGRAPH_EVAL_CONCURRENCY: '1',
    EVALGRAPH_JUDGE_MAX_RETRIES: '2',
    EVALGRAPH_JUDGE_TIMEOUT_MS: '5000',
  },
  (s) => ({ app, fake } = s),
);

const out = '{{sample.output_text}}';
const exact = {
  type: 'string_check',
  name: 'exact',
  input: out,
  reference: '{{item.expected_output}}',
  operation: 'eq',
};
const rated = {
  type: 'score_model',
  name: 'rated',
  model: 'gpt-4o-mini',
  input: [{ role: 'user', content: `Rate this: ${out}` }],
  pass_threshold: 0.5,
};
const completions = {
  model: 'gpt-4o-mini',
  inputMessages: [
    { role: 'system', content: 'Answer with the city only.' },
    { role: 'user', content: 'Capital of {{item.country}}?' },
  ],
  samplingParams: { temperature: 0.2, maxTokens: 16, topP: 0.9, seed: 7 },
};
// gpt-4o-mini at $0.15 / $0.60 per 1M tokens.
const cost = (prompt: number, completion: number) => (prompt * 0.15 + completion * 0.6) / 1e6;

const ITEMS = `query($id: ID!) { evaluation(id: $id) { dataSource outputs generationInputTokens generationOutputTokens generationCost
  judgeInputTokens judgeOutputTokens judgeCost
  items(first: 10) { edges { node { state output lastError generationInputTokens generationOutputTokens generationCost generationLatencyMs } } } } }`;

async function generated(id: string) {
  const res = await app.gql(ITEMS, { id });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  const e = res.body.data.evaluation;
  return { ...e, items: e.items.edges.map((x: any) => x.node) };
}

const create = (dataSource: Record<string, unknown>, testingCriteria: unknown[] = [exact]) =>
  app.gql(CREATE, {
    input: {
      projectId: globalId('Project', app.projectId),
      name: 'generated',
      testingCriteria,
      dataSource,
    },
  });

const generationCalls = () =>
  fake.calls.filter((c) => JSON.stringify(c.body.messages ?? []).includes('Capital of'));

it('generates each output from the rendered messages and sampling params, grades it, and prices it apart from judging', async () => {
  fake.on('Capital of France?', { text: 'Paris', usage: { prompt: 20, completion: 2 } });
  fake.on('Capital of Italy?', { text: 'Milan', usage: { prompt: 20, completion: 2 } });
  fake.on('Rate this: Paris', { text: JSON.stringify({ score: 1 }) });
  fake.on('Rate this: Milan', { text: JSON.stringify({ score: 0 }) });
  // The first generation is told to come back later: it goes through the judge client's retries.
  fake.failNext(1, { status: 429, headers: { 'retry-after-ms': '20' } });
  const dataset = await app.gql(
    `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { dataset { id } } }`,
    {
      input: {
        projectId: globalId('Project', app.projectId),
        name: 'capitals to generate',
        items: [
          { input: { country: 'France' }, expectedOutput: 'Paris', output: 'recorded' },
          { input: { country: 'Italy' }, expectedOutput: 'Rome' },
        ],
      },
    },
  );
  const spent = await app.server.services.quotas.usageToday(app.projectId, 'PROJECT');
  const res = await create({ datasetId: dataset.body.data.createDataset.dataset.id, completions }, [
    exact,
    rated,
  ]);
  expect(res.body.errors).toBeUndefined();
  const id = res.body.data.createEvaluation.evaluation.id;
  const done = await waitFor(app, id);
  expect([done.status, done.resultCounts]).toEqual([
    'COMPLETED',
    { total: 2, completed: 2, passed: 1, failed: 1, errored: 0 },
  ]);

  // What the provider received: the messages rendered with each item, the sampling params as asked.
  const calls = generationCalls();
  expect(calls.map((c) => c.body.messages[1].content)).toEqual([
    'Capital of France?', // refused once (429), then sent again
    'Capital of France?',
    'Capital of Italy?',
  ]);
  for (const { body } of calls) {
    expect({ ...body, messages: body.messages.slice(0, 1) }).toMatchObject({
      model: 'gpt-4o-mini',
      messages: [{ role: 'system', content: 'Answer with the city only.' }],
      temperature: 0.2,
      top_p: 0.9,
      seed: 7,
      max_tokens: 16,
    });
    expect(body.response_format).toBeUndefined();
  }

  const e = await generated(id);
  expect(e.outputs).toBe('GENERATED');
  expect(e.dataSource).toMatchObject({ type: 'dataset', outputs: 'GENERATED', completions });
  // Stored per item: the generated output (not the recorded one) and its call.
  expect(
    e.items.map((i: any) => [
      i.output,
      i.generationInputTokens,
      i.generationOutputTokens,
      i.generationCost,
    ]),
  ).toEqual([
    // (20 × 0.15 + 2 × 0.60) / 1M
    ['Paris', 20, 2, '0.0000042'],
    ['Milan', 20, 2, '0.0000042'],
  ]);
  expect(e.items.every((i: any) => typeof i.generationLatencyMs === 'number')).toBe(true);
  // The run: generation apart from judging (two judge calls of 100 + 10 tokens).
  expect([e.generationInputTokens, e.generationOutputTokens]).toEqual([40, 4]);
  expect(Number(e.generationCost)).toBeCloseTo(2 * cost(20, 2), 12);
  expect([e.judgeInputTokens, e.judgeOutputTokens]).toEqual([200, 20]);
  expect(Number(e.judgeCost)).toBeCloseTo(2 * cost(100, 10), 12);
  // The project's daily counters hold both, as quotas count them.
  const after = await app.server.services.quotas.usageToday(app.projectId, 'PROJECT');
  expect(after.judgeTokens - spent.judgeTokens).toBe(44 + 220);
  expect(Number(after.judgeCost) - Number(spent.judgeCost)).toBeCloseTo(
    2 * cost(20, 2) + 2 * cost(100, 10),
    12,
  );

  // Against a run of the recorded outputs: only the generated run has generation figures.
  const stored = await create({ datasetId: dataset.body.data.createDataset.dataset.id });
  await waitFor(app, stored.body.data.createEvaluation.evaluation.id);
  const compared = await app.gql(
    `query($base: ID!, $candidate: ID!) { compareEvaluations(baseId: $base, candidateId: $candidate) {
      baseRun { ...run } candidateRun { ...run } } }
    fragment run on ComparedRun { generationInputTokens generationOutputTokens generationCost generationLatency { items } }`,
    { base: stored.body.data.createEvaluation.evaluation.id, candidate: id },
  );
  expect(compared.body.errors).toBeUndefined();
  expect(compared.body.data.compareEvaluations).toEqual({
    baseRun: {
      generationInputTokens: null,
      generationOutputTokens: null,
      generationCost: null,
      generationLatency: null,
    },
    candidateRun: {
      generationInputTokens: 40,
      generationOutputTokens: 4,
      generationCost: e.generationCost,
      generationLatency: { items: 2 },
    },
  });
});

it("reads the item's fields as OpenAI items name them, and errors an item whose generation is refused", async () => {
  fake.on('Capital of Spain?', { text: 'Madrid' });
  fake.on('Capital of Atlantis?', {
    status: 400,
    body: { error: { message: 'no such place', type: 'invalid_request_error' } },
  });
  const res = await create({
    items: [
      { input: { country: 'Spain' }, expectedOutput: 'Madrid' },
      { input: { country: 'Atlantis' }, expectedOutput: '?' },
    ],
    completions: { model: 'gpt-4o-mini', inputMessages: completions.inputMessages },
  });
  const done = await waitFor(app, res.body.data.createEvaluation.evaluation.id);
  expect(done.resultCounts).toEqual({ total: 2, completed: 2, passed: 1, failed: 0, errored: 1 });
  const e = await generated(res.body.data.createEvaluation.evaluation.id);
  expect(e.items.map((i: any) => [i.state, i.output])).toEqual([
    ['DONE', 'Madrid'],
    ['ERRORED', null],
  ]);
  expect(e.items[1].lastError).toMatch(/^generation: .*no such place/);
  // No sampling params asked: none sent.
  const body = generationCalls()[0].body;
  expect([body.temperature, body.top_p, body.seed, body.max_tokens]).toEqual([
    undefined,
    undefined,
    undefined,
    undefined,
  ]);
});

it('refuses completions that cannot generate, with the path of the problem', async () => {
  const base = { items: [{ input: 'q', expectedOutput: 'a' }] };
  const messages = completions.inputMessages;
  const cases: [Record<string, unknown>, (string | number)[]][] = [
    [
      { ...base, completions: { ...completions, inputMessages: [{ role: 'user', content: out }] } },
      ['input', 'dataSource', 'completions', 'inputMessages', 0, 'content'],
    ],
    [
      {
        ...base,
        completions: { ...completions, inputMessages: [{ role: 'robot', content: 'hi' }] },
      },
      ['input', 'dataSource', 'completions', 'inputMessages', 0, 'role'],
    ],
    [
      { ...base, completions: { ...completions, inputMessages: [] } },
      ['input', 'dataSource', 'completions', 'inputMessages'],
    ],
    [
      {
        ...base,
        completions: { model: 'm', inputMessages: messages, samplingParams: { temperature: 3 } },
      },
      ['input', 'dataSource', 'completions', 'samplingParams', 'temperature'],
    ],
    [{ ...base, completions, outputs: 'SUPPLIED' }, ['input', 'dataSource', 'completions']],
    [{ ...base, outputs: 'GENERATED' }, ['input', 'dataSource', 'completions']],
    [{ traces: {}, completions }, ['input', 'dataSource', 'outputs']],
  ];
  for (const [dataSource, path] of cases) {
    const res = await create(dataSource);
    expect([
      path,
      res.body.errors?.[0].extensions?.code,
      res.body.errors?.[0].extensions?.path,
    ]).toEqual([path, 'BAD_USER_INPUT', path]);
  }
  expect(fake.calls).toHaveLength(0);
});

describe('quotas', () => {
  const items = [1, 2, 3, 4, 5].map((i) => ({ input: { country: `C${i}` }, expectedOutput: 'x' }));
  const regex = [{ type: 'regex', name: 'r', input: out, pattern: 'x' }];

  const createAs = (key: string, projectId = app.projectId) =>
    app.gql(
      CREATE,
      {
        input: {
          projectId: globalId('Project', projectId),
          name: 'generating on a quota',
          testingCriteria: regex,
          dataSource: { items, completions },
        },
      },
      { key },
    );

  it("stop a generating run when the user's judge tokens are spent, and refuse the next", async () => {
    fake.on('Capital of', { text: 'x' });
    const user = await app.seedUser({ role: 'DEVELOPER', tier: 'FREE' });
    // Each generation costs 110 tokens: items 1–3 start under 250, item 4 finds it spent.
    await app.server.deps.db.prisma.user.update({
      where: { id: user.userId },
      data: { limitOverrides: { daily: { judgeTokens: 250 } } },
    });
    const res = await createAs(user.key);
    expect(res.body.errors).toBeUndefined();
    const done = await waitFor(app, res.body.data.createEvaluation.evaluation.id);
    expect([done.status, done.errorCode]).toEqual(['FAILED', 'QUOTA_EXCEEDED']);
    expect(done.error).toMatch(/250 judge tokens/);
    expect(done.resultCounts).toEqual({ total: 5, completed: 3, passed: 3, failed: 0, errored: 0 });
    expect(generationCalls()).toHaveLength(3);
    // Generation alone spends: the next generating run is refused up front.
    const refused = await createAs(user.key);
    expect([refused.status, refused.body.errors?.[0].extensions?.code]).toEqual([
      429,
      'QUOTA_EXCEEDED',
    ]);
  });

  it("stop a generating run when the project's budget is spent", async () => {
    fake.on('Capital of', { text: 'x' });
    const projectId = await app.seedProject('generation budget');
    const user = await app.seedUser({ role: 'DEVELOPER', projectId, tier: 'ENTERPRISE' });
    await app.gql(
      `mutation($input: SetProjectBudgetInput!) { setProjectBudget(input: $input) { project { id } } }`,
      { input: { projectId: globalId('Project', projectId), judgeTokensPerDay: 250 } },
    );
    const res = await createAs(user.key, projectId);
    const done = await waitFor(app, res.body.data.createEvaluation.evaluation.id);
    expect([done.status, done.errorCode]).toEqual(['FAILED', 'QUOTA_EXCEEDED']);
    expect(done.error).toMatch(/project's daily budget of 250 judge tokens/);
    expect(done.resultCounts.completed).toBe(3);
  });
});
