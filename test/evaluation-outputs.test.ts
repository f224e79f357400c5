// Evaluations whose outputs the caller supplies (outputs: SUPPLIED) through HTTP: items wait
// unclaimed, are graded as their outputs arrive, and the run completes when every item has one or
// when it is closed; the errors of submitEvaluationOutputs; roles.
import { createTestApp, globalId, type TestApp } from './support/app';
import { CREATE, STATE, waitFor } from './support/evaluations';

let app: TestApp;

beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const exact = [
  {
    type: 'string_check',
    name: 'exact',
    input: '{{sample.output_text}}',
    reference: '{{item.expected_output}}',
    operation: 'eq',
  },
];

const SUBMIT = `mutation($input: SubmitEvaluationOutputsInput!) { submitEvaluationOutputs(input: $input) { acceptedCount evaluation { status } } }`;
const CLOSE = `mutation($id: ID!) { closeEvaluation(input: { id: $id }) { skippedCount evaluation { status } } }`;
const ITEMS = `query($id: ID!) { evaluation(id: $id) { outputs status percentDone
  resultCounts { total completed passed failed errored skipped }
  items(first: 100) { edges { node { id datasetItemId state attempts output outputTraceId results { graderName passed } } } } } }`;

async function createSupplied(
  dataSource: Record<string, unknown>,
  options: { key?: string; name?: string } = {},
) {
  const res = await app.gql(
    CREATE,
    {
      input: {
        projectId: globalId('Project', app.projectId),
        name: options.name ?? 'supplied',
        testingCriteria: exact,
        dataSource: { outputs: 'SUPPLIED', ...dataSource },
      },
    },
    { key: options.key },
  );
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.createEvaluation.evaluation as { id: string; status: string };
}

const items = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ input: `q${i}`, expectedOutput: `a${i}` }));

async function itemsOf(id: string) {
  const res = await app.gql(ITEMS, { id });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  const e = res.body.data.evaluation;
  return { ...e, items: e.items.edges.map((x: any) => x.node) };
}

const submit = (evaluationId: string, outputs: unknown[], key?: string) =>
  app.gql(SUBMIT, { input: { evaluationId, outputs } }, { key });

/** Polls until `check` holds of the evaluation's items. */
async function until(id: string, check: (e: Awaited<ReturnType<typeof itemsOf>>) => boolean) {
  for (let i = 0; i < 400; i++) {
    const e = await itemsOf(id);
    if (check(e)) return e;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not reached: ${JSON.stringify(await itemsOf(id))}`);
}

const errorOf = (res: { body: { errors?: { extensions?: Record<string, any> }[] } }) => [
  res.body.errors?.[0]?.extensions?.code,
  res.body.errors?.[0]?.extensions?.path,
];

it('keeps the items of a dataset waiting, grades them as outputs arrive, and completes with the last', async () => {
  const created = await app.gql(
    `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { dataset { id items(first: 10) { edges { node { id } } } } } }`,
    {
      input: {
        projectId: globalId('Project', app.projectId),
        name: 'supplied outputs',
        // Outputs recorded with the items are not what a SUPPLIED run grades.
        items: items(3).map((i) => ({ ...i, output: 'recorded' })),
      },
    },
  );
  const dataset = created.body.data.createDataset.dataset;
  const datasetItems: string[] = dataset.items.edges.map((e: any) => e.node.id);
  const evaluation = await createSupplied({ datasetId: dataset.id });
  expect(evaluation.status).toBe('QUEUED');
  // Workers poll and are woken by the creation: still nothing to claim after several rounds.
  await new Promise((r) => setTimeout(r, 1_500));
  let state = await itemsOf(evaluation.id);
  expect([state.outputs, state.status]).toEqual(['SUPPLIED', 'QUEUED']);
  expect(state.items.map((i: any) => [i.state, i.attempts, i.output])).toEqual([
    ['AWAITING_OUTPUT', 0, null],
    ['AWAITING_OUTPUT', 0, null],
    ['AWAITING_OUTPUT', 0, null],
  ]);

  // Named by the dataset item (with a trace) and by the evaluation item.
  const first = await submit(evaluation.id, [
    { itemId: datasetItems[0], output: 'a0', traceId: 'app-trace-0' },
    { itemId: state.items[1].id, output: 'wrong' },
  ]);
  expect(first.body.errors).toBeUndefined();
  expect(first.body.data.submitEvaluationOutputs.acceptedCount).toBe(2);
  state = await until(evaluation.id, (e) => e.resultCounts.completed === 2);
  expect(state.status).toBe('RUNNING');
  expect(state.resultCounts).toEqual({
    total: 3,
    completed: 2,
    passed: 1,
    failed: 1,
    errored: 0,
    skipped: 0,
  });
  expect(state.items.map((i: any) => [i.state, i.output, i.outputTraceId])).toEqual([
    ['DONE', 'a0', 'app-trace-0'],
    ['DONE', 'wrong', null],
    ['AWAITING_OUTPUT', null, null],
  ]);

  await submit(evaluation.id, [{ itemId: datasetItems[2], output: 'a2' }]);
  const done = await waitFor(app, evaluation.id);
  expect([done.status, done.resultCounts, done.percentDone]).toEqual([
    'COMPLETED',
    { total: 3, completed: 3, passed: 2, failed: 1, errored: 0 },
    100,
  ]);
  const results = done.results.edges.map((e: any) => [e.node.item.position, e.node.passed]);
  expect(results.sort()).toEqual([
    [0, true],
    [1, false],
    [2, true],
  ]);
});

it('refuses what names no waiting item of this evaluation, all or nothing', async () => {
  const evaluation = await createSupplied({ items: items(2) });
  const other = await createSupplied({ items: items(1) });
  const [mine, theirs] = [(await itemsOf(evaluation.id)).items, (await itemsOf(other.id)).items];
  const ok = { itemId: mine[0].id, output: 'a0' };
  const cases: [unknown[], string, unknown[]][] = [
    // Another evaluation's item, an unknown uuid, something that is not an id.
    [[ok, { itemId: theirs[0].id, output: 'x' }], 'NOT_FOUND', ['input', 'outputs', 1, 'itemId']],
    [
      [{ itemId: '0190c7d4-0000-7000-8000-00000000abcd', output: 'x' }],
      'NOT_FOUND',
      ['input', 'outputs', 0, 'itemId'],
    ],
    [[{ itemId: 'item-1', output: 'x' }], 'NOT_FOUND', ['input', 'outputs', 0, 'itemId']],
    [[ok, { ...ok, output: 'again' }], 'BAD_USER_INPUT', ['input', 'outputs', 1, 'itemId']],
    // Refused by GraphQL itself (a JSON! given null), before any path is known.
    [[{ itemId: mine[1].id, output: null }], 'BAD_USER_INPUT', undefined as never],
    [[], 'BAD_USER_INPUT', ['input', 'outputs']],
    [Array.from({ length: 1_001 }, () => ok), 'BAD_USER_INPUT', ['input', 'outputs']],
  ];
  for (const [outputs, code, path] of cases) {
    const res = await submit(evaluation.id, outputs);
    expect([outputs.length, ...errorOf(res)]).toEqual([outputs.length, code, path]);
  }
  // Nothing of a refused batch was stored.
  expect((await itemsOf(evaluation.id)).items.map((i: any) => i.state)).toEqual([
    'AWAITING_OUTPUT',
    'AWAITING_OUTPUT',
  ]);
  // An item whose output came already.
  expect((await submit(evaluation.id, [ok])).body.errors).toBeUndefined();
  expect(errorOf(await submit(evaluation.id, [{ ...ok, output: 'later' }]))).toEqual([
    'BAD_USER_INPUT',
    ['input', 'outputs', 0, 'itemId'],
  ]);
  // An evaluation that grades its items' own outputs takes none.
  const stored = await app.gql(CREATE, {
    input: {
      projectId: globalId('Project', app.projectId),
      name: 'stored',
      testingCriteria: exact,
      dataSource: { items: [{ input: 'q', output: 'a' }] },
    },
  });
  const storedId = stored.body.data.createEvaluation.evaluation.id;
  const storedItem = (await itemsOf(storedId)).items[0].id;
  expect(errorOf(await submit(storedId, [{ itemId: storedItem, output: 'x' }]))).toEqual([
    'BAD_USER_INPUT',
    ['input', 'evaluationId'],
  ]);
  expect(errorOf(await app.gql(CLOSE, { id: storedId }))).toEqual([
    'BAD_USER_INPUT',
    ['input', 'id'],
  ]);
  // Spans bring their own outputs.
  const fromSpans = await app.gql(CREATE, {
    input: {
      projectId: globalId('Project', app.projectId),
      name: 'spans',
      testingCriteria: exact,
      dataSource: { traces: {}, outputs: 'SUPPLIED' },
    },
  });
  expect(errorOf(fromSpans)).toEqual(['BAD_USER_INPUT', ['input', 'dataSource', 'outputs']]);
  // Generated outputs need a model provider; this server has none.
  const generating = await app.gql(CREATE, {
    input: {
      projectId: globalId('Project', app.projectId),
      name: 'generated',
      testingCriteria: exact,
      dataSource: {
        items: items(1),
        completions: { model: 'gpt-4o-mini', inputMessages: [{ role: 'user', content: 'hi' }] },
      },
    },
  });
  expect(errorOf(generating)).toEqual(['BAD_USER_INPUT', ['input', 'dataSource', 'completions']]);
});

it('closes: waiting items are skipped, the run completes once the given ones are graded', async () => {
  // This evaluation's events only: one an earlier test started may still be finishing.
  const events: { type: string; subjectId: string }[] = [];
  const stop = app.server.services.events.listen((e) => events.push(e));
  const evaluation = await createSupplied({ items: items(3) });
  const rawId = Buffer.from(evaluation.id, 'base64').toString().split(':')[1];
  const [first] = (await itemsOf(evaluation.id)).items;
  await submit(evaluation.id, [{ itemId: first.id, output: 'a0' }]);
  const closed = await app.gql(CLOSE, { id: evaluation.id });
  expect(closed.body.errors).toBeUndefined();
  expect(closed.body.data.closeEvaluation.skippedCount).toBe(2);
  const done = await until(evaluation.id, (e) => e.status === 'COMPLETED');
  expect([done.resultCounts, done.percentDone]).toEqual([
    { total: 3, completed: 1, passed: 1, failed: 0, errored: 0, skipped: 2 },
    100,
  ]);
  expect(done.items.map((i: any) => i.state)).toEqual(['DONE', 'SKIPPED', 'SKIPPED']);
  stop();
  expect(
    events.filter((e) => e.type === 'evaluation.completed' && e.subjectId === rawId),
  ).toHaveLength(1);
  // Too late for the others, and it is closed for good.
  const late = await submit(evaluation.id, [{ itemId: done.items[1].id, output: 'a1' }]);
  expect(errorOf(late)).toEqual(['BAD_USER_INPUT', ['input', 'evaluationId']]);
  expect(errorOf(await app.gql(CLOSE, { id: evaluation.id }))).toEqual([
    'BAD_USER_INPUT',
    ['input', 'id'],
  ]);

  // Closed before any output: complete at once, nothing graded.
  const empty = await createSupplied({ items: items(2) });
  const closedAtOnce = await app.gql(CLOSE, { id: empty.id });
  expect(closedAtOnce.body.data.closeEvaluation).toEqual({
    skippedCount: 2,
    evaluation: { status: 'COMPLETED' },
  });
});

it('waits again after a cancel and a rerun for the outputs that never came', async () => {
  const evaluation = await createSupplied({ items: items(2) });
  const canceled = await app.gql(
    `mutation($id: ID!) { cancelEvaluation(input: { id: $id }) { evaluation { status } } }`,
    { id: evaluation.id },
  );
  expect(canceled.body.data.cancelEvaluation.evaluation.status).toBe('CANCELED');
  expect((await itemsOf(evaluation.id)).items.map((i: any) => i.state)).toEqual([
    'CANCELED',
    'CANCELED',
  ]);
  const rerun = await app.gql(
    `mutation($id: ID!) { rerunEvaluation(input: { id: $id }) { requeuedCount evaluation { status } } }`,
    { id: evaluation.id },
  );
  expect(rerun.body.data.rerunEvaluation).toEqual({
    requeuedCount: 2,
    evaluation: { status: 'RUNNING' },
  });
  const waiting = await itemsOf(evaluation.id);
  expect(waiting.items.map((i: any) => i.state)).toEqual(['AWAITING_OUTPUT', 'AWAITING_OUTPUT']);
  await submit(
    evaluation.id,
    waiting.items.map((i: any, n: number) => ({ itemId: i.id, output: `a${n}` })),
  );
  const done = await waitFor(app, evaluation.id);
  expect([done.status, done.resultCounts.passed]).toEqual(['COMPLETED', 2]);
});

it('needs the write action: a viewer is FORBIDDEN, another project NOT_FOUND', async () => {
  const evaluation = await createSupplied({ items: items(1) });
  const [item] = (await itemsOf(evaluation.id)).items;
  const viewer = await app.seedUser({ role: 'VIEWER' });
  const outsider = await app.seedUser({ role: 'ADMIN', projectId: await app.seedProject() });
  const output = [{ itemId: item.id, output: 'a0' }];
  expect(errorOf(await submit(evaluation.id, output, viewer.key))[0]).toBe('FORBIDDEN');
  expect(errorOf(await submit(evaluation.id, output, outsider.key))[0]).toBe('NOT_FOUND');
  expect(errorOf(await app.gql(CLOSE, { id: evaluation.id }, { key: viewer.key }))[0]).toBe(
    'FORBIDDEN',
  );
  expect(errorOf(await app.gql(CLOSE, { id: evaluation.id }, { key: outsider.key }))[0]).toBe(
    'NOT_FOUND',
  );
  // Still waiting: neither was applied.
  const state = (await app.gql(STATE, { id: evaluation.id })).body.data.evaluation;
  expect([state.status, state.resultCounts.completed]).toEqual(['QUEUED', 0]);
});
