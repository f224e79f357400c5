// No cached answer outlives a change of its project: every cached query root is primed (and seen
// to be a hit), then every mutation of the project runs once, and each root must then be
// computed again. A new query root or mutation fails the last tests until it is listed here.
import { randomUUID } from 'node:crypto';
import { getSchema } from '../src/schema';
import { createTestApp, globalId, type TestApp } from './support/app';
import { startReceiver, type Receiver } from './support/receiver';

let app: TestApp;
let receiver: Receiver;
const v: Record<string, string> = {};

/** A response computed within a few ms of an invalidation of its data is not kept (it may have raced it). */
const settle = () => new Promise((r) => setTimeout(r, 40));
const criteria = [{ type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'a' }];

beforeAll(async () => {
  receiver = await startReceiver();
  app = await createTestApp({ EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
  v.p = globalId('Project', app.projectId);
  const run = async (query: string, variables: Record<string, unknown>) => {
    const res = await app.gql(query, variables);
    expect(res.body.errors).toBeUndefined();
    return res.body.data;
  };
  await run(
    'mutation($p: ID!) { ingestSpans(input: { projectId: $p, spans: [{ traceId: "t1", spanId: "s1", name: "root", model: "gpt-4o-mini", inputTokens: 10, input: "a question", startTime: "2026-01-02T00:00:00Z" }] }) { acceptedCount } }',
    v,
  );
  const trace = await app.server.deps.db.prisma.trace.findFirstOrThrow({
    where: { projectId: app.projectId },
    include: { spans: true },
  });
  v.trace = globalId('Trace', trace.id);
  v.span = globalId('Span', trace.spans[0].id);
  const dataset = (
    await run(
      'mutation($p: ID!) { createDataset(input: { projectId: $p, name: "d", items: [{ input: "q", output: "a" }] }) { dataset { id items { edges { node { id } } } } } }',
      v,
    )
  ).createDataset.dataset;
  v.dataset = dataset.id;
  v.datasetItem = dataset.items.edges[0].node.id;
  v.evaluation = (
    await run(
      'mutation($p: ID!, $c: [JSON!]!) { createEvaluation(input: { projectId: $p, name: "e", testingCriteria: $c, dataSource: { items: [{ input: "q", output: "a" }] } }) { evaluation { id } } }',
      { ...v, c: criteria },
    )
  ).createEvaluation.evaluation.id;
  v.datasetEvaluation = (
    await run(
      'mutation($p: ID!, $c: [JSON!]!, $d: ID!) { createEvaluation(input: { projectId: $p, name: "on d", testingCriteria: $c, dataSource: { datasetId: $d } }) { evaluation { id } } }',
      { ...v, c: criteria, d: v.dataset },
    )
  ).createEvaluation.evaluation.id;
  v.rule = (
    await run(
      'mutation($p: ID!) { createAlertRule(input: { projectId: $p, name: "r", metric: COST, aggregation: SUM, operator: GT, threshold: 1, windowSeconds: 60 }) { alertRule { id } } }',
      v,
    )
  ).createAlertRule.alertRule.id;
  v.channel = (
    await run(
      'mutation($p: ID!) { createAlertChannel(input: { projectId: $p, type: PAGERDUTY, name: "pd", routingKey: "rk-1" }) { alertChannel { id } } }',
      v,
    )
  ).createAlertChannel.alertChannel.id;
  v.evaluationRule = (
    await run(
      'mutation($p: ID!, $c: [JSON!]!) { createEvaluationRule(input: { projectId: $p, name: "o", testingCriteria: $c, delaySeconds: 3600 }) { evaluationRule { id } } }',
      { ...v, c: criteria },
    )
  ).createEvaluationRule.evaluationRule.id;
  v.endpoint = (
    await run(
      'mutation($p: ID!, $url: String!) { createWebhookEndpoint(input: { projectId: $p, url: $url, events: ["webhook.test"] }) { webhookEndpoint { id } } }',
      { ...v, url: receiver.url },
    )
  ).createWebhookEndpoint.webhookEndpoint.id;
  v.message = (
    await run('mutation($id: ID!) { sendTestWebhook(input: { id: $id }) { messageId } }', {
      id: v.endpoint,
    })
  ).sendTestWebhook.messageId;
  v.price = (
    await run(
      'mutation($p: ID!) { upsertModelPrice(input: { projectId: $p, modelName: "priced-1", inputPrice: "1", outputPrice: "1" }) { modelPrice { id } } }',
      v,
    )
  ).upsertModelPrice.modelPrice.id;
  v.score = (
    await run(
      'mutation($p: ID!, $trace: ID!) { createScore(input: { projectId: $p, traceId: $trace, name: "q", value: 1 }) { score { id } } }',
      v,
    )
  ).createScore.score.id;
  v.scoreConfig = (
    await run(
      'mutation($p: ID!) { createScoreConfig(input: { projectId: $p, name: "q", dataType: NUMERIC }) { scoreConfig { id } } }',
      v,
    )
  ).createScoreConfig.scoreConfig.id;
  await quiet();
});
afterAll(async () => {
  await app.close();
  await receiver.close();
});

/** Waits until background work (evaluations, webhook deliveries) of the project is done: it invalidates too. */
async function quiet() {
  const prisma = app.server.deps.db.prisma;
  for (let i = 0; i < 500; i++) {
    const busy =
      (await prisma.evaluation.count({
        where: { projectId: app.projectId, status: { in: ['QUEUED', 'RUNNING'] } },
      })) + (await prisma.webhookDelivery.count({ where: { status: 'PENDING' } }));
    if (!busy) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await settle();
}

const FROM_TO = 'from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z"';
/** Every query root, with a document that reads the project's data (or the caller's own). */
const ROOTS: Record<string, () => [string, Record<string, unknown>]> = {
  project: () => [
    'query($p: ID!) { project(id: $p) { name members { totalCount edges { node { role } } } } }',
    v,
  ],
  projects: () => ['{ projects { totalCount } }', {}],
  traces: () => [
    'query($p: ID!) { traces(projectId: $p, first: 10) { totalCount edges { node { externalId spanCount } } } }',
    v,
  ],
  trace: () => [
    'query($trace: ID!) { trace(id: $trace) { name spanCount scores { totalCount } } }',
    v,
  ],
  span: () => ['query($span: ID!) { span(id: $span) { name } }', v],
  spans: () => [
    'query($p: ID!) { spans(projectId: $p, filter: { text: "question" }, first: 10) { edges { node { name } } } }',
    v,
  ],
  evaluations: () => [
    'query($p: ID!) { evaluations(projectId: $p) { totalCount edges { node { status } } } }',
    v,
  ],
  evaluation: () => ['query($evaluation: ID!) { evaluation(id: $evaluation) { name status } }', v],
  datasets: () => ['query($p: ID!) { datasets(projectId: $p) { totalCount } }', v],
  compareEvaluations: () => [
    'query($e: ID!) { compareEvaluations(baseId: $e, candidateId: $e) { matchedItems graders { name pairs } } }',
    { e: v.datasetEvaluation },
  ],
  dataset: () => ['query($dataset: ID!) { dataset(id: $dataset) { name } }', v],
  modelPrices: () => [
    'query($p: ID!) { modelPrices(first: 100, filter: { projectId: $p, builtIn: false }) { totalCount } }',
    v,
  ],
  costSummary: () => [`query($p: ID!) { costSummary(projectId: $p, ${FROM_TO}) { calls } }`, v],
  metrics: () => [
    `query($p: ID!) { metrics(projectId: $p, ${FROM_TO}, interval: WEEK) { totals { calls cost } } }`,
    v,
  ],
  costForecast: () => [
    'query($p: ID!) { costForecast(projectId: $p, horizon: DAY) { spentSoFar historyHours } }',
    v,
  ],
  alertRules: () => [
    'query($p: ID!) { alertRules(projectId: $p) { totalCount edges { node { threshold } } } }',
    v,
  ],
  alertRule: () => ['query($rule: ID!) { alertRule(id: $rule) { name threshold } }', v],
  alertChannels: () => [
    'query($p: ID!) { alertChannels(projectId: $p) { edges { node { name } } } }',
    v,
  ],
  alertChannel: () => ['query($channel: ID!) { alertChannel(id: $channel) { name } }', v],
  alertEvents: () => [
    'query($p: ID!) { alertEvents(projectId: $p) { edges { node { state } } } }',
    v,
  ],
  testAlertRule: () => ['query($rule: ID!) { testAlertRule(id: $rule) { value } }', v],
  evaluationRules: () => [
    'query($p: ID!) { evaluationRules(projectId: $p) { edges { node { name samplingRate } } } }',
    v,
  ],
  evaluationRule: () => [
    'query($evaluationRule: ID!) { evaluationRule(id: $evaluationRule) { name enabled stats { sampled } } }',
    v,
  ],
  webhookEndpoints: () => ['query($p: ID!) { webhookEndpoints(projectId: $p) { totalCount } }', v],
  auditLog: () => ['query($p: ID!) { auditLog(projectId: $p) { edges { node { action } } } }', v],
  dataJobs: () => ['query($p: ID!) { dataJobs(projectId: $p) { edges { node { status } } } }', v],
  webhookEndpoint: () => [
    'query($endpoint: ID!) { webhookEndpoint(id: $endpoint) { url enabled } }',
    v,
  ],
  webhookDeliveries: () => [
    'query($endpoint: ID!) { webhookDeliveries(endpointId: $endpoint) { edges { node { status } } } }',
    v,
  ],
  node: () => [
    'query($evaluation: ID!) { node(id: $evaluation) { id ... on Evaluation { status } } }',
    v,
  ],
  nodes: () => [
    'query($evaluation: ID!, $dataset: ID!) { nodes(ids: [$evaluation, $dataset]) { id } }',
    v,
  ],
  scores: () => [
    'query($p: ID!) { scores(projectId: $p) { totalCount edges { node { value } } } }',
    v,
  ],
  scoreSummary: () => [
    `query($p: ID!) { scoreSummary(projectId: $p, from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z", groupBy: [NAME]) { count mean } }`,
    v,
  ],
  scoreMetrics: () => [
    `query($p: ID!) { scoreMetrics(projectId: $p, from: "2020-01-01T00:00:00Z", to: "2035-01-01T00:00:00Z", interval: WEEK) { totals { count mean } } }`,
    v,
  ],
  scoreConfigs: () => ['query($p: ID!) { scoreConfigs(projectId: $p) { totalCount } }', v],
  viewer: () => ['{ viewer { email } }', {}],
  usage: () => ['query($p: ID!) { usage(projectId: $p) { requests } }', v],
  limits: () => ['{ limits { tier } }', {}],
  rateLimit: () => ['{ rateLimit { remaining } }', {}],
  serviceStatus: () => ['{ serviceStatus { slos { name } } }', {}],
};

type Vars = () => Record<string, unknown> | Promise<Record<string, unknown>>;
const M = (document: string, variables: Vars = () => v): [string, Vars] => [document, variables];
/** Every mutation of the project's data, in an order that keeps the ids above valid until the end. */
const MUTATIONS: Record<string, [string, Vars]> = {
  ingestSpans: M(
    'mutation($p: ID!) { ingestSpans(input: { projectId: $p, spans: [{ traceId: "t2", spanId: "s1", name: "more", startTime: "2026-01-03T00:00:00Z" }] }) { acceptedCount } }',
  ),
  upsertModelPrice: M(
    'mutation($p: ID!) { upsertModelPrice(input: { projectId: $p, modelName: "priced-2", inputPrice: "2", outputPrice: "2" }) { modelPrice { id } } }',
  ),
  createDataset: M(
    'mutation($p: ID!) { createDataset(input: { projectId: $p, name: "d2" }) { dataset { id } } }',
  ),
  addDatasetItems: M(
    'mutation($dataset: ID!) { addDatasetItems(input: { datasetId: $dataset, items: [{ input: "x" }] }) { addedCount } }',
  ),
  addDatasetItemsFromSpans: M(
    'mutation($dataset: ID!, $span: ID!) { addDatasetItemsFromSpans(input: { datasetId: $dataset, spanIds: [$span], outputAs: EXPECTED_OUTPUT }) { addedCount } }',
  ),
  updateDatasetItem: M(
    'mutation($datasetItem: ID!) { updateDatasetItem(input: { id: $datasetItem, expectedOutput: "changed" }) { datasetItem { id } } }',
  ),
  archiveDatasetItem: M(
    'mutation($datasetItem: ID!) { archiveDatasetItem(input: { id: $datasetItem }) { datasetItem { id } } }',
  ),
  createEvaluation: M(
    'mutation($p: ID!, $c: [JSON!]!) { createEvaluation(input: { projectId: $p, name: "e2", testingCriteria: $c, dataSource: { items: [{ input: "q", output: "b" }] } }) { evaluation { id } } }',
    () => ({ ...v, c: criteria }),
  ),
  createEvaluationBatch: M(
    'mutation($p: ID!, $c: [JSON!]!) { createEvaluationBatch(input: { projectId: $p, name: "b", evaluations: [{ name: "e3", testingCriteria: $c, dataSource: { items: [{ input: "q", output: "a" }] } }] }) { batch { id } } }',
    () => ({ ...v, c: criteria }),
  ),
  rerunEvaluation: M(
    'mutation($evaluation: ID!) { rerunEvaluation(input: { id: $evaluation }) { evaluation { id } } }',
  ),
  // An evaluation still running (no items, so no worker finishes it first).
  cancelEvaluation: M(
    'mutation($id: ID!) { cancelEvaluation(input: { id: $id }) { evaluation { id } } }',
    async () => ({
      id: globalId(
        'Evaluation',
        (
          await app.server.deps.db.prisma.evaluation.create({
            data: {
              projectId: app.projectId,
              name: 'running',
              testingCriteria: [],
              dataSource: {},
              status: 'RUNNING',
            },
          })
        ).id,
      ),
    }),
  ),
  // An evaluation waiting for one supplied output (made without events, as above).
  submitEvaluationOutputs: M(
    'mutation($id: ID!, $item: ID!) { submitEvaluationOutputs(input: { evaluationId: $id, outputs: [{ itemId: $item, output: "a" }] }) { acceptedCount } }',
    async () => {
      const e = await waitingEvaluation();
      return { id: globalId('Evaluation', e.id), item: e.items[0].id };
    },
  ),
  closeEvaluation: M(
    'mutation($id: ID!) { closeEvaluation(input: { id: $id }) { skippedCount } }',
    async () => ({ id: globalId('Evaluation', (await waitingEvaluation()).id) }),
  ),
  importOpenAIEval: M(
    'mutation($p: ID!, $eval: JSON!, $run: JSON!) { importOpenAIEval(input: { projectId: $p, eval: $eval, run: $run }) { evaluation { id } } }',
    () => ({
      ...v,
      eval: {
        object: 'eval',
        name: 'imported',
        data_source_config: { type: 'custom' },
        testing_criteria: criteria,
      },
      run: {
        object: 'eval.run',
        id: 'evalrun_fresh',
        data_source: {
          type: 'jsonl',
          source: {
            type: 'file_content',
            content: [{ item: { q: 1 }, sample: { output_text: 'a' } }],
          },
        },
      },
    }),
  ),
  createScore: M(
    'mutation($p: ID!, $trace: ID!) { createScore(input: { projectId: $p, traceId: $trace, name: "q", value: 2 }) { score { id } } }',
  ),
  createScores: M(
    'mutation($p: ID!, $span: ID!) { createScores(input: { projectId: $p, scores: [{ spanId: $span, name: "q", value: 3 }] }) { acceptedCount } }',
  ),
  createScoreConfig: M(
    'mutation($p: ID!) { createScoreConfig(input: { projectId: $p, name: "q2", dataType: BOOLEAN }) { scoreConfig { id } } }',
  ),
  updateScoreConfig: M(
    'mutation($scoreConfig: ID!) { updateScoreConfig(input: { id: $scoreConfig, description: "changed" }) { scoreConfig { id } } }',
  ),
  createAlertRule: M(
    'mutation($p: ID!) { createAlertRule(input: { projectId: $p, name: "r2", metric: COST, aggregation: SUM, operator: GT, threshold: 5, windowSeconds: 60 }) { alertRule { id } } }',
  ),
  updateAlertRule: M(
    'mutation($rule: ID!) { updateAlertRule(input: { id: $rule, threshold: 2 }) { alertRule { id } } }',
  ),
  testAlertRule: M(
    'mutation($rule: ID!) { testAlertRule(input: { id: $rule }) { result { value } } }',
  ),
  createEvaluationRule: M(
    'mutation($p: ID!, $c: [JSON!]!) { createEvaluationRule(input: { projectId: $p, name: "o2", testingCriteria: $c }) { evaluationRule { id } } }',
    () => ({ ...v, c: criteria }),
  ),
  updateEvaluationRule: M(
    'mutation($evaluationRule: ID!) { updateEvaluationRule(input: { id: $evaluationRule, samplingRate: 0.5 }) { evaluationRule { id } } }',
  ),
  backfillEvaluationRule: M(
    'mutation($evaluationRule: ID!) { backfillEvaluationRule(input: { id: $evaluationRule, from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z" }) { queuedCount } }',
  ),
  updateWebhookEndpoint: M(
    'mutation($endpoint: ID!) { updateWebhookEndpoint(input: { id: $endpoint, description: "changed" }) { webhookEndpoint { id } } }',
  ),
  rotateWebhookSecret: M(
    'mutation($endpoint: ID!) { rotateWebhookSecret(input: { id: $endpoint }) { secret } }',
  ),
  sendTestWebhook: M(
    'mutation($endpoint: ID!) { sendTestWebhook(input: { id: $endpoint }) { messageId } }',
  ),
  redeliverWebhookMessage: M(
    'mutation($message: String!) { redeliverWebhookMessage(input: { id: $message }) { redeliveries } }',
  ),
  redeliverFailed: M(
    'mutation($endpoint: ID!) { redeliverFailed(input: { endpointId: $endpoint, since: "2026-01-01T00:00:00Z" }) { redeliveries } }',
  ),
  createWebhookEndpoint: M(
    'mutation($p: ID!, $url: String!) { createWebhookEndpoint(input: { projectId: $p, url: $url, events: ["webhook.test"] }) { secret } }',
    () => ({ ...v, url: receiver.url }),
  ),
  setProjectBudget: M(
    'mutation($p: ID!) { setProjectBudget(input: { projectId: $p, evaluationsPerDay: 1000 }) { project { id } } }',
  ),
  setProjectRetention: M(
    'mutation($p: ID!) { setProjectRetention(input: { projectId: $p, traceDays: 36500 }) { project { id } } }',
  ),
  addProjectMember: M(
    'mutation($p: ID!, $email: String!) { addProjectMember(input: { projectId: $p, email: $email, role: VIEWER }) { membership { role } } }',
    () => ({ ...v, email: `m-${randomUUID()}@test.local` }),
  ),
  registerPersistedOperations: M(
    'mutation($p: ID!) { registerPersistedOperations(input: { projectId: $p, operations: ["query Fresh { viewer { id } }"] }) { operations { hash } } }',
  ),
  deleteModelPrice: M(
    'mutation($p: ID!, $price: ID!) { deleteModelPrice(input: { projectId: $p, id: $price }) { deletedId } }',
  ),
  deleteScore: M('mutation($score: ID!) { deleteScore(input: { id: $score }) { deletedScoreId } }'),
  deleteEvaluationRule: M(
    'mutation($evaluationRule: ID!) { deleteEvaluationRule(input: { id: $evaluationRule }) { deletedEvaluationRuleId } }',
  ),
  createAlertChannel: M(
    'mutation($p: ID!) { createAlertChannel(input: { projectId: $p, type: PAGERDUTY, name: "pd2", routingKey: "rk-2" }) { alertChannel { id } } }',
  ),
  deleteAlertChannel: M(
    'mutation($channel: ID!) { deleteAlertChannel(input: { id: $channel }) { deletedAlertChannelId } }',
  ),
  deleteAlertRule: M(
    'mutation($rule: ID!) { deleteAlertRule(input: { id: $rule }) { deletedAlertRuleId } }',
  ),
  deleteWebhookEndpoint: M(
    'mutation($endpoint: ID!) { deleteWebhookEndpoint(input: { id: $endpoint }) { deletedId } }',
  ),
  removeProjectMember: M(
    'mutation($p: ID!, $member: ID!) { removeProjectMember(input: { projectId: $p, userId: $member }) { removedUserId } }',
    async () => {
      const email = `gone-${randomUUID()}@test.local`;
      const added = await app.gql(
        'mutation($p: ID!, $email: String!) { addProjectMember(input: { projectId: $p, email: $email, role: VIEWER }) { membership { user { id } } } }',
        { ...v, email },
      );
      return { ...v, member: added.body.data.addProjectMember.membership.user.id };
    },
  ),
  deleteDataset: M(
    'mutation($id: ID!) { deleteDataset(input: { id: $id }) { deletedDatasetId } }',
    async () => ({
      id: globalId(
        'Dataset',
        (
          await app.server.deps.db.prisma.dataset.create({
            data: { projectId: app.projectId, name: 'gone' },
          })
        ).id,
      ),
    }),
  ),
  deleteEvaluation: M(
    'mutation($id: ID!) { deleteEvaluation(input: { id: $id }) { deletedEvaluationId } }',
    async () => ({
      id: globalId(
        'Evaluation',
        (
          await app.server.deps.db.prisma.evaluation.create({
            data: {
              projectId: app.projectId,
              name: 'gone',
              testingCriteria: criteria,
              dataSource: {},
              status: 'COMPLETED',
            },
          })
        ).id,
      ),
    }),
  ),
  deleteTraces: M(
    'mutation($p: ID!) { deleteTraces(input: { projectId: $p, filter: { userId: "nobody" } }) { job { status } } }',
  ),
  deleteEndUserData: M(
    'mutation($p: ID!) { deleteEndUserData(input: { projectId: $p, userId: "nobody" }) { job { status } } }',
  ),
  // The erasure job above, failed here (without announcing it), then requeued.
  retryDataJob: M(
    'mutation($id: ID!) { retryDataJob(input: { id: $id }) { job { status } } }',
    async () => {
      const { prisma } = app.server.deps.db;
      const job = await prisma.dataJob.findFirstOrThrow({
        where: { projectId: app.projectId },
        orderBy: { createdAt: 'desc' },
      });
      await prisma.dataJob.update({
        where: { id: job.id },
        data: { status: 'FAILED', error: 'test' },
      });
      return { id: globalId('DataJob', job.id) };
    },
  ),
};
/** An evaluation with one item waiting for its supplied output, stored without announcing it. */
const waitingEvaluation = () =>
  app.server.deps.db.prisma.evaluation.create({
    data: {
      projectId: app.projectId,
      name: 'waiting',
      testingCriteria: criteria,
      dataSource: {},
      outputs: 'SUPPLIED',
      totalCount: 1,
      items: { create: [{ position: 0, input: 'q', state: 'AWAITING_OUTPUT' }] },
    },
    include: { items: true },
  });

/** Mutations of users, keys and instance-wide things: no cached answer holds what they change
 * (keys are never cached; a user's tier, limits and memberships are part of the cache key). */
const NOT_PROJECT_DATA = [
  'createUser',
  'setUserTier',
  'setUserLimits',
  'createProject',
  'createApiKey',
  'rotateApiKey',
  'updateApiKey',
  'revokeApiKey',
  'deleteUser',
  // It would delete the project the roots read: test/entity-deletion.test.ts sees its cached
  // answers refused at once instead.
  'deleteProject',
];

const hit = (res: { headers: Headers }) => res.headers.get('x-cache') === 'HIT';

describe('every cached query root is computed again after every mutation of its project', () => {
  it.each(Object.keys(MUTATIONS))('%s', async (name) => {
    await quiet();
    const cached: string[] = [];
    for (const [root, doc] of Object.entries(ROOTS)) {
      const [query, variables] = doc();
      await app.gql(query, variables);
      if (hit(await app.gql(query, variables))) cached.push(root);
    }
    // Most roots are cached (the others have a TTL of 0: keys, limits, webhook state).
    expect(cached.length).toBeGreaterThanOrEqual(12);

    const [document, variables] = MUTATIONS[name];
    const done = await app.gql(document, await variables());
    expect([name, done.body.errors]).toEqual([name, undefined]);

    const stale = [];
    for (const root of cached) {
      const [query, vars] = ROOTS[root]();
      if (hit(await app.gql(query, vars))) stale.push(root);
    }
    expect([name, stale]).toEqual([name, []]);
  });

  it('lists every query root and every mutation', () => {
    const schema = getSchema();
    expect(Object.keys(schema.getQueryType()!.getFields()).filter((f) => !(f in ROOTS))).toEqual(
      [],
    );
    expect(
      Object.keys(schema.getMutationType()!.getFields()).filter(
        (f) => !(f in MUTATIONS) && !NOT_PROJECT_DATA.includes(f),
      ),
    ).toEqual([]);
  });
});
