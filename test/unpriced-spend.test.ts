// Spend that could not be priced is null, never 0: spans of a model without a price and spans
// with only totalTokens have no cost; traces, cost summaries and COST alerts add only what was
// priced and say how much was not.
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
  project = await app.seedProject('unpriced');
  // gpt-4o-mini: $0.15 in, $0.60 out per 1M tokens.
  const res = await ingest(app, project, [
    span({
      traceId: 'unknown',
      spanId: 'call',
      model: 'my-local-llama',
      inputTokens: 10,
      outputTokens: 10,
      startTime: at(250),
    }),
    span({
      traceId: 'total-only',
      spanId: 'call',
      model: 'gpt-4o-mini',
      totalTokens: 1000,
      startTime: at(240),
    }),
    span({
      traceId: 'mixed',
      spanId: 'root',
      kind: 'CHAIN',
      name: "chain with its children's tokens",
      totalTokens: 1_000_010,
      startTime: at(230),
    }),
    span({
      traceId: 'mixed',
      spanId: 'priced',
      parentSpanId: 'root',
      model: 'gpt-4o-mini',
      inputTokens: 1_000_000,
      outputTokens: 0,
      startTime: at(230),
    }),
    span({
      traceId: 'mixed',
      spanId: 'unpriced',
      parentSpanId: 'root',
      model: 'my-local-llama',
      inputTokens: 5,
      outputTokens: 5,
      startTime: at(229),
    }),
    span({
      traceId: 'mixed',
      spanId: 'tool',
      parentSpanId: 'root',
      kind: 'TOOL',
      startTime: at(228),
    }),
    span({ traceId: 'tools', spanId: 'tool', kind: 'TOOL', startTime: at(220) }),
  ]);
  expect(res.body.errors).toBeUndefined();
});
afterAll(() => app.close());

const TRACES = `query($p: ID!) { traces(projectId: $p, first: 100) { edges { node { externalId inputCost outputCost totalCost unpricedSpanCount
  spans(first: 10) { edges { node { externalId inputCost outputCost cachedInputCost totalCost } } } } } } }`;

async function traces() {
  const res = await app.gql(TRACES, { p: globalId('Project', project) });
  expect(res.body.errors).toBeUndefined();
  return Object.fromEntries(
    res.body.data.traces.edges.map((e: any) => [e.node.externalId, e.node]),
  );
}
const spanOf = (trace: any, id: string) =>
  trace.spans.edges.find((e: any) => e.node.externalId === id).node;

describe('spans and traces', () => {
  it('a span of a model without a price has null costs; its trace counts it and has a null total', async () => {
    const t = (await traces()).unknown;
    expect(spanOf(t, 'call')).toEqual({
      externalId: 'call',
      inputCost: null,
      outputCost: null,
      cachedInputCost: null,
      totalCost: null,
    });
    expect(t).toMatchObject({
      inputCost: null,
      outputCost: null,
      totalCost: null,
      unpricedSpanCount: 1,
    });
  });

  it('a span with only totalTokens is unpriced, not priced at 0', async () => {
    const t = (await traces())['total-only'];
    expect(spanOf(t, 'call')).toMatchObject({ inputCost: null, outputCost: null, totalCost: null });
    expect(t).toMatchObject({ totalCost: null, unpricedSpanCount: 1 });
  });

  it('a mixed trace sums its priced spans and counts the unpriced one; chain and tool spans have nothing to price', async () => {
    const t = (await traces()).mixed;
    expect(t).toMatchObject({
      inputCost: '0.15',
      outputCost: '0',
      totalCost: '0.15',
      unpricedSpanCount: 1,
    });
    expect(spanOf(t, 'root').totalCost).toBeNull();
    expect(spanOf(t, 'tool').totalCost).toBeNull();
  });

  it('a trace with nothing to price costs 0', async () => {
    expect((await traces()).tools).toMatchObject({ totalCost: '0', unpricedSpanCount: 0 });
  });

  it('counts the same when the spans arrive in several batches (totals recounted in SQL)', async () => {
    const spans = [
      span({
        traceId: 'split',
        spanId: 'unpriced',
        model: 'my-local-llama',
        inputTokens: 5,
        outputTokens: 5,
        startTime: at(210),
      }),
      span({
        traceId: 'split',
        spanId: 'total-only',
        model: 'gpt-4o-mini',
        totalTokens: 50,
        startTime: at(209),
      }),
      span({
        traceId: 'split',
        spanId: 'priced',
        model: 'gpt-4o-mini',
        inputTokens: 1_000_000,
        outputTokens: 0,
        startTime: at(208),
      }),
    ];
    await ingest(app, project, spans.slice(0, 2));
    expect((await traces()).split).toMatchObject({ totalCost: null, unpricedSpanCount: 2 });
    await ingest(app, project, spans.slice(2));
    expect((await traces()).split).toMatchObject({
      totalCost: '0.15',
      inputCost: '0.15',
      unpricedSpanCount: 2,
    });
  });

  it('orders unpriced traces last by cost, in both directions, and pages across them', async () => {
    const LIST = `query($p: ID!, $d: OrderDirection, $a: String) { traces(projectId: $p, first: 2, after: $a, orderBy: { field: TOTAL_COST, direction: $d }) {
      pageInfo { hasNextPage endCursor } edges { node { externalId totalCost } } } }`;
    for (const direction of ['DESC', 'ASC']) {
      const seen: { externalId: string; totalCost: string | null }[] = [];
      let after: string | null = null;
      do {
        const res: { body: any } = await app.gql(LIST, {
          p: globalId('Project', project),
          d: direction,
          a: after,
        });
        expect(res.body.errors).toBeUndefined();
        seen.push(...res.body.data.traces.edges.map((e: any) => e.node));
        after = res.body.data.traces.pageInfo.hasNextPage
          ? res.body.data.traces.pageInfo.endCursor
          : null;
      } while (after);
      expect(seen.map((t) => t.totalCost)).toEqual(
        direction === 'DESC'
          ? ['0.15', '0.15', '0', null, null]
          : ['0', '0.15', '0.15', null, null],
      );
    }
  });
});

describe('costSummary', () => {
  const SUMMARY = `query($p: ID!, $g: [CostGroupBy!]) { costSummary(projectId: $p, from: "2026-11-20T11:00:00Z", to: "2026-11-20T11:56:25Z", groupBy: $g) {
    keys { model spanKind } cost calls unpricedCalls } }`;
  const summary = async (groupBy: string[]) => {
    const res = await app.gql(SUMMARY, { p: globalId('Project', project), g: groupBy });
    expect(res.body.errors).toBeUndefined();
    return res.body.data.costSummary;
  };

  // The window ends 215 s before T: the spans of beforeAll only.
  it('adds only the priced calls and counts the others', async () => {
    expect(await summary([])).toEqual([
      { keys: { model: null, spanKind: null }, cost: '0.15', calls: 4, unpricedCalls: 3 },
    ]);
  });

  it('a row where nothing could be priced has a null cost', async () => {
    expect(await summary(['MODEL'])).toEqual([
      { keys: { model: 'gpt-4o-mini', spanKind: null }, cost: '0.15', calls: 2, unpricedCalls: 1 },
      { keys: { model: 'my-local-llama', spanKind: null }, cost: null, calls: 2, unpricedCalls: 2 },
    ]);
  });
});

describe('COST alerts', () => {
  it('a window of only unpriced spend has no COST samples: no value, not 0', async () => {
    const alertProject = await app.seedProject('unpriced alerts');
    const res = await ingest(app, alertProject, [
      span({
        traceId: 'a',
        spanId: 'total-only',
        model: 'gpt-4o-mini',
        totalTokens: 1000,
        startTime: at(60),
      }),
    ]);
    expect(res.body.errors).toBeUndefined();
    const rule = await app.gql(
      `mutation($input: CreateAlertRuleInput!) { createAlertRule(input: $input) { alertRule { id } } }`,
      {
        input: {
          projectId: globalId('Project', alertProject),
          name: 'spend',
          metric: 'COST',
          aggregation: 'SUM',
          operator: 'LT',
          threshold: 1,
          windowSeconds: 300,
        },
      },
    );
    expect(rule.body.errors).toBeUndefined();
    const tested = await app.gql(
      `query($id: ID!) { testAlertRule(id: $id) { value samples wouldBecome } }`,
      { id: rule.body.data.createAlertRule.alertRule.id },
    );
    expect(tested.body.errors).toBeUndefined();
    expect(tested.body.data.testAlertRule).toEqual({ value: null, samples: 0, wouldBecome: 'OK' });
  });
});
