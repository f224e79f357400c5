// Grouping and filtering by model use the normalised name (lower case, no provider prefix, no
// date or version suffix); the span keeps the name as sent, and modelExact filters by it.
import { createTestApp, globalId, type TestApp } from './support/app';
import { ingest, span } from './support/spans';

let app: TestApp;
let project: string;
const T = Date.parse('2026-11-20T12:00:00.000Z');
const at = (secondsBefore: number) => new Date(T - secondsBefore * 1000).toISOString();

beforeAll(async () => {
  app = await createTestApp({
    EVALGRAPH_ALERTS_POLL_MS: '3600000',
    EVALGRAPH_RESPONSE_CACHE: 'false',
  });
  app.server.deps.clock.now = () => new Date(T);
  project = await app.seedProject('model names');
  // gpt-4o-mini: $0.15 in per 1M tokens; gpt-4o (from 2024-08-06): $2.50 in.
  const res = await ingest(app, project, [
    span({
      traceId: 'mini-plain',
      spanId: 'a',
      model: 'gpt-4o-mini',
      inputTokens: 1_000_000,
      outputTokens: 0,
      startTime: at(100),
    }),
    span({
      traceId: 'mini-prefixed',
      spanId: 'a',
      model: 'openai/gpt-4o-mini',
      inputTokens: 1_000_000,
      outputTokens: 0,
      startTime: at(90),
    }),
    span({
      traceId: 'mini-cased',
      spanId: 'a',
      model: 'GPT-4o-Mini',
      inputTokens: 1_000_000,
      outputTokens: 0,
      startTime: at(80),
    }),
    span({
      traceId: '4o-plain',
      spanId: 'a',
      model: 'gpt-4o',
      inputTokens: 1_000_000,
      outputTokens: 0,
      startTime: at(70),
    }),
    span({
      traceId: '4o-dated',
      spanId: 'a',
      model: 'gpt-4o-2024-08-06',
      inputTokens: 1_000_000,
      outputTokens: 0,
      startTime: at(60),
    }),
    span({
      traceId: '4o-azure',
      spanId: 'a',
      model: 'azure/gpt-4o',
      inputTokens: 1_000_000,
      outputTokens: 0,
      startTime: at(50),
    }),
  ]);
  expect(res.body.errors).toBeUndefined();
});
afterAll(() => app.close());

const gql = async (query: string, variables: Record<string, unknown> = {}) => {
  const res = await app.gql(query, { p: globalId('Project', project), ...variables });
  expect(res.body.errors).toBeUndefined();
  return res.body.data;
};

it('costSummary groups the spellings of a model in one row', async () => {
  const data =
    await gql(`query($p: ID!) { costSummary(projectId: $p, from: "2026-11-20T11:00:00Z", to: "2026-11-20T12:00:00Z", groupBy: [MODEL]) {
    keys { model } cost calls unpricedCalls } }`);
  expect(data.costSummary).toEqual([
    { keys: { model: 'gpt-4o' }, cost: '7.5', calls: 3, unpricedCalls: 0 },
    { keys: { model: 'gpt-4o-mini' }, cost: '0.45', calls: 3, unpricedCalls: 0 },
  ]);
});

it('costSummary filters by the normalised model', async () => {
  const data =
    await gql(`query($p: ID!) { costSummary(projectId: $p, from: "2026-11-20T11:00:00Z", to: "2026-11-20T12:00:00Z", filter: { models: ["OpenAI/GPT-4o-mini-2024-07-18"] }) {
    cost calls } }`);
  expect(data.costSummary).toEqual([{ cost: '0.45', calls: 3 }]);
});

it('spans keep the model as sent and show the normalised one beside it', async () => {
  const data = await gql(
    `query($p: ID!) { traces(projectId: $p, first: 10) { edges { node { externalId spans { edges { node { model normalizedModel } } } } } } }`,
  );
  const models = Object.fromEntries(
    data.traces.edges.map((e: any) => [e.node.externalId, e.node.spans.edges[0].node]),
  );
  expect(models['mini-cased']).toEqual({ model: 'GPT-4o-Mini', normalizedModel: 'gpt-4o-mini' });
  expect(models['4o-azure']).toEqual({ model: 'azure/gpt-4o', normalizedModel: 'gpt-4o' });
});

describe('traces filter', () => {
  const ids = async (filter: object) => {
    const data = await gql(
      `query($p: ID!, $f: TraceFilter) { traces(projectId: $p, filter: $f, first: 10) { totalCount edges { node { externalId } } } }`,
      { f: filter },
    );
    expect(data.traces.totalCount).toBe(data.traces.edges.length);
    return data.traces.edges.map((e: any) => e.node.externalId);
  };

  it('model finds the dated and prefixed names of that model, and not its neighbours', async () => {
    expect(await ids({ model: 'gpt-4o' })).toEqual(['4o-azure', '4o-dated', '4o-plain']);
    expect(await ids({ model: 'GPT-4o-Mini' })).toEqual([
      'mini-cased',
      'mini-prefixed',
      'mini-plain',
    ]);
  });

  it('modelExact finds the name exactly as sent', async () => {
    expect(await ids({ modelExact: 'gpt-4o' })).toEqual(['4o-plain']);
    expect(await ids({ modelExact: 'azure/gpt-4o' })).toEqual(['4o-azure']);
    expect(await ids({ modelExact: 'GPT-4o' })).toEqual([]);
  });
});

it('an alert rule filtered by model counts every spelling of it', async () => {
  const rule = await gql(
    `mutation($p: ID!) { createAlertRule(input: { projectId: $p, name: '4o calls', metric: SPAN_COUNT, aggregation: COUNT,
    operator: GT, threshold: 100, windowSeconds: 300, filter: { model: "gpt-4o-2024-11-20" } }) { alertRule { id filter { model } } } }`.replace(
      /'/g,
      '"',
    ),
  );
  expect(rule.createAlertRule.alertRule.filter).toEqual({ model: 'gpt-4o-2024-11-20' });
  const tested = await gql(`query($id: ID!) { testAlertRule(id: $id) { value samples } }`, {
    id: rule.createAlertRule.alertRule.id,
  });
  expect(tested.testAlertRule).toEqual({ value: 3, samples: 3 });
});
