// The `metrics` query and top-N through the server: series checked against hand-computed sums of a
// small dataset (UTC hours, days and Monday weeks), groupings, filters, ordering, limits and rights.
import { SKETCH_ALPHA } from '../src/modules/analytics/sketch';
import { createTestApp, globalId, type TestApp } from './support/app';
import { ingest, span } from './support/spans';

let app: TestApp;
let project: string;
let p: string;

// Prices: gpt-4o-mini $0.15/$0.60, claude-3-5-haiku $0.80/$4 per 1M tokens; mystery-model has none.
// 2025-07-07 and 2025-07-14 are Mondays.
const SPANS = [
  span({
    traceId: 'a',
    spanId: '1',
    kind: 'LLM',
    model: 'gpt-4o-mini-2024-07-18',
    provider: 'openai',
    userId: 'alice',
    sessionId: 'session-1',
    tags: ['prod'],
    startTime: '2025-07-07T09:10:00.000Z',
    endTime: '2025-07-07T09:10:01.000Z',
    inputTokens: 1_000_000,
    outputTokens: 0,
  }), // 0.15
  span({
    traceId: 'a',
    spanId: '2',
    kind: 'LLM',
    model: 'gpt-4o-mini',
    provider: 'openai',
    userId: 'alice',
    startTime: '2025-07-07T09:40:00.000Z',
    endTime: '2025-07-07T09:40:03.000Z',
    inputTokens: 0,
    outputTokens: 1_000_000,
    status: 'ERROR',
  }), // 0.60
  span({
    traceId: 'b',
    spanId: '1',
    kind: 'LLM',
    model: 'claude-3-5-haiku-20241022',
    provider: 'anthropic',
    userId: 'bob',
    startTime: '2025-07-07T11:05:00.000Z',
    endTime: '2025-07-07T11:05:02.000Z',
    inputTokens: 500_000,
    outputTokens: 100_000,
  }), // 0.40 + 0.40
  span({
    traceId: 'b',
    spanId: '2',
    kind: 'TOOL',
    name: 'no model, no cost',
    userId: 'bob',
    startTime: '2025-07-08T09:00:00.000Z',
    endTime: '2025-07-08T09:00:00.500Z',
  }), // not a model call
  span({
    traceId: 'c',
    spanId: '1',
    kind: 'LLM',
    model: 'mystery-model',
    provider: 'acme',
    userId: 'carol',
    startTime: '2025-07-14T12:00:00.000Z',
    endTime: '2025-07-14T12:00:00.100Z',
    inputTokens: 1_000,
    outputTokens: 1_000,
  }), // unpriced
  span({
    traceId: 'd',
    spanId: '1',
    kind: 'LLM',
    model: 'gpt-4o-mini',
    provider: 'openai',
    userId: 'bob',
    tags: ['prod'],
    startTime: '2025-07-15T00:30:00.000Z',
    endTime: '2025-07-15T00:30:04.000Z',
    inputTokens: 2_000_000,
    outputTokens: 0,
  }), // 0.30
];

beforeAll(async () => {
  app = await createTestApp();
  project = await app.seedProject('metrics');
  p = globalId('Project', project);
  const res = await ingest(app, project, SPANS);
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data.ingestSpans.rejectedCount).toBe(0);
});
afterAll(() => app.close());

const VALUES = 'calls errors errorRate inputTokens outputTokens totalTokens cost unpricedCalls';
const METRICS = `query($p: ID!, $from: DateTime!, $to: DateTime!, $i: MetricsInterval!, $g: [MetricsGroupBy!], $f: MetricsFilter, $o: MetricsOrder, $l: Int) {
  metrics(projectId: $p, from: $from, to: $to, interval: $i, groupBy: $g, filter: $f, orderBy: $o, limit: $l) {
    keys { model provider spanKind status userId }
    totals { ${VALUES} }
    points { time ${VALUES} }
  } }`;

interface Args {
  from?: string;
  to?: string;
  i?: string;
  g?: string[];
  f?: object;
  o?: object;
  l?: number;
}
const TWO_WEEKS = { from: '2025-07-07T00:00:00Z', to: '2025-07-21T00:00:00Z' };

async function metrics(args: Args, query = METRICS, key?: string) {
  const res = await app.gql(query, { p, ...TWO_WEEKS, i: 'WEEK', ...args }, { key });
  expect(res.body.errors).toBeUndefined();
  return res.body.data.metrics;
}
const errorOf = async (args: Args, query = METRICS, key?: string) => {
  const res = await app.gql(query, { p, ...TWO_WEEKS, i: 'WEEK', ...args }, { key });
  expect(res.body.data?.metrics ?? null).toBeNull();
  return res.body.errors![0];
};

const EMPTY = {
  calls: 0,
  errors: 0,
  errorRate: null,
  inputTokens: 0,
  outputTokens: 0,
  totalTokens: 0,
  cost: null,
  unpricedCalls: 0,
};
const NO_KEYS = { model: null, provider: null, spanKind: null, status: null, userId: null };

describe('series', () => {
  it('hours: every bucket present, an empty one zero with null rates, cost and latency', async () => {
    const [series] = await metrics({
      from: '2025-07-07T09:00:00Z',
      to: '2025-07-07T12:00:00Z',
      i: 'HOUR',
    });
    const nine = {
      calls: 2,
      errors: 1,
      errorRate: 0.5,
      inputTokens: 1_000_000,
      outputTokens: 1_000_000,
      totalTokens: 2_000_000,
      cost: '0.75',
      unpricedCalls: 0,
    };
    const eleven = {
      calls: 1,
      errors: 0,
      errorRate: 0,
      inputTokens: 500_000,
      outputTokens: 100_000,
      totalTokens: 600_000,
      cost: '0.8',
      unpricedCalls: 0,
    };
    expect(series).toEqual({
      keys: NO_KEYS,
      totals: {
        calls: 3,
        errors: 1,
        errorRate: 1 / 3,
        inputTokens: 1_500_000,
        outputTokens: 1_100_000,
        totalTokens: 2_600_000,
        cost: '1.55',
        unpricedCalls: 0,
      },
      points: [
        { time: '2025-07-07T09:00:00.000Z', ...nine },
        { time: '2025-07-07T10:00:00.000Z', ...EMPTY },
        { time: '2025-07-07T11:00:00.000Z', ...eleven },
      ],
    });
  });

  it('a ragged window: its first and last buckets hold only the spans inside it', async () => {
    const [series] = await metrics({
      from: '2025-07-07T09:30:00Z',
      to: '2025-07-07T11:30:00Z',
      i: 'HOUR',
    });
    expect(series.points.map((pt: any) => [pt.time, pt.calls, pt.cost])).toEqual([
      ['2025-07-07T09:00:00.000Z', 1, '0.6'],
      ['2025-07-07T10:00:00.000Z', 0, null],
      ['2025-07-07T11:00:00.000Z', 1, '0.8'],
    ]);
    expect(series.totals).toMatchObject({ calls: 2, cost: '1.4' });
  });

  it('days and Monday weeks (UTC), every span or model calls only', async () => {
    const [days] = await metrics({ i: 'DAY' });
    expect(days.points).toHaveLength(14);
    expect(
      days.points
        .filter((pt: any) => pt.calls > 0)
        .map((pt: any) => [pt.time.slice(0, 10), pt.calls, pt.cost, pt.unpricedCalls]),
    ).toEqual([
      ['2025-07-07', 3, '1.55', 0],
      ['2025-07-08', 1, null, 0], // the TOOL span: counted, nothing priced
      ['2025-07-14', 1, null, 1],
      ['2025-07-15', 1, '0.3', 0],
    ]);
    const [weeks] = await metrics({ i: 'WEEK' });
    expect(weeks.points.map((pt: any) => [pt.time, pt.calls, pt.cost, pt.unpricedCalls])).toEqual([
      ['2025-07-07T00:00:00.000Z', 4, '1.55', 0],
      ['2025-07-14T00:00:00.000Z', 2, '0.3', 1],
    ]);
    const [calls] = await metrics({ i: 'WEEK', f: { callsOnly: true } });
    expect(calls.points.map((pt: any) => pt.calls)).toEqual([3, 2]);
    expect(calls.totals).toMatchObject({ calls: 5, cost: '1.85', unpricedCalls: 1 });
    // A window from a Sunday: its first week began on the Monday before.
    const [sunday] = await metrics({
      from: '2025-07-06T00:00:00Z',
      to: '2025-07-08T00:00:00Z',
      i: 'WEEK',
    });
    expect(sunday.points.map((pt: any) => [pt.time, pt.calls])).toEqual([
      ['2025-06-30T00:00:00.000Z', 0],
      ['2025-07-07T00:00:00.000Z', 3],
    ]);
  });

  it('minutes read the spans', async () => {
    const [series] = await metrics({
      from: '2025-07-07T09:00:00Z',
      to: '2025-07-07T10:00:00Z',
      i: 'MINUTE',
    });
    expect(series.points).toHaveLength(60);
    expect(
      series.points.filter((pt: any) => pt.calls).map((pt: any) => [pt.time, pt.errors]),
    ).toEqual([
      ['2025-07-07T09:10:00.000Z', 0],
      ['2025-07-07T09:40:00.000Z', 1],
    ]);
  });

  it('latency quantiles from the sketch, within its error', async () => {
    const [series] = await metrics(
      { i: 'WEEK', f: { models: ['gpt-4o-mini'] } },
      `query($p: ID!, $from: DateTime!, $to: DateTime!, $i: MetricsInterval!, $f: MetricsFilter) {
        metrics(projectId: $p, from: $from, to: $to, interval: $i, filter: $f) {
          totals { p50LatencyMs p95LatencyMs p99LatencyMs }
          points { p50LatencyMs } } }`,
    );
    // gpt-4o-mini: 1000, 3000 and 4000 ms; percentile_cont: p50 3000, p95 3900, p99 3980.
    const near = (value: number, exact: number) =>
      expect(Math.abs(value / exact - 1)).toBeLessThanOrEqual(SKETCH_ALPHA);
    near(series.totals.p50LatencyMs, 3000);
    near(series.totals.p95LatencyMs, 3900);
    near(series.totals.p99LatencyMs, 3980);
    near(series.points[0].p50LatencyMs, 2000);
    near(series.points[1].p50LatencyMs, 4000);
    // An empty window's latency is unknown, not 0.
    const [empty] = await metrics(
      { from: '2025-07-07T10:00:00Z', to: '2025-07-07T11:00:00Z', i: 'HOUR' },
      `query($p: ID!, $from: DateTime!, $to: DateTime!, $i: MetricsInterval!) {
        metrics(projectId: $p, from: $from, to: $to, interval: $i) { totals { calls p95LatencyMs } } }`,
    );
    expect(empty.totals).toEqual({ calls: 0, p95LatencyMs: null });
  });
});

describe('groups and filters', () => {
  const rows = (list: any[]) =>
    list.map((s) => [
      s.keys.model,
      s.keys.userId,
      s.totals.calls,
      s.totals.cost,
      s.points.map((pt: any) => pt.calls),
    ]);

  it('by model (normalised), in the order of the keys, a null key last', async () => {
    const list = await metrics({ g: ['MODEL'] });
    expect(rows(list)).toEqual([
      ['claude-3-5-haiku', null, 1, '0.8', [1, 0]],
      ['gpt-4o-mini', null, 3, '1.05', [2, 1]],
      ['mystery-model', null, 1, null, [0, 1]],
      [null, null, 1, null, [1, 0]],
    ]);
    expect(list[0].keys).toEqual({ ...NO_KEYS, model: 'claude-3-5-haiku' });
  });

  it('by model and user; by provider, span kind and status', async () => {
    expect(rows(await metrics({ g: ['MODEL', 'USER'], f: { callsOnly: true } }))).toEqual([
      ['claude-3-5-haiku', 'bob', 1, '0.8', [1, 0]],
      ['gpt-4o-mini', 'alice', 2, '0.75', [2, 0]],
      ['gpt-4o-mini', 'bob', 1, '0.3', [0, 1]],
      ['mystery-model', 'carol', 1, null, [0, 1]],
    ]);
    const keyed = async (g: string[]) =>
      (await metrics({ g })).map((s: any) => [
        s.keys.provider,
        s.keys.spanKind,
        s.keys.status,
        s.totals.calls,
      ]);
    expect(await keyed(['PROVIDER'])).toEqual([
      ['acme', null, null, 1],
      ['anthropic', null, null, 1],
      ['openai', null, null, 3],
      [null, null, null, 1],
    ]);
    expect(await keyed(['SPAN_KIND', 'STATUS'])).toEqual([
      [null, 'LLM', 'ERROR', 1],
      [null, 'LLM', 'UNSET', 4],
      [null, 'TOOL', 'UNSET', 1],
    ]);
  });

  it('filters by rollup dimensions and by session and tags (which read the spans)', async () => {
    const totals = async (f: object) => (await metrics({ f }))[0].totals;
    expect(await totals({ userIds: ['bob'] })).toMatchObject({ calls: 3, cost: '1.1' });
    expect(await totals({ statuses: ['ERROR'] })).toMatchObject({ calls: 1, cost: '0.6' });
    expect(await totals({ spanKinds: ['TOOL'] })).toMatchObject({ calls: 1, cost: null });
    expect(await totals({ providers: ['openai'] })).toMatchObject({ calls: 3, cost: '1.05' });
    expect(await totals({ models: ['GPT-4o-mini-2024-07-18'] })).toMatchObject({ calls: 3 });
    expect(await totals({ tags: ['prod'] })).toMatchObject({ calls: 2, cost: '0.45' });
    expect(await totals({ sessionIds: ['session-1'] })).toMatchObject({ calls: 1, cost: '0.15' });
    expect(await totals({ userIds: ['nobody'] })).toEqual(EMPTY);
    // Grouped, nothing matching is no series at all.
    expect(await metrics({ g: ['USER'], f: { userIds: ['nobody'] } })).toEqual([]);
  });
});

describe('top N', () => {
  const top = async (g: string[], o: object, l?: number, f?: object) =>
    (await metrics({ g, o, l, f })).map((s: any) => s.keys.userId ?? s.keys.model);

  it('top spenders by user: cost descending, a user with nothing priced last', async () => {
    expect(await top(['USER'], { field: 'COST' })).toEqual(['bob', 'alice', 'carol']);
    expect(await top(['USER'], { field: 'COST', direction: 'ASC' })).toEqual([
      'alice',
      'bob',
      'carol',
    ]);
    // The kept series' points are theirs alone (narrowed to their keys).
    const [bob] = await metrics({ g: ['USER'], o: { field: 'COST' }, l: 1 });
    expect(bob.keys.userId).toBe('bob');
    expect(bob.totals).toMatchObject({ calls: 3, cost: '1.1' });
    expect(bob.points.map((pt: any) => [pt.calls, pt.cost])).toEqual([
      [2, '0.8'],
      [1, '0.3'],
    ]);
  });

  it('by calls, tokens and error rate; ties in key order', async () => {
    expect(await top(['USER'], { field: 'CALLS' })).toEqual(['bob', 'alice', 'carol']);
    expect(await top(['USER'], { field: 'TOKENS' }, 2)).toEqual(['bob', 'alice']);
    expect(await top(['MODEL'], { field: 'ERROR_RATE' }, 3, { callsOnly: true })).toEqual([
      'gpt-4o-mini',
      'claude-3-5-haiku',
      'mystery-model',
    ]);
    expect(await top(['USER'], { field: 'CALLS', direction: 'ASC' }, 1)).toEqual(['carol']);
  });

  it('slowest model by p95 latency, latency fields not even selected', async () => {
    expect(await top(['MODEL'], { field: 'LATENCY_P95' }, 2, { callsOnly: true })).toEqual([
      'gpt-4o-mini',
      'claude-3-5-haiku',
    ]);
    expect(await top(['MODEL'], { field: 'LATENCY_P95', direction: 'ASC' }, 1)).toEqual([
      'mystery-model',
    ]);
  });

  it('a limit without an order keeps the first series by keys', async () => {
    expect(await top(['USER'], undefined as never, 2)).toEqual(['alice', 'bob']);
  });

  it('costSummary takes the same order and limit', async () => {
    const res = await app.gql(
      `query($p: ID!, $o: CostOrder, $l: Int) { costSummary(projectId: $p, from: "2025-07-07T00:00:00Z", to: "2025-07-21T00:00:00Z", groupBy: [USER], orderBy: $o, limit: $l) { keys { userId } cost } }`,
      { p, o: { field: 'COST' }, l: 2 },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.costSummary).toEqual([
      { keys: { userId: 'bob' }, cost: '1.1' },
      { keys: { userId: 'alice' }, cost: '0.75' },
    ]);
    const slowest = await app.gql(
      `query($p: ID!) { costSummary(projectId: $p, from: "2025-07-07T00:00:00Z", to: "2025-07-21T00:00:00Z", groupBy: [MODEL], orderBy: { field: LATENCY_P95 }, limit: 1) { keys { model } } }`,
      { p },
    );
    expect(slowest.body.data.costSummary).toEqual([{ keys: { model: 'gpt-4o-mini' } }]);
    // The sketch is merged only when a latency is selected: through a fragment counts too.
    const latencies = await app.gql(
      `query($p: ID!) { costSummary(projectId: $p, from: "2025-07-07T00:00:00Z", to: "2025-07-21T00:00:00Z", groupBy: [MODEL]) { keys { model } ...L } }
       fragment L on CostSummaryRow { p95LatencyMs }`,
      { p },
    );
    expect(latencies.body.errors).toBeUndefined();
    expect(latencies.body.data.costSummary.length).toBeGreaterThan(1);
    for (const row of latencies.body.data.costSummary) expect(row.p95LatencyMs).toBeGreaterThan(0);
    // Without them, by keys as before.
    const byKeys = await app.gql(
      `query($p: ID!) { costSummary(projectId: $p, from: "2025-07-07T00:00:00Z", to: "2025-07-21T00:00:00Z", groupBy: [USER]) { keys { userId } } }`,
      { p },
    );
    expect(byKeys.body.data.costSummary.map((r: any) => r.keys.userId)).toEqual([
      'alice',
      'bob',
      'carol',
    ]);
  });
});

describe('validation', () => {
  const bad = async (args: Args, path: string[] | undefined) => {
    const error = await errorOf(args);
    expect([error.extensions?.code, error.extensions?.path]).toEqual(['BAD_USER_INPUT', path]);
  };

  it('to after from', () => bad({ from: TWO_WEEKS.to, to: TWO_WEEKS.from }, ['to']));
  it('at most 1,000 points a series: 2 days of minutes, 60 days of hours', async () => {
    await bad({ from: '2025-07-07T00:00:00Z', to: '2025-07-09T00:00:00Z', i: 'MINUTE' }, [
      'interval',
    ]);
    await bad({ from: '2025-07-01T00:00:00Z', to: '2025-08-30T00:00:00Z', i: 'HOUR' }, [
      'interval',
    ]);
    // 1,000 minutes is allowed.
    await metrics({ from: '2025-07-07T00:00:00Z', to: '2025-07-07T16:40:00Z', i: 'MINUTE' });
  });
  it('limit from 1 to 1,000', async () => {
    await bad({ l: 0 }, ['limit']);
    await bad({ l: 1001 }, ['limit']);
    const res = await app.gql(
      `query($p: ID!) { costSummary(projectId: $p, from: "2025-07-07T00:00:00Z", to: "2025-07-21T00:00:00Z", limit: 0) { cost } }`,
      { p },
    );
    expect(res.body.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['limit'],
    });
  });
  it('bounded filter lists', async () => {
    const error = await errorOf({ f: { userIds: Array.from({ length: 101 }, (_, i) => `u${i}`) } });
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('rights', () => {
  const COUNTS = `query($p: ID!, $from: DateTime!, $to: DateTime!, $i: MetricsInterval!, $o: MetricsOrder) {
    metrics(projectId: $p, from: $from, to: $to, interval: $i, groupBy: [USER], orderBy: $o) { keys { userId } totals { calls } } }`;

  it("another project's id answers NOT_FOUND, as a missing one", async () => {
    const other = await app.seedProject('other');
    const stranger = await app.seedUser({ role: 'ADMIN', projectId: other });
    const foreign = await errorOf({}, COUNTS, stranger.key);
    expect(foreign.extensions?.code).toBe('NOT_FOUND');
    const res = await app.gql(COUNTS, {
      ...TWO_WEEKS,
      i: 'WEEK',
      p: globalId('Project', '00000000-0000-4000-8000-000000000000'),
    });
    expect(res.body.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
  });

  it('a VIEWER reads counts and latency; cost fields are FORBIDDEN alone, ranking by cost entirely', async () => {
    const viewer = await app.seedUser({ role: 'VIEWER', projectId: project });
    const counts = await metrics({ o: { field: 'CALLS' } }, COUNTS, viewer.key);
    expect(counts.map((s: any) => [s.keys.userId, s.totals.calls])).toEqual([
      ['bob', 3],
      ['alice', 2],
      ['carol', 1],
    ]);
    expect((await errorOf({ o: { field: 'COST' } }, COUNTS, viewer.key)).extensions?.code).toBe(
      'FORBIDDEN',
    );
    // As Trace.totalCost: the field is null with FORBIDDEN at its path, the rest is answered.
    const viaFragment = `query($p: ID!, $from: DateTime!, $to: DateTime!, $i: MetricsInterval!) {
      metrics(projectId: $p, from: $from, to: $to, interval: $i) { totals { calls } points { ...V } } }
      fragment V on MetricsPoint { calls cost }`;
    const res = await app.gql(viaFragment, { p, ...TWO_WEEKS, i: 'WEEK' }, { key: viewer.key });
    expect(res.body.data.metrics).toEqual([
      {
        totals: { calls: 6 },
        points: [
          { calls: 4, cost: null },
          { calls: 2, cost: null },
        ],
      },
    ]);
    expect(res.body.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([
      ['FORBIDDEN', ['metrics', 0, 'points', 0, 'cost']],
      ['FORBIDDEN', ['metrics', 0, 'points', 1, 'cost']],
    ]);
    // The admin may.
    expect((await metrics({}, viaFragment))[0].points[0].cost).toBe('1.55');
  });
});
