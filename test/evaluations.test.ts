// Evaluations through HTTP: validation, deterministic graders end to end, datasets and trace
// data sources, exact counts, result filters.
import { createTestApp, globalId, type TestApp } from './support/app';
import { byGrader, CREATE, createEvaluation, waitFor } from './support/evaluations';
import { ingest, span } from './support/spans';
import { bleu } from '../src/modules/graders/text-metrics';

let app: TestApp;

beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const output = '{{sample.output_text}}';

describe('createEvaluation', () => {
  const create = (
    testingCriteria: unknown,
    dataSource: unknown = { items: [{ input: 'q', output: 'a' }] },
  ) =>
    app.gql(CREATE, {
      input: {
        projectId: globalId('Project', app.projectId),
        name: 'bad',
        testingCriteria,
        dataSource,
      },
    });

  it('refuses bad testing criteria and data sources with BAD_USER_INPUT and the path', async () => {
    const cases: [unknown, unknown, (string | number)[]][] = [
      [[{ type: 'no_such_grader', name: 'x' }], undefined, ['input', 'testingCriteria', 0, 'type']],
      [
        [
          {
            type: 'text_similarity',
            name: 'x',
            input: output,
            reference: 'r',
            evaluation_metric: 'bleu',
            pass_threshold: 1.5,
          },
        ],
        undefined,
        ['input', 'testingCriteria', 0, 'pass_threshold'],
      ],
      [
        [{ type: 'json_schema', name: 'x', input: output, schema: { type: 'not-a-type' } }],
        undefined,
        ['input', 'testingCriteria', 0, 'schema'],
      ],
      [
        [{ type: 'string_check', name: 'x', input: output, reference: 'a', operation: 'eq' }],
        { items: [] },
        ['input', 'dataSource'],
      ],
      [
        [{ type: 'string_check', name: 'x', input: output, reference: 'a', operation: 'eq' }],
        { items: [{ input: 'ok', contexts: Array.from({ length: 101 }, () => 'c') }] },
        ['input', 'dataSource', 'items', 0, 'contexts'],
      ],
      [
        [{ type: 'string_check', name: 'x', input: output, reference: 'a', operation: 'eq' }],
        {},
        ['input', 'dataSource'],
      ],
    ];
    for (const [criteria, source, path] of cases) {
      const res = await create(criteria, source);
      expect([
        path,
        res.body.errors?.[0].extensions?.code,
        res.body.errors?.[0].extensions?.path,
      ]).toEqual([path, 'BAD_USER_INPUT', path]);
    }
    expect(await app.server.deps.db.prisma.evaluation.count({ where: { name: 'bad' } })).toBe(0);
  });
});

describe('deterministic graders', () => {
  it('grades every item with every grader and counts exactly', async () => {
    const criteria = [
      {
        type: 'string_check',
        name: 'exact',
        input: output,
        reference: '{{item.expected_output}}',
        operation: 'eq',
      },
      {
        type: 'string_check',
        name: 'mentions',
        input: output,
        reference: 'Paris',
        operation: 'ilike',
      },
      { type: 'regex', name: 'no digits', input: output, pattern: '^\\D*$' },
      {
        type: 'text_similarity',
        name: 'rouge',
        input: output,
        reference: '{{item.expected_output}}',
        evaluation_metric: 'rouge_1',
        pass_threshold: 0.5,
      },
      {
        type: 'text_similarity',
        name: 'fuzzy',
        input: output,
        reference: '{{item.expected_output}}',
        evaluation_metric: 'fuzzy_match',
        pass_threshold: 0.9,
      },
      {
        type: 'json_schema',
        name: 'shape',
        input: '{{item.metadata}}',
        schema: {
          type: 'object',
          required: ['lang'],
          properties: { lang: { enum: ['en', 'fr'] } },
        },
      },
    ];
    const items = [
      {
        input: { question: 'Capital of France?' },
        expectedOutput: 'Paris',
        output: 'Paris',
        metadata: { lang: 'en' },
      },
      {
        input: { question: 'Capital of France?' },
        expectedOutput: 'Paris',
        output: 'It is paris',
        metadata: { lang: 'fr' },
      },
      {
        input: { question: 'Capital of Italy?' },
        expectedOutput: 'Rome',
        output: 'Rome 2',
        metadata: { lang: 'it' },
      },
    ];
    const id = await createEvaluation(app, criteria, items);
    const done = await waitFor(app, id);
    expect(done.status).toBe('COMPLETED');
    expect(done.resultCounts).toEqual({ total: 3, completed: 3, passed: 1, failed: 2, errored: 0 });
    expect(done.percentDone).toBe(100);
    const results = byGrader(done);
    expect(results.exact.map((r) => r.passed)).toEqual([true, false, false]);
    expect(results.mentions.map((r) => r.passed)).toEqual([true, true, false]);
    expect(results['no digits'].map((r) => r.passed)).toEqual([true, true, false]);
    // rouge-1 F of "It is paris" against "Paris": P 1/3, R 1 → 0.5.
    expect(results.rouge.map((r) => r.score)).toEqual([1, 0.5, expect.closeTo(2 / 3, 12)]);
    expect(results.shape.map((r) => r.passed)).toEqual([true, true, false]);
    expect(results.shape[2].reasoning).toMatch(/allowed values/);
    expect(done.perTestingCriteriaResults.find((g: any) => g.name === 'exact')).toEqual({
      name: 'exact',
      type: 'STRING_CHECK',
      meanScore: expect.closeTo(1 / 3, 12),
      passRate: expect.closeTo(1 / 3, 12),
      passed: 1,
      failed: 2,
      errored: 0,
    });
    expect(done.judgeCost).toBe('0');

    const failedOnly = await app.gql(
      `query($id: ID!) { evaluation(id: $id) { results(first: 50, filter: { passed: false, grader: "exact" }) { totalCount } } }`,
      { id },
    );
    expect(failedOnly.body.data.evaluation.results.totalCount).toBe(2);
  });

  it('keeps a result quoting half of a character (as U+FFFD) with its item', async () => {
    // A JSON error quotes the text around its fault cut by UTF-16 units: here half an emoji.
    const id = await createEvaluation(
      app,
      [{ type: 'json_schema', name: 'json', input: output }],
      [{ input: 'q', output: '😀😀😀😀😀😀' }],
    );
    const done = await waitFor(app, id);
    expect(done.resultCounts).toEqual({ total: 1, completed: 1, passed: 0, failed: 1, errored: 0 });
    expect(byGrader(done).json[0].reasoning).toMatch(/^not valid JSON: .*\ufffd/);
  });

  it('scores BLEU through the whole pipeline as the reference implementation does', async () => {
    const reference =
      'It is a guide to action that ensures that the military will forever heed Party commands';
    const hypothesis =
      'It is a guide to action which ensures that the military always obeys the commands of the party';
    const id = await createEvaluation(
      app,
      [
        {
          type: 'text_similarity',
          name: 'bleu',
          input: output,
          reference: '{{item.expected_output}}',
          evaluation_metric: 'bleu',
          pass_threshold: 0.3,
        },
      ],
      [
        { input: 'a', expectedOutput: reference, output: reference },
        { input: 'b', expectedOutput: reference, output: hypothesis },
      ],
    );
    const done = await waitFor(app, id);
    expect(byGrader(done).bleu.map((r) => r.score)).toEqual([
      expect.closeTo(1, 12),
      expect.closeTo(bleu([reference], hypothesis), 12),
    ]);
    expect(byGrader(done).bleu[1].score).toBeGreaterThan(0.3);
  });

  it('passes a short exact match with BLEU (sacreBLEU sentence_bleu: exp smoothing, effective order)', async () => {
    const id = await createEvaluation(
      app,
      [
        {
          type: 'text_similarity',
          name: 'bleu',
          input: output,
          reference: '{{item.expected_output}}',
          evaluation_metric: 'bleu',
          pass_threshold: 0.6,
        },
      ],
      [
        { input: 'a', expectedOutput: 'answer 16', output: 'answer 16' },
        // Unigrams 1/2, bigrams smoothed to 1/(2*1): sqrt(1/4).
        { input: 'b', expectedOutput: 'answer 16', output: 'answer 17' },
        // sacreBLEU's test/test_sentence_bleu.py (issue #98): 8.493 on its 0-100 scale.
        {
          input: 'c',
          expectedOutput: 'producţia de zahăr brut se exprimă în zahăr alb;',
          output: 'Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;',
        },
      ],
    );
    const done = await waitFor(app, id);
    expect(byGrader(done).bleu.map((r) => [r.score, r.passed])).toEqual([
      [1, true],
      [0.5, false],
      [expect.closeTo(0.08493, 5), false],
    ]);
  });

  it('creates a batch of evaluations, validating all of them first', async () => {
    const regex = [{ type: 'regex', name: 'r', input: output, pattern: 'a' }];
    const bad = await app.gql(
      `mutation($input: CreateEvaluationBatchInput!) { createEvaluationBatch(input: $input) { batch { id } } }`,
      {
        input: {
          projectId: globalId('Project', app.projectId),
          name: 'nightly',
          evaluations: [
            {
              name: 'one',
              testingCriteria: regex,
              dataSource: { items: [{ input: 1, output: 'a' }] },
            },
            {
              name: 'two',
              testingCriteria: [{ type: 'nope' }],
              dataSource: { items: [{ input: 1, output: 'a' }] },
            },
          ],
        },
      },
    );
    expect(bad.body.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'evaluations', 1, 'testingCriteria', 0, 'type'],
    });
    // A data source problem in the last one, found only when its items are loaded: still nothing stored.
    const emptyLast = await app.gql(
      `mutation($input: CreateEvaluationBatchInput!) { createEvaluationBatch(input: $input) { batch { id } } }`,
      {
        input: {
          projectId: globalId('Project', app.projectId),
          name: 'nightly',
          evaluations: [
            {
              name: 'one',
              testingCriteria: regex,
              dataSource: { items: [{ input: 1, output: 'a' }] },
            },
            { name: 'two', testingCriteria: regex, dataSource: { items: [] } },
          ],
        },
      },
    );
    expect(emptyLast.body.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'evaluations', 1, 'dataSource'],
    });
    expect(
      await app.server.deps.db.prisma.evaluationBatch.count({ where: { name: 'nightly' } }),
    ).toBe(0);
    expect(await app.server.deps.db.prisma.evaluation.count({ where: { name: 'one' } })).toBe(0);

    const ok = await app.gql(
      `mutation($input: CreateEvaluationBatchInput!) { createEvaluationBatch(input: $input) { batch { id name evaluations { id name } } } }`,
      {
        input: {
          projectId: globalId('Project', app.projectId),
          name: 'nightly',
          evaluations: ['one', 'two'].map((name) => ({
            name,
            testingCriteria: regex,
            dataSource: { items: [{ input: 1, output: name === 'one' ? 'a' : 'b' }] },
          })),
        },
      },
    );
    expect(ok.body.errors).toBeUndefined();
    const batch = ok.body.data.createEvaluationBatch.batch;
    expect(batch.evaluations.map((e: { name: string }) => e.name)).toEqual(['one', 'two']);
    const results = await Promise.all(
      batch.evaluations.map((e: { id: string }) => waitFor(app, e.id)),
    );
    expect(results.map((r) => r.resultCounts.passed)).toEqual([1, 0]);
    const listed = await app.gql(
      `query($p: ID!, $b: ID!) { evaluations(projectId: $p, filter: { batchId: $b }) { totalCount } }`,
      { p: globalId('Project', app.projectId), b: batch.id },
    );
    expect(listed.body.data.evaluations.totalCount).toBe(2);
  });

  it('evaluates a dataset and spans selected from traces', async () => {
    const dataset = await app.gql(
      `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { dataset { id name items { totalCount } } } }`,
      {
        input: {
          projectId: globalId('Project', app.projectId),
          name: 'capitals',
          items: [{ input: 'France', expectedOutput: 'Paris', output: 'Paris' }],
        },
      },
    );
    expect(dataset.body.errors).toBeUndefined();
    const datasetId = dataset.body.data.createDataset.dataset.id;
    const added = await app.gql(
      `mutation($input: AddDatasetItemsInput!) { addDatasetItems(input: $input) { addedCount dataset { items { totalCount } } } }`,
      {
        input: { datasetId, items: [{ input: 'Italy', expectedOutput: 'Rome', output: 'Milan' }] },
      },
    );
    expect(added.body.data.addDatasetItems).toEqual({
      addedCount: 1,
      dataset: { items: { totalCount: 2 } },
    });
    const criteria = [
      {
        type: 'string_check',
        name: 'exact',
        input: output,
        reference: '{{item.expected_output}}',
        operation: 'eq',
      },
    ];
    const fromDataset = await app.gql(CREATE, {
      input: {
        projectId: globalId('Project', app.projectId),
        name: 'from dataset',
        testingCriteria: criteria,
        dataSource: { datasetId },
      },
    });
    expect(fromDataset.body.errors).toBeUndefined();
    const done = await waitFor(app, fromDataset.body.data.createEvaluation.evaluation.id);
    expect(done.resultCounts).toMatchObject({ total: 2, passed: 1, failed: 1 });
    // Each item knows the dataset item it was made from (runs are compared by it).
    const linked = await app.gql(
      `query($id: ID!) { evaluation(id: $id) { items(first: 10) { edges { node { datasetItemId input } } } }
        dataset: node(id: $d) { ... on Dataset { items(first: 10) { edges { node { id input } } } } } }`.replace(
        'query($id: ID!)',
        'query($id: ID!, $d: ID!)',
      ),
      { id: fromDataset.body.data.createEvaluation.evaluation.id, d: datasetId },
    );
    expect(linked.body.errors).toBeUndefined();
    const datasetItems = new Map(
      linked.body.data.dataset.items.edges.map((e: any) => [e.node.input, e.node.id]),
    );
    expect(
      linked.body.data.evaluation.items.edges.map((e: any) => [e.node.input, e.node.datasetItemId]),
    ).toEqual([
      ['France', datasetItems.get('France')],
      ['Italy', datasetItems.get('Italy')],
    ]);

    await ingest(app, app.projectId, [
      span({
        traceId: 'prod-1',
        spanId: 'llm',
        name: 'answer',
        model: 'gpt-4o-mini',
        input: 'hi',
        output: 'Hello! How can I help?',
        userId: 'u-eval',
      }),
      span({
        traceId: 'prod-2',
        spanId: 'llm',
        name: 'answer',
        model: 'gpt-4o-mini',
        input: 'bye',
        output: 'Goodbye 42',
        userId: 'u-eval',
      }),
      span({
        traceId: 'prod-3',
        spanId: 'llm',
        name: 'answer',
        model: 'gpt-4o-mini',
        input: 'x',
        output: 'other user',
        userId: 'u-other',
      }),
    ]);
    // Cached before the evaluation: its span scores must drop the cached answer.
    const TRACE_SCORES = `query($p: ID!) { traces(projectId: $p, filter: { userId: "u-eval" }) {
      edges { node { scores(first: 10) { totalCount } } } } }`;
    const totals = async () => {
      const res = await app.gql(TRACE_SCORES, { p: globalId('Project', app.projectId) });
      return {
        cache: res.headers.get('x-cache'),
        totals: res.body.data.traces.edges.map((e: any) => e.node.scores.totalCount),
      };
    };
    await totals();
    // Cached (an answer is stored after it is sent: with Redis, a round trip later).
    let before = await totals();
    for (let i = 0; i < 20 && before.cache !== 'HIT'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      before = await totals();
    }
    expect(before).toEqual({ cache: 'HIT', totals: [0, 0] });
    const fromTraces = await app.gql(CREATE, {
      input: {
        projectId: globalId('Project', app.projectId),
        name: 'production',
        testingCriteria: [{ type: 'regex', name: 'no digits', input: output, pattern: '^\\D*$' }],
        dataSource: { traces: { filter: { userId: 'u-eval' }, spanKind: 'LLM' } },
      },
    });
    expect(fromTraces.body.errors).toBeUndefined();
    const prod = await waitFor(app, fromTraces.body.data.createEvaluation.evaluation.id);
    expect(prod.resultCounts).toEqual({ total: 2, completed: 2, passed: 1, failed: 1, errored: 0 });

    // Each item names its span and trace, and its result scores that span.
    const items = await app.gql(
      `query($id: ID!) { evaluation(id: $id) { items(first: 10) { edges { node {
        span { name input scores(first: 10) { edges { node { name value source graderName target trace { id } evaluation { id } } } } }
        trace { id } } } } } }`,
      { id: fromTraces.body.data.createEvaluation.evaluation.id },
    );
    expect(items.body.errors).toBeUndefined();
    const nodes = items.body.data.evaluation.items.edges.map(
      (e: { node: Record<string, any> }) => e.node,
    );
    expect(
      nodes
        .map((n: Record<string, any>) => [
          n.span.input,
          n.span.scores.edges.map((e: any) => e.node),
        ])
        .sort(),
    ).toEqual([
      [
        'bye',
        [
          {
            name: 'no digits',
            value: 0,
            source: 'EVALUATION',
            graderName: 'no digits',
            target: 'SPAN',
            trace: { id: nodes.find((n: any) => n.span.input === 'bye').trace.id },
            evaluation: { id: fromTraces.body.data.createEvaluation.evaluation.id },
          },
        ],
      ],
      [
        'hi',
        [
          {
            name: 'no digits',
            value: 1,
            source: 'EVALUATION',
            graderName: 'no digits',
            target: 'SPAN',
            trace: { id: nodes.find((n: any) => n.span.input === 'hi').trace.id },
            evaluation: { id: fromTraces.body.data.createEvaluation.evaluation.id },
          },
        ],
      ],
    ]);
    expect(new Set(nodes.map((n: any) => n.trace.id)).size).toBe(2);
    expect((await totals()).totals).toEqual([1, 1]);
    // Items of a dataset score nothing.
    expect(await app.server.deps.db.prisma.score.count({ where: { source: 'EVALUATION' } })).toBe(
      2,
    );
  });

  it("scores spans as each name's config says, skipping a score it refuses without failing the item", async () => {
    const project = await app.seedProject();
    const config = (input: Record<string, unknown>) =>
      app.gql(
        `mutation($input: CreateScoreConfigInput!) { createScoreConfig(input: $input) { scoreConfig { id } } }`,
        { input: { projectId: globalId('Project', project), ...input } },
      );
    expect((await config({ name: 'has text', dataType: 'BOOLEAN' })).body.errors).toBeUndefined();
    expect(
      (await config({ name: 'no digits', dataType: 'NUMERIC', maxValue: 0.5 })).body.errors,
    ).toBeUndefined();
    await ingest(app, project, [
      span({ traceId: 'cfg-1', spanId: 'llm', name: 'answer', model: 'gpt-4o-mini', output: 'Hi' }),
      span({
        traceId: 'cfg-2',
        spanId: 'llm',
        name: 'answer',
        model: 'gpt-4o-mini',
        output: 'B 42',
      }),
    ]);
    const created = await app.gql(CREATE, {
      input: {
        projectId: globalId('Project', project),
        name: 'configured',
        testingCriteria: [
          { type: 'regex', name: 'has text', input: output, pattern: '.' },
          { type: 'regex', name: 'no digits', input: output, pattern: '^\\D*$' },
        ],
        dataSource: { traces: { filter: {}, spanKind: 'LLM' } },
      },
    });
    expect(created.body.errors).toBeUndefined();
    const done = await waitFor(app, created.body.data.createEvaluation.evaluation.id);
    // Every result stands: 'no digits' passed on "Hi" though its config refuses a score of 1.
    expect(done.status).toBe('COMPLETED');
    expect(done.resultCounts).toEqual({ total: 2, completed: 2, passed: 1, failed: 1, errored: 0 });
    expect(
      Object.fromEntries(
        Object.entries(byGrader(done)).map(([name, rows]) => [
          name,
          rows.map((r) => r.score).sort(),
        ]),
      ),
    ).toEqual({ 'has text': [1, 1], 'no digits': [0, 1] });
    const res = await app.gql(
      `query($p: ID!) { scores(projectId: $p, filter: { source: EVALUATION }) { edges { node { name dataType value stringValue } } } }`,
      { p: globalId('Project', project) },
    );
    expect(res.body.errors).toBeUndefined();
    expect(
      res.body.data.scores.edges
        .map((e: { node: { name: string; value: number } }) => e.node)
        .sort((a: any, b: any) => a.name.localeCompare(b.name) || a.value - b.value),
    ).toEqual([
      { name: 'has text', dataType: 'BOOLEAN', value: 1, stringValue: 'True' },
      { name: 'has text', dataType: 'BOOLEAN', value: 1, stringValue: 'True' },
      { name: 'no digits', dataType: 'NUMERIC', value: 0, stringValue: null },
    ]);
  });
});
