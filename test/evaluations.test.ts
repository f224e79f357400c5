// Evaluations through HTTP: validation, deterministic graders end to end, datasets and trace
// data sources, exact counts, result filters.
import { createTestApp, globalId, type TestApp } from './support/app';
import { byGrader, CREATE, createEvaluation, waitFor } from './support/evaluations';
import { ingest, span } from './support/spans';

let app: TestApp;

beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const output = '{{sample.output_text}}';

describe('createEvaluation', () => {
  const create = (testingCriteria: unknown, dataSource: unknown = { items: [{ input: 'q', output: 'a' }] }) =>
    app.gql(CREATE, { input: { projectId: globalId('Project', app.projectId), name: 'bad', testingCriteria, dataSource } });

  it('refuses bad testing criteria and data sources with BAD_USER_INPUT and the path', async () => {
    const cases: [unknown, unknown, (string | number)[]][] = [
      [[{ type: 'no_such_grader', name: 'x' }], undefined, ['input', 'testingCriteria', 0, 'type']],
      [[{ type: 'text_similarity', name: 'x', input: output, reference: 'r', evaluation_metric: 'bleu', pass_threshold: 1.5 }], undefined, ['input', 'testingCriteria', 0, 'pass_threshold']],
      [[{ type: 'json_schema', name: 'x', input: output, schema: { type: 'not-a-type' } }], undefined, ['input', 'testingCriteria', 0, 'schema']],
      [[{ type: 'string_check', name: 'x', input: output, reference: 'a', operation: 'eq' }], { items: [] }, ['input', 'dataSource']],
      [[{ type: 'string_check', name: 'x', input: output, reference: 'a', operation: 'eq' }], { items: [{ input: 'ok', contexts: Array.from({ length: 101 }, () => 'c') }] }, ['input', 'dataSource', 'items', 0, 'contexts']],
      [[{ type: 'string_check', name: 'x', input: output, reference: 'a', operation: 'eq' }], {}, ['input', 'dataSource']],
    ];
    for (const [criteria, source, path] of cases) {
      const res = await create(criteria, source);
      expect([path, res.body.errors?.[0].extensions?.code, res.body.errors?.[0].extensions?.path]).toEqual([path, 'BAD_USER_INPUT', path]);
    }
    expect(await app.server.deps.db.prisma.evaluation.count({ where: { name: 'bad' } })).toBe(0);
  });
});

describe('deterministic graders', () => {
  it('grades every item with every grader and counts exactly', async () => {
    const criteria = [
      { type: 'string_check', name: 'exact', input: output, reference: '{{item.expected_output}}', operation: 'eq' },
      { type: 'string_check', name: 'mentions', input: output, reference: 'Paris', operation: 'ilike' },
      { type: 'regex', name: 'no digits', input: output, pattern: '^\\D*$' },
      { type: 'text_similarity', name: 'rouge', input: output, reference: '{{item.expected_output}}', evaluation_metric: 'rouge_1', pass_threshold: 0.5 },
      { type: 'text_similarity', name: 'fuzzy', input: output, reference: '{{item.expected_output}}', evaluation_metric: 'fuzzy_match', pass_threshold: 0.9 },
    ];
    const items = [
      { input: { question: 'Capital of France?' }, expectedOutput: 'Paris', output: 'Paris' },
      { input: { question: 'Capital of France?' }, expectedOutput: 'Paris', output: 'It is paris' },
      { input: { question: 'Capital of Italy?' }, expectedOutput: 'Rome', output: 'Rome 2' },
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
    expect(done.perTestingCriteriaResults.find((g: any) => g.name === 'exact')).toEqual({ name: 'exact', type: 'STRING_CHECK', meanScore: expect.closeTo(1 / 3, 12), passRate: expect.closeTo(1 / 3, 12), passed: 1, failed: 2, errored: 0 });
    expect(done.judgeCost).toBe('0');

    const failedOnly = await app.gql(`query($id: ID!) { evaluation(id: $id) { results(first: 50, filter: { passed: false, grader: "exact" }) { totalCount } } }`, { id });
    expect(failedOnly.body.data.evaluation.results.totalCount).toBe(2);
  });

  it('evaluates a dataset and spans selected from traces', async () => {
    const dataset = await app.gql(
      `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { dataset { id name items { totalCount } } } }`,
      { input: { projectId: globalId('Project', app.projectId), name: 'capitals', items: [{ input: 'France', expectedOutput: 'Paris', output: 'Paris' }] } },
    );
    expect(dataset.body.errors).toBeUndefined();
    const datasetId = dataset.body.data.createDataset.dataset.id;
    const added = await app.gql(`mutation($input: AddDatasetItemsInput!) { addDatasetItems(input: $input) { addedCount dataset { items { totalCount } } } }`, {
      input: { datasetId, items: [{ input: 'Italy', expectedOutput: 'Rome', output: 'Milan' }] },
    });
    expect(added.body.data.addDatasetItems).toEqual({ addedCount: 1, dataset: { items: { totalCount: 2 } } });
    const criteria = [{ type: 'string_check', name: 'exact', input: output, reference: '{{item.expected_output}}', operation: 'eq' }];
    const fromDataset = await app.gql(CREATE, { input: { projectId: globalId('Project', app.projectId), name: 'from dataset', testingCriteria: criteria, dataSource: { datasetId } } });
    expect(fromDataset.body.errors).toBeUndefined();
    const done = await waitFor(app, fromDataset.body.data.createEvaluation.evaluation.id);
    expect(done.resultCounts).toMatchObject({ total: 2, passed: 1, failed: 1 });

    await ingest(app, app.projectId, [
      span({ traceId: 'prod-1', spanId: 'llm', name: 'answer', model: 'gpt-4o-mini', input: 'hi', output: 'Hello! How can I help?', userId: 'u-eval' }),
      span({ traceId: 'prod-2', spanId: 'llm', name: 'answer', model: 'gpt-4o-mini', input: 'bye', output: 'Goodbye 42', userId: 'u-eval' }),
      span({ traceId: 'prod-3', spanId: 'llm', name: 'answer', model: 'gpt-4o-mini', input: 'x', output: 'other user', userId: 'u-other' }),
    ]);
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
  });
});
