// Evaluation webhook payloads speak the API's dialect: the final events carry `resultCounts`,
// `percentDone` and `perTestingCriteriaResults` exactly as `evaluation(id)` answers them, with
// null (never 0) for what cannot be computed. Received by a real receiver on loopback.
import { Webhook } from 'standardwebhooks';
import { createTestApp, globalId, type TestApp } from './support/app';
import { createEvaluation, waitFor } from './support/evaluations';
import { judgeEnv, startFakeLlm, type FakeLlm } from './support/fake-llm';
import { until } from './support/live';
import { startReceiver, type Receiver } from './support/receiver';

let app: TestApp;
let receiver: Receiver;
let fake: FakeLlm;

beforeAll(async () => {
  receiver = await startReceiver();
  fake = await startFakeLlm();
  app = await createTestApp({
    EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    ...judgeEnv(fake),
    EVALGRAPH_JUDGE_MAX_RETRIES: '0',
    EVALGRAPH_EVAL_CONCURRENCY: '2',
  });
});
beforeEach(() => {
  receiver.received.length = 0;
  fake.reset();
});
// Each test's endpoints stop receiving after it, even when it failed halfway.
afterEach(() => app.server.deps.db.query(`UPDATE webhook_endpoints SET enabled = false`));
afterAll(async () => {
  await app.close();
  await receiver.close();
  await fake.close();
});

const SUMMARY = `query($id: ID!) { evaluation(id: $id) { status percentDone resultCounts { total completed passed failed errored skipped }
  perTestingCriteriaResults { name type meanScore passed failed errored passRate } } }`;

async function subscribe(events: string[]) {
  const res = await app.gql(
    `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret } }`,
    {
      input: { projectId: globalId('Project', app.projectId), url: receiver.url, events },
    },
  );
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.createWebhookEndpoint.secret as string;
}

/** The verified payload of `type` about the evaluation `id`, once it arrives. */
async function received(secret: string, type: string, id: string) {
  const find = () =>
    receiver.received
      .map((r) => new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as any)
      .find((p) => p.type === type && p.data.id === id);
  await until(() => !!find(), 10_000, type);
  return find();
}

/** What the API answers for the evaluation, in the webhook's field names. */
async function answer(id: string) {
  const res = await app.gql(SUMMARY, { id });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.evaluation;
}

const string = {
  type: 'string_check',
  name: 'exact',
  input: '{{sample.output_text}}',
  reference: '{{item.expected_output}}',
  operation: 'eq',
};
const regex = { type: 'regex', name: 'has a', input: '{{sample.output_text}}', pattern: 'a' };
const judged = {
  type: 'score_model',
  name: 'judge',
  model: 'gpt-4o-mini',
  input: [{ role: 'user', content: 'Rate: {{sample.output_text}}' }],
  pass_threshold: 0.5,
};

it('evaluation.completed carries the result counts and the per-grader summary, as the API answers them', async () => {
  const secret = await subscribe(['evaluation.completed']);
  const items = [
    { input: 1, output: 'cat', expectedOutput: 'cat' }, // both pass
    { input: 2, output: 'bat', expectedOutput: 'cat' }, // exact fails
    { input: 3, output: 'dog', expectedOutput: 'dog' }, // has a fails
    { input: 4, output: 'cow', expectedOutput: 'pig' }, // both fail
  ];
  const id = await createEvaluation(app, [string, regex], items);
  await waitFor(app, id);
  const { data } = await received(secret, 'evaluation.completed', id);
  const api = await answer(id);
  expect(data).toMatchObject({
    id,
    status: 'COMPLETED',
    percentDone: api.percentDone,
    resultCounts: api.resultCounts,
    perTestingCriteriaResults: api.perTestingCriteriaResults,
  });
  // The same answer, and the right one.
  expect(data.resultCounts).toEqual({
    total: 4,
    completed: 4,
    passed: 1,
    failed: 3,
    errored: 0,
    skipped: 0,
  });
  expect(data.perTestingCriteriaResults).toEqual([
    {
      name: 'exact',
      type: 'STRING_CHECK',
      meanScore: 0.5,
      passed: 2,
      failed: 2,
      errored: 0,
      passRate: 0.5,
    },
    {
      name: 'has a',
      type: 'REGEX',
      meanScore: 0.5,
      passed: 2,
      failed: 2,
      errored: 0,
      passRate: 0.5,
    },
  ]);
});

it('a grader with no scored results has a null mean score and pass rate, not 0', async () => {
  const secret = await subscribe(['evaluation.completed']);
  fake.on('Rate:', { text: 'no JSON here' }); // every judge answer is unusable: the grader errors
  const id = await createEvaluation(
    app,
    [regex, judged],
    [
      { input: 1, output: 'a' },
      { input: 2, output: 'b' },
      { input: 3, output: 'a' },
    ],
  );
  await waitFor(app, id);
  const { data } = await received(secret, 'evaluation.completed', id);
  const api = await answer(id);
  expect(data.resultCounts).toEqual(api.resultCounts);
  expect(data.perTestingCriteriaResults).toEqual(api.perTestingCriteriaResults);
  expect(data.resultCounts).toEqual({
    total: 3,
    completed: 3,
    passed: 0,
    failed: 0,
    errored: 3,
    skipped: 0,
  });
  expect(data.perTestingCriteriaResults).toEqual([
    {
      name: 'has a',
      type: 'REGEX',
      meanScore: 2 / 3,
      passed: 2,
      failed: 1,
      errored: 0,
      passRate: 2 / 3,
    },
    {
      name: 'judge',
      type: 'SCORE_MODEL',
      meanScore: null,
      passed: 0,
      failed: 0,
      errored: 3,
      passRate: null,
    },
  ]);
});

it('progress shows percentDone as the API does; evaluation.canceled carries the summary of what was graded', async () => {
  const secret = await subscribe(['evaluation.progress', 'evaluation.canceled']);
  fake.on('Rate: first', { text: JSON.stringify({ score: 1 }) });
  fake.on('Rate:', { hang: true });
  const id = await createEvaluation(
    app,
    [judged],
    [
      { input: 1, output: 'first' },
      { input: 2, output: 'second' },
      { input: 3, output: 'third' },
    ],
  );
  const progress = await received(secret, 'evaluation.progress', id);
  expect(progress.data.resultCounts).toEqual({
    total: 3,
    completed: 1,
    passed: 1,
    failed: 0,
    errored: 0,
    skipped: 0,
  });
  expect(progress.data.percentDone).toBe(100 / 3);
  await until(() => fake.hanging() > 0, 5_000, 'a judge call held');
  await app.gql(
    `mutation($id: ID!) { cancelEvaluation(input: { id: $id }) { evaluation { status } } }`,
    { id },
  );
  const { data } = await received(secret, 'evaluation.canceled', id);
  const api = await answer(id);
  expect(data).toMatchObject({
    status: 'CANCELED',
    percentDone: api.percentDone,
    resultCounts: api.resultCounts,
    perTestingCriteriaResults: api.perTestingCriteriaResults,
  });
  expect(data.perTestingCriteriaResults).toEqual([
    {
      name: 'judge',
      type: 'SCORE_MODEL',
      meanScore: 1,
      passed: 1,
      failed: 0,
      errored: 0,
      passRate: 1,
    },
  ]);
});
