// EVALGRAPH_DEFAULT_MODEL_PRICE: a model the price table does not know is priced by it and marked
// DEFAULT (Span.priceSource), and cost summaries count such calls apart; unset, the same span
// stays unpriced exactly as before.
import { createTestApp, globalId, type TestApp } from './support/app';
import { ingest, span } from './support/spans';

const AT = '2026-11-20T12:00:00.000Z';
const SPANS = [
  // 1000 in × $1 + 500 out × $2 per 1M with the default price = 0.001 + 0.001.
  span({
    traceId: 't',
    spanId: 'unknown',
    model: 'my-local-llama',
    inputTokens: 1000,
    outputTokens: 500,
    startTime: AT,
  }),
  // gpt-4o-mini is in the table: 1M in × $0.15.
  span({
    traceId: 't',
    spanId: 'known',
    model: 'gpt-4o-mini',
    inputTokens: 1_000_000,
    outputTokens: 0,
    startTime: AT,
  }),
  span({ traceId: 't', spanId: 'sent', model: 'my-local-llama', totalCost: '0.5', startTime: AT }),
  // Only totalTokens: no price applies, the default's neither.
  span({
    traceId: 't',
    spanId: 'total-only',
    model: 'my-local-llama',
    totalTokens: 10,
    startTime: AT,
  }),
];

const SPAN_Q = `query($p: ID!) { traces(projectId: $p) { edges { node {
  spans(first: 10) { edges { node { externalId totalCost priceSource } } } } } } }`;
const SUMMARY_Q = `query($p: ID!) { costSummary(projectId: $p, from: "2026-11-20T00:00:00Z", to: "2026-11-21T00:00:00Z") {
  cost calls unpricedCalls defaultPricedCalls } }`;

async function setUp(env: Record<string, string>) {
  const app = await createTestApp({ EVALGRAPH_RESPONSE_CACHE: 'false', ...env });
  const project = await app.seedProject('default price');
  const res = await ingest(app, project, SPANS);
  expect(res.body.errors).toBeUndefined();
  const p = globalId('Project', project);
  const spans = await app.gql(SPAN_Q, { p });
  expect(spans.body.errors).toBeUndefined();
  const byId = Object.fromEntries(
    spans.body.data.traces.edges[0].node.spans.edges.map((e: any) => [
      e.node.externalId,
      { totalCost: e.node.totalCost, priceSource: e.node.priceSource },
    ]),
  );
  const summary = await app.gql(SUMMARY_Q, { p });
  expect(summary.body.errors).toBeUndefined();
  return { app, spans: byId, summary: summary.body.data.costSummary };
}

describe('with EVALGRAPH_DEFAULT_MODEL_PRICE set', () => {
  let app: TestApp;
  let result: Awaited<ReturnType<typeof setUp>>;
  beforeAll(async () => {
    result = await setUp({ EVALGRAPH_DEFAULT_MODEL_PRICE: '{"inputPer1M":1.0,"outputPer1M":2.0}' });
    app = result.app;
  });
  afterAll(() => app.close());

  it('prices an unknown model by it and says so; the table and the client keep their own', () => {
    expect(result.spans).toEqual({
      unknown: { totalCost: '0.002', priceSource: 'DEFAULT' },
      known: { totalCost: '0.15', priceSource: 'TABLE' },
      sent: { totalCost: '0.5', priceSource: 'PROVIDED' },
      'total-only': { totalCost: null, priceSource: null },
    });
  });

  it('costSummary counts default-priced calls apart from the unpriced ones; their cost is in cost', () => {
    expect(result.summary).toEqual([
      { cost: '0.652', calls: 4, unpricedCalls: 1, defaultPricedCalls: 1 },
    ]);
  });

  it('priceSource is a cost field: a VIEWER is refused it', async () => {
    const project = (
      await app.server.deps.db.prisma.project.findFirstOrThrow({
        where: { name: 'default price' },
      })
    ).id;
    const viewer = await app.seedUser({ role: 'VIEWER', projectId: project });
    const res = await app.gql(SPAN_Q, { p: globalId('Project', project) }, { key: viewer.key });
    const refused = res.body.errors!.filter((e) => e.extensions?.code === 'FORBIDDEN');
    expect(new Set(refused.map((e) => e.path!.at(-1)))).toEqual(
      new Set(['totalCost', 'priceSource']),
    );
  });
});

describe('without it (the default)', () => {
  it('leaves an unknown model unpriced, as before', async () => {
    const { app, spans, summary } = await setUp({});
    try {
      expect(spans.unknown).toEqual({ totalCost: null, priceSource: null });
      expect(spans.known).toEqual({ totalCost: '0.15', priceSource: 'TABLE' });
      expect(summary).toEqual([
        { cost: '0.65', calls: 4, unpricedCalls: 2, defaultPricedCalls: 0 },
      ]);
    } finally {
      await app.close();
    }
  });
});
