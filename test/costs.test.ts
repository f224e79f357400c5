// Prices and cost queries through GraphQL: project overrides, patterns, start dates, the price
// list, and cost summaries checked against hand-computed sums.
import { SKETCH_ALPHA } from '../src/modules/analytics/sketch';
import { createTestApp, globalId, type TestApp } from './support/app';
import { ingest, span } from './support/spans';

let app: TestApp;
let project: string;
let projectGid: string;

beforeAll(async () => {
  app = await createTestApp();
  project = await app.seedProject('costs');
  projectGid = globalId('Project', project);
});
afterAll(() => app.close());

const UPSERT = `mutation($input: UpsertModelPriceInput!) { upsertModelPrice(input: $input) { modelPrice { id modelName matchPattern startDate inputPrice outputPrice cachedInputPrice builtIn } } }`;
const upsert = (input: Record<string, unknown>) =>
  app.gql(UPSERT, { input: { projectId: projectGid, ...input } });

async function costOf(spanId: string) {
  const row = await app.server.deps.db.prisma.span.findFirstOrThrow({
    where: { projectId: project, externalId: spanId },
  });
  return row.totalCost?.toString() ?? null;
}

describe('model prices', () => {
  it('a project price overrides the built-in one from its start date; older spans keep the old price', async () => {
    const res = await upsert({
      modelName: 'gpt-4o',
      startDate: '2025-06-01T00:00:00Z',
      inputPrice: '1',
      outputPrice: '2',
      cachedInputPrice: '0.5',
    });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.upsertModelPrice.modelPrice).toMatchObject({
      modelName: 'gpt-4o',
      inputPrice: '1',
      outputPrice: '2',
      cachedInputPrice: '0.5',
      builtIn: false,
    });

    await ingest(app, project, [
      span({
        traceId: 'p1',
        spanId: 'before',
        model: 'gpt-4o-2024-08-06',
        startTime: '2025-05-31T23:59:59.000Z',
        inputTokens: 1_000_000,
        outputTokens: 1_000_000,
      }),
      span({
        traceId: 'p1',
        spanId: 'after',
        model: 'gpt-4o-2024-08-06',
        startTime: '2025-06-01T00:00:00.000Z',
        inputTokens: 1_000_000,
        outputTokens: 1_000_000,
        cachedInputTokens: 400_000,
      }),
    ]);
    expect(await costOf('before')).toBe('12.5'); // built-in: 2.50 + 10
    expect(await costOf('after')).toBe('2.8'); // project: 600k × 1 + 400k × 0.5 + 1M × 2 = 0.6 + 0.2 + 2
  });

  it('built-in prices change on their start dates (o3 was cut on 2025-06-10)', async () => {
    await ingest(app, project, [
      span({
        traceId: 'p2',
        spanId: 'o3-old',
        model: 'o3-2025-04-16',
        startTime: '2025-06-09T12:00:00.000Z',
        inputTokens: 1_000_000,
        outputTokens: 0,
      }),
      span({
        traceId: 'p2',
        spanId: 'o3-new',
        model: 'o3-2025-04-16',
        startTime: '2025-06-10T12:00:00.000Z',
        inputTokens: 1_000_000,
        outputTokens: 0,
      }),
    ]);
    expect([await costOf('o3-old'), await costOf('o3-new')]).toEqual(['10', '2']);
  });

  it('matches by pattern, and a later upsert of the same name and date replaces the price', async () => {
    const first = await upsert({
      modelName: 'our fine-tunes',
      matchPattern: '^ft:gpt-4o-mini',
      inputPrice: '0.3',
      outputPrice: '1.2',
    });
    expect(first.body.errors).toBeUndefined();
    const again = await upsert({
      modelName: 'our fine-tunes',
      matchPattern: '^ft:gpt-4o-mini',
      inputPrice: '0.3',
      outputPrice: '2.4',
    });
    expect(again.body.data.upsertModelPrice.modelPrice.id).toBe(
      first.body.data.upsertModelPrice.modelPrice.id,
    );
    await ingest(app, project, [
      span({
        traceId: 'p3',
        spanId: 'ft',
        model: 'ft:gpt-4o-mini-2024-07-18:acme::9abc',
        inputTokens: 1_000_000,
        outputTokens: 1_000_000,
      }),
    ]);
    expect(await costOf('ft')).toBe('2.7');
  });

  it('leaves cost empty for a model without a price', async () => {
    await ingest(app, project, [
      span({
        traceId: 'p4',
        spanId: 'unknown',
        model: 'my-local-llama',
        inputTokens: 10,
        outputTokens: 10,
      }),
    ]);
    expect(await costOf('unknown')).toBeNull();
  });

  it('refuses bad prices with the field named', async () => {
    const badRegex = await upsert({
      modelName: 'x',
      matchPattern: '([a-z]+)+$',
      inputPrice: '1',
      outputPrice: '1',
    });
    expect(badRegex.body.errors![0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'matchPattern'],
    });
    const notRegex = await upsert({
      modelName: 'x',
      matchPattern: '(',
      inputPrice: '1',
      outputPrice: '1',
    });
    expect(notRegex.body.errors![0].extensions!.path).toEqual(['input', 'matchPattern']);
    const money = await upsert({ modelName: 'x', inputPrice: 'free', outputPrice: '1' });
    expect(money.body.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
    const negative = await upsert({ modelName: 'x', inputPrice: '-999999', outputPrice: '1' });
    expect(negative.body.errors![0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'inputPrice'],
    });
    const negativeCached = await upsert({
      modelName: 'x',
      inputPrice: '1',
      outputPrice: '1',
      cachedInputPrice: '-1',
    });
    expect(negativeCached.body.errors![0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'cachedInputPrice'],
    });
  });

  it('lists built-in and project prices with totalCount, filtered', async () => {
    const all = await app.gql(
      `{ modelPrices(first: 100, filter: { builtIn: true }) { totalCount edges { node { provider modelName sourceDate } } } }`,
    );
    expect(all.body.data.modelPrices.totalCount).toBeGreaterThanOrEqual(40);
    const providers = new Set(all.body.data.modelPrices.edges.map((e: any) => e.node.provider));
    for (const p of ['openai', 'anthropic', 'google', 'mistral', 'meta', 'cohere'])
      expect(providers.has(p)).toBe(true);
    const mine = await app.gql(
      `query($p: ID) { modelPrices(filter: { projectId: $p, model: "gpt-4o" }) { totalCount edges { node { modelName builtIn } } } }`,
      { p: projectGid },
    );
    const nodes = mine.body.data.modelPrices.edges.map((e: any) => e.node);
    expect(nodes[0]).toEqual({ modelName: 'gpt-4o', builtIn: false });
    expect(nodes.some((n: any) => n.builtIn && n.modelName === 'gpt-4o-mini')).toBe(true);
    const page = await app.gql(
      `{ modelPrices(first: 2) { pageInfo { hasNextPage endCursor } edges { node { id } } } }`,
    );
    const next = await app.gql(
      `query($a: String) { modelPrices(first: 2, after: $a) { edges { node { id } } } }`,
      { a: page.body.data.modelPrices.pageInfo.endCursor },
    );
    expect(next.body.data.modelPrices.edges[0].node.id).not.toBe(
      page.body.data.modelPrices.edges[0].node.id,
    );
  });

  it('deletes a project price, and only a project price', async () => {
    const created = await upsert({ modelName: 'temp-model', inputPrice: '1', outputPrice: '1' });
    const id = created.body.data.upsertModelPrice.modelPrice.id;
    const del = await app.gql(
      `mutation($p: ID!, $id: ID!) { deleteModelPrice(input: { projectId: $p, id: $id }) { deletedId } }`,
      { p: projectGid, id },
    );
    expect(del.body.data.deleteModelPrice.deletedId).toBe(id);
    const again = await app.gql(
      `mutation($p: ID!, $id: ID!) { deleteModelPrice(input: { projectId: $p, id: $id }) { deletedId } }`,
      { p: projectGid, id },
    );
    expect(again.body.errors![0].extensions!.code).toBe('NOT_FOUND');
  });
});

describe('costSummary', () => {
  let summaryProject: string;
  beforeAll(async () => {
    summaryProject = await app.seedProject('summary');
    // Hand-checkable spend: gpt-4o-mini $0.15/$0.60, claude-3-5-haiku $0.80/$4 per 1M tokens.
    const res = await ingest(app, summaryProject, [
      span({
        traceId: 'a',
        spanId: '1',
        model: 'gpt-4o-mini',
        userId: 'alice',
        startTime: '2025-07-01T09:00:00.000Z',
        endTime: '2025-07-01T09:00:01.000Z',
        inputTokens: 1_000_000,
        outputTokens: 0,
      }),
      span({
        traceId: 'a',
        spanId: '2',
        model: 'gpt-4o-mini',
        userId: 'alice',
        startTime: '2025-07-01T10:00:00.000Z',
        endTime: '2025-07-01T10:00:03.000Z',
        inputTokens: 0,
        outputTokens: 1_000_000,
        status: 'ERROR',
      }),
      span({
        traceId: 'b',
        spanId: '1',
        model: 'claude-3-5-haiku-20241022',
        userId: 'bob',
        startTime: '2025-07-02T09:00:00.000Z',
        endTime: '2025-07-02T09:00:02.000Z',
        inputTokens: 500_000,
        outputTokens: 100_000,
      }),
      span({
        traceId: 'b',
        spanId: '2',
        kind: 'TOOL',
        name: 'no model, no cost',
        userId: 'bob',
        startTime: '2025-07-02T09:00:00.000Z',
      }),
      span({
        traceId: 'c',
        spanId: '1',
        model: 'gpt-4o-mini',
        userId: 'bob',
        startTime: '2025-08-01T00:00:00.000Z',
        inputTokens: 1_000_000,
        outputTokens: 0,
      }),
    ]);
    expect(res.body.errors).toBeUndefined();
  });

  const SUMMARY = `query($p: ID!, $g: [CostGroupBy!], $f: CostFilter) {
    costSummary(projectId: $p, from: "2025-07-01T00:00:00Z", to: "2025-08-01T00:00:00Z", groupBy: $g, filter: $f) {
      keys { model userId day hour spanKind projectId } inputTokens outputTokens cost calls errorRate p50LatencyMs p95LatencyMs } }`;
  const summary = async (groupBy: string[], filter?: object) => {
    const res = await app.gql(SUMMARY, {
      p: globalId('Project', summaryProject),
      g: groupBy,
      f: filter,
    });
    expect(res.body.errors).toBeUndefined();
    return res.body.data.costSummary;
  };

  it('totals without grouping (the August span is outside the range)', async () => {
    const [row] = await summary([]);
    // 0.15 + 0.60 + (0.40 + 0.40) = 1.55
    expect(row).toMatchObject({
      inputTokens: 1_500_000,
      outputTokens: 1_100_000,
      cost: '1.55',
      calls: 3,
      errorRate: 1 / 3,
    });
    // From the rollups' sketch: within its relative error of the exact 2000 and 2900.
    expect(Math.abs(row.p50LatencyMs / 2000 - 1)).toBeLessThanOrEqual(SKETCH_ALPHA);
    expect(Math.abs(row.p95LatencyMs / 2900 - 1)).toBeLessThanOrEqual(SKETCH_ALPHA);
  });

  it('groups by model and day', async () => {
    const rows = await summary(['MODEL', 'DAY']);
    expect(rows.map((r: any) => [r.keys.model, r.keys.day, r.cost, r.calls, r.errorRate])).toEqual([
      ['claude-3-5-haiku', '2025-07-02', '0.8', 1, 0], // the normalised name of claude-3-5-haiku-20241022
      ['gpt-4o-mini', '2025-07-01', '0.75', 2, 0.5],
    ]);
    expect(rows[0].keys.userId).toBeNull();
  });

  it('groups by user and hour, and filters', async () => {
    const rows = await summary(['USER', 'HOUR']);
    expect(rows.map((r: any) => [r.keys.userId, r.keys.hour, r.cost])).toEqual([
      ['alice', '2025-07-01T09:00:00.000Z', '0.15'],
      ['alice', '2025-07-01T10:00:00.000Z', '0.6'],
      ['bob', '2025-07-02T09:00:00.000Z', '0.8'],
    ]);
    const bob = await summary(['SPAN_KIND'], { userIds: ['bob'] });
    expect(bob).toEqual([
      expect.objectContaining({ keys: expect.objectContaining({ spanKind: 'LLM' }), cost: '0.8' }),
    ]);
  });

  it('gives daily totals per end user and per project from one function', async () => {
    const totals = await app.server.services.costs.dailyTotals({
      projectIds: [summaryProject],
      from: new Date('2025-07-01'),
      to: new Date('2025-09-01'),
      by: 'PROJECT',
    });
    expect(totals.map((t) => [t.keys.DAY, t.keys.PROJECT, t.cost, Number(t.totalTokens)])).toEqual([
      ['2025-07-01', summaryProject, '0.75', 2_000_000],
      ['2025-07-02', summaryProject, '0.8', 600_000],
      ['2025-08-01', summaryProject, '0.15', 1_000_000],
    ]);
  });

  it('bounds filter lists', async () => {
    const res = await app.gql(SUMMARY, {
      p: globalId('Project', summaryProject),
      g: [],
      f: { userIds: Array.from({ length: 101 }, (_, i) => `u${i}`) },
    });
    expect(res.body.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
  });

  it('refuses an empty time range', async () => {
    const res = await app.gql(
      `query($p: ID!) { costSummary(projectId: $p, from: "2025-07-02T00:00:00Z", to: "2025-07-01T00:00:00Z") { cost } }`,
      { p: globalId('Project', summaryProject) },
    );
    expect(res.body.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
  });
});
