// A deleted project's rows until its data job removes them: every query and mutation that names one
// answers NOT_FOUND, for instance admins too (whose rights reach every project, and so do not
// vouch for one as a membership does). The worker is stopped first, so the rows stay put.
import { createTestApp, globalId, type TestApp } from './support/app';
import { ingest, span } from './support/spans';

jest.setTimeout(120_000);

let app: TestApp;
let sql: TestApp['server']['deps']['db']['query'];

beforeAll(async () => {
  app = await createTestApp({ EVALGRAPH_DELETE_INLINE_MS: '0' });
  sql = app.server.deps.db.query;
});
afterAll(() => app?.close());

async function ok(query: string, variables: Record<string, unknown> = {}) {
  const res = await app.gql(query, variables);
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data;
}

const criteria = [{ type: 'regex', name: 'r', input: '{{item.input}}', pattern: 'a' }];

it("answers NOT_FOUND to an instance admin naming a deleted project's rows before its job removed them", async () => {
  const projectId = await app.seedProject('deleted, rows still there');
  const p = globalId('Project', projectId);
  // More traces than the one batch deleteProject's call does itself (200): some stay.
  const spans = Array.from({ length: 210 }, (_, i) => span({ traceId: `t-${i}` }));
  expect((await ingest(app, projectId, spans)).body.errors).toBeUndefined();
  const dataset = (
    await ok(
      `mutation($i: CreateDatasetInput!) { createDataset(input: $i) { dataset { id items(first: 1) { edges { node { id } } } } } }`,
      { i: { projectId: p, name: 'd', items: [{ input: 'a' }] } },
    )
  ).createDataset.dataset;
  const evaluation = (
    await ok(
      `mutation($i: CreateEvaluationInput!) { createEvaluation(input: $i) { evaluation { id } } }`,
      {
        i: {
          projectId: p,
          name: 'e',
          testingCriteria: criteria,
          dataSource: { datasetId: dataset.id },
        },
      },
    )
  ).createEvaluation.evaluation;
  // On a session: a trace's scores go with it, and most traces go in the call's batch.
  const score = (
    await ok(`mutation($i: CreateScoreInput!) { createScore(input: $i) { score { id } } }`, {
      i: { projectId: p, sessionId: 's', name: 'q', value: 1 },
    })
  ).createScore.score;
  const rule = (
    await ok(
      `mutation($i: CreateAlertRuleInput!) { createAlertRule(input: $i) { alertRule { id } } }`,
      {
        i: {
          projectId: p,
          name: 'r',
          metric: 'SPAN_COUNT',
          aggregation: 'COUNT',
          operator: 'GT',
          threshold: 1,
          windowSeconds: 3600,
        },
      },
    )
  ).createAlertRule.alertRule;

  await app.server.worker!.stop(Date.now() + 5_000);
  const deleted = await app.gql(
    `mutation($id: ID!) { deleteProject(input: { id: $id }) { job { status } } }`,
    { id: p },
  );
  expect(deleted.body.data.deleteProject.job.status).toBe('RUNNING');
  const [left] = await sql<{ id: string }>(
    'SELECT id::text FROM traces WHERE project_id = $1::uuid LIMIT 1',
    [projectId],
  );
  expect(left).toBeDefined();
  const [leftSpan] = await sql<{ id: string }>(
    'SELECT id::text FROM spans WHERE trace_id = $1::uuid',
    [left.id],
  );
  const trace = globalId('Trace', left.id);
  const item = dataset.items.edges[0].node.id;
  const calls: [string, string, Record<string, unknown>][] = [
    ['trace', `query($id: ID!) { trace(id: $id) { id } }`, { id: trace }],
    ['span', `query($id: ID!) { span(id: $id) { id } }`, { id: globalId('Span', leftSpan.id) }],
    ['node', `query($id: ID!) { node(id: $id) { id } }`, { id: trace }],
    ['score node', `query($id: ID!) { node(id: $id) { id } }`, { id: score.id }],
    ['dataset', `query($id: ID!) { dataset(id: $id) { id } }`, { id: dataset.id }],
    ['evaluation', `query($id: ID!) { evaluation(id: $id) { id } }`, { id: evaluation.id }],
    ['alertRule', `query($id: ID!) { alertRule(id: $id) { id } }`, { id: rule.id }],
    [
      'compareEvaluations',
      `query($a: ID!) { compareEvaluations(baseId: $a, candidateId: $a) { __typename } }`,
      { a: evaluation.id },
    ],
    [
      'createScore',
      `mutation($i: CreateScoreInput!) { createScore(input: $i) { score { id } } }`,
      { i: { projectId: p, traceId: trace, name: 'q', value: 1 } },
    ],
    [
      'deleteScore',
      `mutation($id: ID!) { deleteScore(input: { id: $id }) { deletedScoreId } }`,
      { id: score.id },
    ],
    [
      'addDatasetItems',
      `mutation($i: AddDatasetItemsInput!) { addDatasetItems(input: $i) { addedCount } }`,
      { i: { datasetId: dataset.id, items: [{ input: 'b' }] } },
    ],
    [
      'updateDatasetItem',
      `mutation($i: UpdateDatasetItemInput!) { updateDatasetItem(input: $i) { __typename } }`,
      { i: { id: item, input: 'c' } },
    ],
    [
      'deleteDataset',
      `mutation($id: ID!) { deleteDataset(input: { id: $id }) { deletedDatasetId } }`,
      { id: dataset.id },
    ],
    [
      'deleteEvaluation',
      `mutation($id: ID!) { deleteEvaluation(input: { id: $id }) { deletedEvaluationId } }`,
      { id: evaluation.id },
    ],
    [
      'rerunEvaluation',
      `mutation($id: ID!) { rerunEvaluation(input: { id: $id }) { __typename } }`,
      { id: evaluation.id },
    ],
    [
      'deleteAlertRule',
      `mutation($id: ID!) { deleteAlertRule(input: { id: $id }) { deletedAlertRuleId } }`,
      { id: rule.id },
    ],
    [
      'deleteTraces',
      `mutation($i: DeleteTracesInput!) { deleteTraces(input: $i) { job { id } } }`,
      { i: { projectId: p, traceIds: [trace] } },
    ],
  ];
  const answers: [string, unknown][] = [];
  for (const [name, query, variables] of calls) {
    const res = await app.gql(query, variables);
    answers.push([name, res.body.errors?.[0]?.extensions?.code ?? res.body.data]);
  }
  expect(answers).toEqual(calls.map(([name]) => [name, 'NOT_FOUND']));
  // Nothing of it was changed: the score, the dataset and its item are as they were.
  const [{ n }] = await sql<{ n: number }>(
    'SELECT count(*)::int AS n FROM scores WHERE project_id = $1::uuid',
    [projectId],
  );
  expect(n).toBe(1);
  const [{ items }] = await sql<{ items: number }>(
    `SELECT count(*)::int AS items FROM dataset_items di JOIN datasets d ON d.id = di.dataset_id
      WHERE d.project_id = $1::uuid`,
    [projectId],
  );
  expect(items).toBe(1);
});
