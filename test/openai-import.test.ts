// importOpenAIEval through HTTP with OpenAI Evals JSON in the shapes of the API reference's own
// examples (https://platform.openai.com/docs/api-reference/evals: "Get an eval", "Get an eval
// run", "The eval object", the jsonl run data source): a completions run generates with the
// fake provider, a jsonl run grades its samples, a file_id run takes its lines as items.
import pg from 'pg';
import { globalId, type TestApp } from './support/app';
import { createEvaluation, waitFor } from './support/evaluations';
import { until } from './support/live';
import type { FakeLlm } from './support/fake-llm';
import { judgeTestApp } from './support/judge-app';

let app: TestApp;
let fake: FakeLlm;
judgeTestApp({}, (s) => ({ app, fake } = s));

const IMPORT = `mutation($input: ImportOpenAIEvalInput!) { importOpenAIEval(input: $input) {
  dataset { id name items(first: 20) { edges { node { input output } } } }
  evaluation { id name outputs testingCriteria dataSource } } }`;

// "Get an eval" (GET /v1/evals/{eval_id}): the response, as documented.
const getEval = {
  object: 'eval',
  id: 'eval_67abd54d9b0081909a86353f6fb9317a',
  data_source_config: {
    type: 'custom',
    schema: {
      type: 'object',
      properties: {
        item: {
          type: 'object',
          properties: { input: { type: 'string' }, ground_truth: { type: 'string' } },
          required: ['input', 'ground_truth'],
        },
      },
      required: ['item'],
    },
  },
  testing_criteria: [
    {
      name: 'String check',
      id: 'String check-2eaf2d8d-d649-4335-8148-9535a7ca73c2',
      type: 'string_check',
      input: '{{item.input}}',
      reference: '{{item.ground_truth}}',
      operation: 'eq',
    },
  ],
  name: 'External Data Eval',
  created_at: 1739314509,
  metadata: {},
};

const headlines = [
  ['Tech Company Launches Advanced Artificial Intelligence Platform', 'Technology'],
  ['Central Bank Increases Interest Rates Amid Inflation Concerns', 'Markets'],
  ['International Summit Addresses Climate Change Strategies', 'World'],
];
const instructions =
  'Categorize a given news headline into one of the following topics: Technology, Markets, World, Business, or Sports.';

// "Get an eval run" (GET /v1/evals/{eval_id}/runs/{run_id}): the response, as documented (its
// first three items of fifteen, its developer message's first sentence).
const getRun = {
  object: 'eval.run',
  id: 'evalrun_67abd54d60ec8190832b46859da808f7',
  eval_id: 'eval_67abd54d9b0081909a86353f6fb9317a',
  report_url:
    'https://platform.openai.com/evaluations/eval_67abd54d9b0081909a86353f6fb9317a?run_id=evalrun_67abd54d60ec8190832b46859da808f7',
  status: 'queued',
  model: 'gpt-4o-mini',
  name: 'gpt-4o-mini',
  created_at: 1743092069,
  result_counts: { total: 0, errored: 0, failed: 0, passed: 0 },
  per_model_usage: null,
  per_testing_criteria_results: null,
  data_source: {
    type: 'completions',
    source: {
      type: 'file_content',
      content: headlines.map(([input, ground_truth]) => ({ item: { input, ground_truth } })),
    },
    input_messages: {
      type: 'template',
      template: [
        {
          type: 'message',
          role: 'developer',
          content: { type: 'input_text', text: instructions },
        },
        { type: 'message', role: 'user', content: { type: 'input_text', text: '{{item.input}}' } },
      ],
    },
    model: 'gpt-4o-mini',
    sampling_params: { seed: 42, temperature: 1.0, top_p: 1.0, max_completions_tokens: 2048 },
  },
  error: null,
  metadata: {},
};

// "The eval object", as documented: an item schema of its own, a grader of the sample.
const evalObject = {
  object: 'eval',
  id: 'eval_67abd54d9b0081909a86353f6fb9317b',
  data_source_config: {
    type: 'custom',
    item_schema: {
      type: 'object',
      properties: { label: { type: 'string' } },
      required: ['label'],
    },
    include_sample_schema: true,
  },
  testing_criteria: [
    {
      name: 'My string check grader',
      type: 'string_check',
      input: '{{sample.output_text}}',
      reference: '{{item.label}}',
      operation: 'eq',
    },
  ],
  name: 'External Data Eval',
  created_at: 1739314509,
  metadata: { test: 'synthetics' },
};

// A run of it over a jsonl data source (CreateEvalJSONLRunDataSource: file_content lines of item
// and sample), in the eval run object's shape.
const jsonlRun = (source: unknown, id = 'evalrun_67e0c7d31560819090d60c0780591042') => ({
  object: 'eval.run',
  id,
  eval_id: evalObject.id,
  report_url: `https://platform.openai.com/evaluations/${evalObject.id}?run_id=${id}`,
  status: 'completed',
  model: 'gpt-4o-mini',
  name: 'recorded answers',
  created_at: 1742784467,
  result_counts: { total: 2, errored: 0, failed: 1, passed: 1 },
  per_model_usage: null,
  per_testing_criteria_results: null,
  data_source: { type: 'jsonl', source },
  error: null,
  metadata: {},
});
const lines = [
  { item: { label: 'positive' }, sample: { output_text: 'positive' } },
  { item: { label: 'negative' }, sample: { output_text: 'neutral' } },
];

const importEval = (input: Record<string, unknown>, key?: string) =>
  app.gql(IMPORT, { input: { projectId: globalId('Project', app.projectId), ...input } }, { key });

const errorOf = (res: { body: { errors?: { extensions?: Record<string, any> }[] } }) => [
  res.body.errors?.[0]?.extensions?.code,
  res.body.errors?.[0]?.extensions?.path,
];

it('imports a completions run: its items become a dataset, its model generates, the eval grades', async () => {
  for (const [headline, category] of headlines)
    fake.on((body) => body.messages.at(-1)?.content === headline, { text: category });
  const res = await importEval({ eval: getEval, run: getRun });
  expect(res.body.errors).toBeUndefined();
  const { dataset, evaluation } = res.body.data.importOpenAIEval;
  expect(dataset.name).toBe('External Data Eval (eval_67abd54d9b0081909a86353f6fb9317a)');
  expect(dataset.items.edges.map((e: any) => e.node)).toEqual(
    headlines.map(([input, ground_truth]) => ({ input: { input, ground_truth }, output: null })),
  );
  expect([evaluation.name, evaluation.outputs]).toEqual(['gpt-4o-mini', 'GENERATED']);
  // The item's fields are read from the item's input; OpenAI's own grader id is not kept.
  expect(evaluation.testingCriteria).toEqual([
    {
      name: 'String check',
      type: 'string_check',
      input: '{{item.input.input}}',
      reference: '{{item.input.ground_truth}}',
      operation: 'eq',
    },
  ]);
  expect(evaluation.dataSource.completions).toEqual({
    model: 'gpt-4o-mini',
    inputMessages: [
      { role: 'developer', content: instructions },
      { role: 'user', content: '{{item.input.input}}' },
    ],
    samplingParams: { seed: 42, temperature: 1, topP: 1, maxTokens: 2048 },
  });

  const done = await waitFor(app, evaluation.id);
  // As OpenAI grades this eval: a headline is never its category.
  expect([done.status, done.resultCounts]).toEqual([
    'COMPLETED',
    { total: 3, completed: 3, passed: 0, failed: 3, errored: 0 },
  ]);
  // The provider got each item's messages and the run's sampling params.
  const bodies = fake.calls.map((c) => c.body);
  const byHeadline = (m: { content: string }[]) => m[1].content;
  expect(
    bodies.map((b) => b.messages).sort((a, b) => byHeadline(a).localeCompare(byHeadline(b))),
  ).toEqual(
    [...headlines].sort().map(([headline]) => [
      { role: 'developer', content: instructions },
      { role: 'user', content: headline },
    ]),
  );
  for (const b of bodies)
    expect([b.model, b.temperature, b.top_p, b.seed, b.max_tokens]).toEqual([
      'gpt-4o-mini',
      1,
      1,
      42,
      2048,
    ]);
  const items = await app.gql(
    `query($id: ID!) { evaluation(id: $id) { items(first: 10) { edges { node { output } } } } }`,
    { id: evaluation.id },
  );
  expect(items.body.data.evaluation.items.edges.map((e: any) => e.node.output)).toEqual(
    headlines.map(([, category]) => category),
  );
});

it('imports a jsonl run: the samples are the outputs graded, no model is called', async () => {
  const res = await importEval({
    eval: evalObject,
    run: jsonlRun({ type: 'file_content', content: lines }),
  });
  expect(res.body.errors).toBeUndefined();
  const { dataset, evaluation } = res.body.data.importOpenAIEval;
  expect(dataset.items.edges.map((e: any) => e.node)).toEqual([
    { input: { label: 'positive' }, output: 'positive' },
    { input: { label: 'negative' }, output: 'neutral' },
  ]);
  expect(evaluation.outputs).toBe('STORED');
  const done = await waitFor(app, evaluation.id);
  expect(done.resultCounts).toEqual({ total: 2, completed: 2, passed: 1, failed: 1, errored: 0 });
  expect(fake.calls).toHaveLength(0);
});

const COMPARE = `query($base: ID!, $candidate: ID!) {
  compareEvaluations(baseId: $base, candidateId: $candidate) {
    dataset { id } matchedItems onlyInBase onlyInCandidate
    items(first: 10) { edges { node { input baseOutput candidateOutput } } } } }`;

it("imports every run of an eval into the eval's dataset, items of the same content once: its runs compare", async () => {
  const ev = { ...evalObject, id: 'eval_two_runs', name: 'Two runs' };
  const line = (label: string) => ({ item: { label }, sample: { output_text: label } });
  const runOf = (id: string, labels: string[]) => ({
    ...jsonlRun({ type: 'file_content', content: labels.map(line) }, id),
    eval_id: ev.id,
  });
  const first = await importEval({ eval: ev, run: runOf('evalrun_a', ['a', 'b', 'c']) });
  // The same item listed again (its keys in another order) is the same item.
  const second = await importEval({
    eval: ev,
    run: runOf('evalrun_b', ['b', 'c', 'd']),
    items: [...['b', 'c', 'd'].map(line), { sample: { output_text: 'c' }, item: { label: 'c' } }],
  });
  expect([first.body.errors, second.body.errors]).toEqual([undefined, undefined]);
  const [a, b] = [first, second].map((r) => r.body.data.importOpenAIEval);
  expect(a.dataset.id).toBe(b.dataset.id);
  expect(b.dataset.name).toBe('Two runs (eval_two_runs)');
  expect(b.dataset.items.edges.map((e: any) => e.node.input.label).sort()).toEqual([
    'a',
    'b',
    'c',
    'd',
  ]);
  // Each run runs on its own items only.
  const [doneA, doneB] = [await waitFor(app, a.evaluation.id), await waitFor(app, b.evaluation.id)];
  expect([doneA.resultCounts.total, doneB.resultCounts.total]).toEqual([3, 3]);
  expect(b.evaluation.dataSource.importedFrom).toEqual({ openAIRunId: 'evalrun_b' });

  const compared = await app.gql(COMPARE, { base: a.evaluation.id, candidate: b.evaluation.id });
  expect(compared.body.errors).toBeUndefined();
  const c = compared.body.data.compareEvaluations;
  expect([c.dataset.id, c.matchedItems, c.onlyInBase, c.onlyInCandidate]).toEqual([
    a.dataset.id,
    2,
    1,
    1,
  ]);
  expect(c.items.edges.map((e: any) => e.node.input.label).sort()).toEqual(['b', 'c']);

  // An item of the same input but another sample is another item: its output is graded.
  const third = await importEval({
    eval: ev,
    run: runOf('evalrun_c', ['a']),
    items: [{ item: { label: 'a' }, sample: { output_text: 'not a' } }],
  });
  expect(third.body.data.importOpenAIEval.dataset.items.edges).toHaveLength(5);
  // A run is imported once, whatever its items.
  expect(errorOf(await importEval({ eval: ev, run: runOf('evalrun_a', ['e']) }))).toEqual([
    'BAD_USER_INPUT',
    ['input', 'run', 'id'],
  ]);
});

it('imports at once: runs of a new eval into one dataset, the same run once', async () => {
  const ev = { ...evalObject, id: 'eval_at_once', name: 'At once' };
  const run = (id: string) => ({
    ...jsonlRun({ type: 'file_content', content: lines }, id),
    eval_id: ev.id,
  });
  // Sent together: each looks for the eval's dataset (none yet) and for the run before the others
  // write.
  const others = await Promise.all(
    ['evalrun_x', 'evalrun_y', 'evalrun_z'].map((id) => importEval({ eval: ev, run: run(id) })),
  );
  expect(others.map((r) => r.body.errors)).toEqual([undefined, undefined, undefined]);
  const same = await Promise.all(
    [1, 2, 3, 4].map(() => importEval({ eval: ev, run: run('evalrun_once') })),
  );
  const imported = same.filter((r) => r.body.errors === undefined);
  expect(imported).toHaveLength(1);
  for (const refused of same.filter((r) => r.body.errors !== undefined))
    expect(errorOf(refused)).toEqual(['BAD_USER_INPUT', ['input', 'run', 'id']]);
  const datasets = new Set(
    [...others, ...imported].map((r) => r.body.data.importOpenAIEval.dataset.id),
  );
  expect(datasets.size).toBe(1);
  const rows = await app.server.deps.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM evaluations WHERE data_source->'importedFrom'->>'openAIRunId' = ANY($1)`,
    [['evalrun_once', 'evalrun_x', 'evalrun_y', 'evalrun_z']],
  );
  expect(rows[0]!.n).toBe(4);
});

// Postgres only: a second connection holds each run's advisory lock to order the two imports'
// steps (the embedded database has one session, which would hold them for everyone).
if (process.env.DATABASE_URL)
  it("imports at once: a failed import that made the eval's dataset does not delete it from under another import of the eval", async () => {
    const ev = { ...evalObject, id: 'eval_race', name: 'Race' };
    const run = (id: string, label: string) => ({
      ...jsonlRun(
        { type: 'file_content', content: [{ item: { label }, sample: { output_text: label } }] },
        id,
      ),
      eval_id: ev.id,
    });
    const userB = await app.seedUser({ role: 'DEVELOPER' });
    const limited = await app.gql(
      'mutation($input: SetUserLimitsInput!) { setUserLimits(input: $input) { user { id } } }',
      { input: { userId: globalId('User', userB.userId), evaluationsPerDay: 1 } },
    );
    expect(limited.body.errors).toBeUndefined();
    const holder = new pg.Client({
      connectionString: (app.server.deps.config.database as { url: string }).url,
    });
    await holder.connect();
    try {
      const lockSql = (fn: string) =>
        `SELECT ${fn}(hashtextextended('openai-import:' || $1 || ':' || $2, 0))`;
      const lock = (runId: string) =>
        holder.query(lockSql('pg_advisory_lock'), [app.projectId, runId]);
      const unlock = (runId: string) =>
        holder.query(lockSql('pg_advisory_unlock'), [app.projectId, runId]);
      const waiting = (n: number) =>
        until(
          async () =>
            (
              await holder.query(
                `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
              )
            ).rows[0].n >= n,
          5_000,
          `${n} imports waiting`,
        );
      await lock('evalrun_race_b');
      await lock('evalrun_race_a');
      // B makes the eval's dataset, adds its item, and waits where its evaluation is stored.
      const b = importEval({ eval: ev, run: run('evalrun_race_b', 'b') }, userB.key);
      await waiting(1);
      // A finds that dataset, adds its item, and waits likewise.
      const a = importEval({ eval: ev, run: run('evalrun_race_a', 'a') });
      await waiting(2);
      // B's creator spends the last evaluation of the day meanwhile: B is refused where it is stored.
      await createEvaluation(
        app,
        [{ type: 'regex', name: 'r', input: '{{item.output}}', pattern: 'x' }],
        [{ input: 1, output: 'x' }],
        { key: userB.key },
      );
      await unlock('evalrun_race_b');
      expect((await b).body.errors?.[0]?.extensions?.code).toBe('QUOTA_EXCEEDED');
      await unlock('evalrun_race_a');
      const stored = await a;
      // A had nothing wrong with it: stored, on the eval's dataset, which is still there.
      expect(stored.body.errors).toBeUndefined();
      const datasetId = stored.body.data.importOpenAIEval.dataset.id;
      const seen = await app.gql('query($id: ID!) { node(id: $id) { id } }', { id: datasetId });
      expect(seen.body.data.node).not.toBeNull();
    } finally {
      await holder.end();
    }
  });

it("takes a file_id run's lines as items, JSONL text or a list", async () => {
  const fileRun = jsonlRun({ type: 'file_id', id: 'file-J7MoX9ToHXp2TutMEeYnwj' }, 'evalrun_file');
  expect(errorOf(await importEval({ eval: evalObject, run: fileRun }))).toEqual([
    'BAD_USER_INPUT',
    ['input', 'items'],
  ]);
  const res = await importEval({
    eval: evalObject,
    run: fileRun,
    items: lines.map((l) => JSON.stringify(l)).join('\n'),
  });
  expect(res.body.errors).toBeUndefined();
  const done = await waitFor(app, res.body.data.importOpenAIEval.evaluation.id);
  expect(done.resultCounts.passed).toBe(1);
  const listed = await importEval({
    eval: evalObject,
    run: jsonlRun({ type: 'file_id', id: 'file-J7MoX9ToHXp2TutMEeYnwj' }, 'evalrun_file_2'),
    items: lines,
  });
  expect(listed.body.data.importOpenAIEval.dataset.items.edges).toHaveLength(2);
});

it('refuses what it cannot import, at the path of the JSON given, and leaves nothing behind', async () => {
  const datasets = () => app.server.deps.db.prisma.dataset.count();
  const before = await datasets();
  const source = getRun.data_source;
  const cases: [Record<string, unknown>, (string | number)[]][] = [
    // "Create eval" response: a stored completions config.
    [
      {
        eval: {
          ...getEval,
          data_source_config: {
            type: 'stored_completions',
            metadata: { usecase: 'chatbot' },
            schema: { type: 'object', properties: { item: { type: 'object' } } },
          },
        },
        run: getRun,
      },
      ['input', 'eval', 'data_source_config', 'type'],
    ],
    [{ eval: { ...getEval, id: 'eval_other' }, run: getRun }, ['input', 'run', 'eval_id']],
    [
      { eval: getEval, run: { ...getRun, data_source: { ...source, type: 'responses' } } },
      ['input', 'run', 'data_source', 'type'],
    ],
    [
      {
        eval: getEval,
        run: {
          ...getRun,
          data_source: {
            ...source,
            input_messages: { type: 'item_reference', item_reference: 'item.input_trajectory' },
          },
        },
      },
      ['input', 'run', 'data_source', 'input_messages', 'type'],
    ],
    // An item the eval's schema refuses.
    [
      {
        eval: getEval,
        run: {
          ...getRun,
          data_source: {
            ...source,
            source: { type: 'file_content', content: [{ item: { input: 'no ground truth' } }] },
          },
        },
      },
      ['input', 'run', 'data_source', 'source', 'content', 0],
    ],
    [
      {
        eval: {
          ...getEval,
          testing_criteria: [{ type: 'python', name: 'p', source: 'def grade(s, i): return 1' }],
        },
        run: getRun,
      },
      ['input', 'eval', 'testing_criteria', 0, 'type'],
    ],
    [
      { eval: getEval, run: { ...getRun, data_source: { ...source, model: undefined } } },
      ['input', 'run', 'data_source', 'model'],
    ],
    [
      {
        eval: getEval,
        run: {
          ...getRun,
          data_source: { ...source, sampling_params: { reasoning_effort: 'low' } },
        },
      },
      ['input', 'run', 'data_source', 'sampling_params', 'reasoning_effort'],
    ],
    [
      {
        eval: getEval,
        run: {
          ...getRun,
          data_source: {
            ...source,
            input_messages: {
              type: 'template',
              template: [{ role: 'user', content: '{{sample.output_text}}' }],
            },
          },
        },
      },
      ['input', 'run', 'data_source', 'input_messages', 'template', 0, 'content'],
    ],
  ];
  for (const [input, path] of cases) {
    const res = await importEval(input);
    expect([path, ...errorOf(res)]).toEqual([path, 'BAD_USER_INPUT', path]);
  }
  expect(await datasets()).toBe(before);
  expect(fake.calls).toHaveLength(0);

  // The same run again.
  const run = jsonlRun({ type: 'file_content', content: lines }, 'evalrun_twice');
  expect((await importEval({ eval: evalObject, run })).body.errors).toBeUndefined();
  expect(errorOf(await importEval({ eval: evalObject, run }))).toEqual([
    'BAD_USER_INPUT',
    ['input', 'run', 'id'],
  ]);
});

it('writes no dataset and no items when the evaluation is refused (a quota)', async () => {
  const user = await app.seedUser({ role: 'DEVELOPER' });
  await app.server.deps.db.prisma.user.update({
    where: { id: user.userId },
    data: { limitOverrides: { daily: { evaluations: 0 } } },
  });
  // An eval not imported yet: its dataset is not made.
  const newEval = { ...evalObject, id: 'eval_over_quota' };
  const first = {
    ...jsonlRun({ type: 'file_content', content: lines }, 'evalrun_of_new_eval'),
    eval_id: newEval.id,
  };
  const res = await importEval({ eval: newEval, run: first }, user.key);
  expect(res.body.errors?.[0].extensions?.code).toBe('QUOTA_EXCEEDED');
  const made = await app.server.deps.db.prisma.dataset.count({
    where: { name: { contains: 'eval_over_quota' } },
  });
  expect(made).toBe(0);
  // An eval imported before: its dataset gets no new items.
  const earlier = jsonlRun({ type: 'file_content', content: lines }, 'evalrun_before_quota');
  expect((await importEval({ eval: evalObject, run: earlier })).body.errors).toBeUndefined();
  const versions = () => app.server.deps.db.prisma.datasetVersion.count();
  const before = await versions();
  const newLines = [{ item: { label: 'mixed' }, sample: { output_text: 'mixed' } }];
  const run = jsonlRun({ type: 'file_content', content: newLines }, 'evalrun_over_quota');
  const refused = await importEval({ eval: evalObject, run }, user.key);
  expect(refused.body.errors?.[0].extensions?.code).toBe('QUOTA_EXCEEDED');
  expect(await versions()).toBe(before);
});

it('needs the write action on the project', async () => {
  const viewer = await app.seedUser({ role: 'VIEWER' });
  const viewerEval = { ...evalObject, id: 'eval_viewer' };
  const run = { ...jsonlRun({ type: 'file_content', content: lines }), eval_id: viewerEval.id };
  expect(errorOf(await importEval({ eval: viewerEval, run }, viewer.key))[0]).toBe('FORBIDDEN');
  const made = await app.server.deps.db.prisma.dataset.count({
    where: { name: { contains: 'eval_viewer' } },
  });
  expect(made).toBe(0);
});
