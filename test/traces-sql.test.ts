// The SQL behind trace queries: a fixed number of statements whatever the number of traces
// (no N+1), and only the columns the operation selected.
import { createTestApp, globalId, type TestApp } from './support/app';
import { ingest, span } from './support/spans';

let app: TestApp;
let small: string;
let large: string;

beforeAll(async () => {
  // Counts the SQL statements of each query (some deliberately large): no rate limit, no cached
  // responses, and the worker's jobs resting (their first passes, at start, find nothing to do),
  // so none of their statements falls inside a query's count.
  app = await createTestApp({
    EVALGRAPH_RATE_LIMIT: 'false',
    EVALGRAPH_RESPONSE_CACHE: 'false',
    EVALGRAPH_ALERTS_POLL_MS: '3600000',
    EVALGRAPH_ROLLUP_COMPACT_MS: '3600000',
    EVALGRAPH_TEXT_INDEX_MS: '3600000',
    EVALGRAPH_RETENTION_MS: '3600000',
    EVALGRAPH_DATA_JOB_POLL_MS: '3600000',
  });
  small = await app.seedProject('five traces');
  large = await app.seedProject('fifty traces');
  for (const [projectId, count] of [
    [small, 5],
    [large, 50],
  ] as const) {
    const spans = [];
    for (let t = 0; t < count; t++) {
      spans.push(
        span({
          traceId: `t${t}`,
          spanId: 'root',
          name: 'agent',
          kind: 'AGENT',
          input: 'question',
          output: 'answer',
        }),
      );
      spans.push(
        span({
          traceId: `t${t}`,
          spanId: 'llm',
          parentSpanId: 'root',
          name: 'call',
          model: 'gpt-4o',
          inputTokens: 10,
          outputTokens: 5,
        }),
      );
      spans.push(
        span({
          traceId: `t${t}`,
          spanId: 'tool',
          parentSpanId: 'llm',
          name: 'lookup',
          kind: 'TOOL',
        }),
      );
    }
    const res = await ingest(app, projectId, spans);
    expect(res.body.errors).toBeUndefined();
  }
});
afterAll(() => app.close());

const BACKGROUND =
  /\b(service_minutes|alert_rules|usage_counters|evaluation_items|webhook_deliveries|evaluations|evaluation_rules|online_evaluation_tasks|data_jobs)\b/;

async function statementsOf(query: string, projectId: string) {
  await app.gql(query, { p: globalId('Project', projectId) }); // warm caches (key lookup, prices)
  const statements: string[] = [];
  // The process's background loops (job polls, counter flushes) may query meanwhile: not the request's.
  const stop = app.server.deps.db.onQuery(
    ({ sql }) => void (BACKGROUND.test(sql) || statements.push(sql)),
  );
  const res = await app.gql(query, { p: globalId('Project', projectId) });
  stop();
  expect(res.body.errors).toBeUndefined();
  return { statements, data: res.body.data };
}

const NESTED = `query($p: ID!) { traces(projectId: $p, first: 100) { edges { node {
  name totalCost
  spans(first: 10) { edges { node { name model totalCost } } }
} } } }`;

const TREE = `query($p: ID!) { traces(projectId: $p, first: 100) { edges { node {
  name
  rootSpans { name totalCost children { name model totalCost children { name kind } } }
} } } }`;

describe('statements per query', () => {
  it('traces × spans × cost: the same number of statements for 5 and 50 traces', async () => {
    const five = await statementsOf(NESTED, small);
    const fifty = await statementsOf(NESTED, large);
    expect(five.data.traces.edges).toHaveLength(5);
    expect(fifty.data.traces.edges).toHaveLength(50);
    expect(fifty.data.traces.edges[0].node.spans.edges).toHaveLength(3);
    expect(fifty.data.traces.edges[0].node.totalCost).toBe('0.000075');
    expect(fifty.statements.length).toBe(five.statements.length);
    expect(fifty.statements.length).toBeLessThanOrEqual(3);
    // Spans are read with a limit per trace (first: 10), never every span of every trace.
    expect(fifty.statements.join('\n')).toMatch(/LATERAL[\s\S]*FROM spans[\s\S]*LIMIT/i);
  });

  it('span trees: statements grow with depth, not with the number of traces', async () => {
    const five = await statementsOf(TREE, small);
    const fifty = await statementsOf(TREE, large);
    const tree = fifty.data.traces.edges[0].node.rootSpans;
    expect(tree).toEqual([
      {
        name: 'agent',
        totalCost: null,
        children: [
          {
            name: 'call',
            model: 'gpt-4o',
            totalCost: '0.000075',
            children: [{ name: 'lookup', kind: 'TOOL' }],
          },
        ],
      },
    ]);
    expect(fifty.statements.length).toBe(five.statements.length);
    expect(fifty.statements.length).toBeLessThanOrEqual(5);
  });
});

describe('columns per query', () => {
  it('reads span text only when it is selected', async () => {
    const without = await statementsOf(NESTED, small);
    expect(without.statements.join('\n')).not.toMatch(/"input"|"output"|"metadata"/);
    const withText = await statementsOf(
      `query($p: ID!) { traces(projectId: $p, first: 1) { edges { node { spans { edges { node { input output } } } } } } }`,
      small,
    );
    expect(withText.statements.join('\n')).toMatch(/"input"/);
    expect(withText.data.traces.edges[0].node.spans.edges.map((e: any) => e.node.input)).toContain(
      'question',
    );
  });
});
