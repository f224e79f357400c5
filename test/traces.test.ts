// Ingest through ingestSpans and reading traces back: idempotence, merging updates, batch
// validation, tree shape, trace totals and per-field cost authorisation.
import { createTestApp, globalId, type TestApp } from './support/app';
import { ingest, span } from './support/spans';

let app: TestApp;
let project: string;

beforeAll(async () => {
  app = await createTestApp();
  project = app.projectId;
});
afterAll(() => app.close());

const TRACE = `query($id: ID!) { trace(id: $id) {
  externalId name status spanCount errorCount startTime endTime latencyMs userId sessionId tags
  inputTokens outputTokens cachedInputTokens totalTokens inputCost outputCost totalCost
  rootSpans { externalId name children { externalId name children { externalId } } }
  spans(first: 100) { totalCount edges { node { externalId parentExternalId kind model inputTokens totalCost usageEstimated } } }
} }`;

async function traceIdOf(externalId: string, projectId = project) {
  const row = await app.server.deps.db.prisma.trace.findUniqueOrThrow({
    where: { projectId_externalId: { projectId, externalId } },
  });
  return globalId('Trace', row.id);
}

describe('ingestSpans', () => {
  const agentTrace = [
    span({
      traceId: 't-agent',
      spanId: 'root',
      name: 'answer question',
      kind: 'AGENT',
      startTime: '2025-03-01T12:00:00.000Z',
      endTime: '2025-03-01T12:00:03.000Z',
      userId: 'u-1',
      sessionId: 'sess-1',
      tags: ['prod'],
    }),
    span({
      traceId: 't-agent',
      spanId: 'llm-1',
      parentSpanId: 'root',
      name: 'plan',
      model: 'gpt-4o-2024-08-06',
      provider: 'openai',
      startTime: '2025-03-01T12:00:00.100Z',
      endTime: '2025-03-01T12:00:01.100Z',
      inputTokens: 1000,
      cachedInputTokens: 200,
      outputTokens: 500,
      tags: ['beta'],
    }),
    span({
      traceId: 't-agent',
      spanId: 'search',
      parentSpanId: 'root',
      name: 'search docs',
      kind: 'RETRIEVER',
      startTime: '2025-03-01T12:00:01.200Z',
      endTime: '2025-03-01T12:00:01.500Z',
    }),
    span({
      traceId: 't-agent',
      spanId: 'llm-2',
      parentSpanId: 'search',
      name: 'rerank',
      model: 'claude-3-5-sonnet-20241022',
      startTime: '2025-03-01T12:00:01.600Z',
      endTime: '2025-03-01T12:00:02.900Z',
      inputTokens: 2000,
      outputTokens: 100,
    }),
  ];

  it('stores spans, builds the tree and totals the trace with hand-computed costs', async () => {
    const res = await ingest(app, project, agentTrace);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.ingestSpans).toEqual({
      acceptedCount: 4,
      rejectedCount: 0,
      traceCount: 1,
      errors: [],
    });

    const { body } = await app.gql(TRACE, { id: await traceIdOf('t-agent') });
    expect(body.errors).toBeUndefined();
    const trace = body.data.trace;
    expect(trace).toMatchObject({
      externalId: 't-agent',
      name: 'answer question',
      status: 'UNSET',
      spanCount: 4,
      errorCount: 0,
      startTime: '2025-03-01T12:00:00.000Z',
      endTime: '2025-03-01T12:00:03.000Z',
      latencyMs: 3000,
      userId: 'u-1',
      sessionId: 'sess-1',
      tags: ['beta', 'prod'],
      inputTokens: 3000,
      outputTokens: 600,
      cachedInputTokens: 200,
      totalTokens: 3600,
    });
    // gpt-4o from 2024-08-06: $2.50 in, $1.25 cached in, $10 out per 1M tokens.
    //   800 × 2.5 + 200 × 1.25 = 2250 → 0.00225; 500 × 10 → 0.005; total 0.00725
    // claude-3-5-sonnet: $3 in, $15 out. 2000 × 3 → 0.006; 100 × 15 → 0.0015; total 0.0075
    expect(trace.inputCost).toBe('0.00825');
    expect(trace.outputCost).toBe('0.0065');
    expect(trace.totalCost).toBe('0.01475');
    expect(trace.rootSpans).toEqual([
      {
        externalId: 'root',
        name: 'answer question',
        children: [
          { externalId: 'llm-1', name: 'plan', children: [] },
          { externalId: 'search', name: 'search docs', children: [{ externalId: 'llm-2' }] },
        ],
      },
    ]);
    expect(trace.spans.totalCount).toBe(4);
    const byId = Object.fromEntries(trace.spans.edges.map((e: any) => [e.node.externalId, e.node]));
    expect(byId['llm-1']).toEqual({
      externalId: 'llm-1',
      parentExternalId: 'root',
      kind: 'LLM',
      model: 'gpt-4o-2024-08-06',
      inputTokens: 1000,
      totalCost: '0.00725',
      usageEstimated: false,
    });
    expect(byId['llm-2'].totalCost).toBe('0.0075');
    expect(byId.search.totalCost).toBeNull();
  });

  it('is idempotent: the same batch twice is stored once', async () => {
    await ingest(app, project, agentTrace);
    const again = await ingest(app, project, agentTrace);
    expect(again.body.data.ingestSpans.acceptedCount).toBe(4);
    const prisma = app.server.deps.db.prisma;
    const trace = await prisma.trace.findUniqueOrThrow({
      where: { projectId_externalId: { projectId: project, externalId: 't-agent' } },
    });
    expect(await prisma.span.count({ where: { traceId: trace.id } })).toBe(4);
    expect(await prisma.trace.count({ where: { projectId: project, externalId: 't-agent' } })).toBe(
      1,
    );
    expect(trace.totalCost?.toString()).toBe('0.01475');
  });

  it('merges a later span with the same id into the stored one (end time and status arrive later)', async () => {
    const start = span({
      traceId: 't-late',
      spanId: 'call',
      name: 'call',
      model: 'gpt-4o-mini',
      startTime: '2025-03-02T08:00:00.000Z',
      inputTokens: 100,
      outputTokens: 10,
      metadata: { a: 1 },
    });
    await ingest(app, project, [start]);
    const end = {
      traceId: 't-late',
      spanId: 'call',
      name: 'call',
      startTime: '2025-03-02T08:00:00.000Z',
      endTime: '2025-03-02T08:00:02.500Z',
      status: 'ERROR',
      error: 'timeout',
      metadata: { b: 2 },
    };
    const res = await ingest(app, project, [end]);
    expect(res.body.errors).toBeUndefined();
    const { body } = await app.gql(
      `query($id: ID!) { trace(id: $id) { status errorCount latencyMs totalCost spans { edges { node { latencyMs status error model inputTokens outputTokens metadata totalCost } } } } }`,
      { id: await traceIdOf('t-late') },
    );
    const node = body.data.trace.spans.edges[0].node;
    // gpt-4o-mini: 100 × 0.15 + 10 × 0.60 = 21 per 1M → 0.000021
    expect(node).toEqual({
      latencyMs: 2500,
      status: 'ERROR',
      error: 'timeout',
      model: 'gpt-4o-mini',
      inputTokens: 100,
      outputTokens: 10,
      metadata: { a: 1, b: 2 },
      totalCost: '0.000021',
    });
    expect(body.data.trace).toMatchObject({
      status: 'ERROR',
      errorCount: 1,
      latencyMs: 2500,
      totalCost: '0.000021',
    });
  });

  it('merges repeats of one span within a batch', async () => {
    const res = await ingest(app, project, [
      span({ traceId: 't-dup', spanId: 'x', name: 'first', startTime: '2025-03-03T00:00:00.000Z' }),
      span({
        traceId: 't-dup',
        spanId: 'x',
        name: 'second',
        startTime: '2025-03-03T00:00:00.000Z',
        endTime: '2025-03-03T00:00:01.000Z',
      }),
    ]);
    expect(res.body.data.ingestSpans).toMatchObject({ acceptedCount: 2, traceCount: 1 });
    const spans = await app.server.deps.db.prisma.span.findMany({
      where: { projectId: project, externalId: 'x' },
    });
    expect(spans.map((s) => [s.name, s.latencyMs])).toEqual([['second', 1000]]);
  });

  it('refuses a batch with a bad span, names its index and field, and stores nothing', async () => {
    const res = await ingest(app, project, [
      span({ traceId: 't-bad', spanId: 'ok', name: 'fine' }),
      span({
        traceId: 't-bad',
        spanId: 'bad',
        name: 'broken',
        startTime: '2025-03-01T12:00:00.000Z',
        endTime: '2025-03-01T11:00:00.000Z',
      }),
      span({ traceId: 't-bad', spanId: 'neg', name: 'negative', inputTokens: -5 }),
    ]);
    expect(res.body.data?.ingestSpans ?? null).toBeNull();
    const error = res.body.errors![0];
    expect(error.extensions!.code).toBe('BAD_USER_INPUT');
    expect(error.extensions!.path).toEqual(['input', 'spans', 1, 'endTime']);
    expect(error.extensions!.invalidSpans).toEqual([
      { index: 1, field: 'endTime', message: 'must not be before startTime' },
      { index: 2, field: 'inputTokens', message: expect.stringContaining('whole number') },
    ]);
    expect(
      await app.server.deps.db.prisma.trace.count({
        where: { projectId: project, externalId: 't-bad' },
      }),
    ).toBe(0);
  });

  it('with partial: true stores the good spans and reports the bad ones', async () => {
    const res = await ingest(
      app,
      project,
      [
        span({ traceId: 't-partial', spanId: 'ok', name: 'fine' }),
        span({ traceId: 't-partial', spanId: '', name: 'no id' }),
        span({
          traceId: 't-partial',
          spanId: 'meta',
          name: 'big',
          metadata: { blob: 'x'.repeat(40_000) },
        }),
      ],
      { partial: true },
    );
    expect(res.body.data.ingestSpans).toEqual({
      acceptedCount: 1,
      rejectedCount: 2,
      traceCount: 1,
      errors: [
        { index: 1, field: 'spanId', message: 'must not be empty' },
        { index: 2, field: 'metadata', message: expect.stringContaining('larger than') },
      ],
    });
    expect(
      await app.server.deps.db.prisma.span.count({
        where: { projectId: project, trace: { externalId: 't-partial' } },
      }),
    ).toBe(1);
  });

  it('refuses more than 1,000 spans in one call', async () => {
    const spans = Array.from({ length: 1001 }, (_, i) =>
      span({ traceId: 't-many', spanId: `s${i}`, name: 'n' }),
    );
    const res = await ingest(app, project, spans);
    expect(res.body.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
    expect(res.body.errors![0].message).toMatch(/At most 1000 spans/);
  });

  it('estimates usage from text when none is sent, and cuts long text', async () => {
    const long = 'hello world '.repeat(10_000); // 120,000 characters
    await ingest(app, project, [
      span({
        traceId: 't-est',
        spanId: 'e',
        name: 'chat',
        model: 'gpt-4o-mini',
        input: 'Say hello to the world.',
        output: long,
      }),
    ]);
    const row = await app.server.deps.db.prisma.span.findFirstOrThrow({
      where: { projectId: project, externalId: 'e' },
    });
    expect(row.usageEstimated).toBe(true);
    expect(row.inputTokens).toBeGreaterThan(3);
    expect(row.inputTokens).toBeLessThan(10);
    expect(row.outputTokens).toBeGreaterThan(15_000); // counted on the whole text, before cutting
    expect(row.textTruncated).toBe(true);
    expect(row.output!.length).toBe(100_000);
    expect(Number(row.totalCost)).toBeGreaterThan(0);
  });

  it('totals a trace the same whether its spans come in one batch or several', async () => {
    const spansOf = (traceId: string) => [
      span({
        traceId,
        spanId: 'r',
        name: 'root',
        startTime: '2025-05-01T00:00:01.000Z',
        endTime: '2025-05-01T00:00:09.000Z',
        metadata: { v: 1 },
        tags: ['beta', 'Alpha'],
      }),
      span({
        traceId,
        spanId: 'a',
        parentSpanId: 'r',
        name: 'first child',
        startTime: '2025-05-01T00:00:00.500Z',
        userId: 'later-user',
        sessionId: 's',
        model: 'gpt-4o',
        inputTokens: 123,
        outputTokens: 45,
        cachedInputTokens: 20,
        tags: ['zeta'],
      }),
      span({
        traceId,
        spanId: 'b',
        parentSpanId: 'r',
        name: 'second',
        startTime: '2025-05-01T00:00:02.000Z',
        endTime: '2025-05-01T00:00:12.000Z',
        status: 'ERROR',
        model: 'claude-3-5-haiku',
        inputTokens: 7,
        outputTokens: 9,
      }),
      span({
        traceId,
        spanId: 'c',
        parentSpanId: 'b',
        name: 'third',
        startTime: '2025-05-01T00:00:03.000Z',
        status: 'OK',
        userId: 'user-c',
        inputCost: '0.1',
      }),
    ];
    const fields = `name userId sessionId tags metadata startTime endTime latencyMs status spanCount errorCount inputTokens outputTokens cachedInputTokens totalTokens inputCost outputCost totalCost`;
    const read = async (externalId: string) =>
      (
        await app.gql(`query($id: ID!) { trace(id: $id) { ${fields} } }`, {
          id: await traceIdOf(externalId),
        })
      ).body.data.trace;

    await ingest(app, project, spansOf('t-one-batch'));
    const split = spansOf('t-split');
    await ingest(app, project, split.slice(2));
    await ingest(app, project, split.slice(0, 2));
    const oneBatch = await read('t-one-batch');
    expect(await read('t-split')).toEqual(oneBatch);
    expect(oneBatch).toMatchObject({
      name: 'root',
      userId: 'later-user',
      tags: ['Alpha', 'beta', 'zeta'],
      metadata: { v: 1 },
      latencyMs: 11500,
      status: 'ERROR',
      spanCount: 4,
      errorCount: 1,
    });
  });

  it('stores half of a character (a text cut inside an emoji) as U+FFFD instead of failing the batch', async () => {
    const cut = 'smile \ud83d';
    const res = await ingest(app, project, [
      span({
        traceId: 't-cut',
        spanId: 'cut',
        name: cut,
        input: cut,
        output: cut,
        metadata: { note: `${cut} end` },
        userId: cut,
        tags: [cut],
      }),
    ]);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.ingestSpans).toMatchObject({ acceptedCount: 1, rejectedCount: 0 });
    const read = await app.gql(
      `query($id: ID!) { trace(id: $id) { name userId tags spans(first: 1) { edges { node { name input output metadata } } } } }`,
      { id: await traceIdOf('t-cut') },
    );
    expect(read.body.errors).toBeUndefined();
    const replaced = 'smile \ufffd';
    expect(read.body.data.trace).toMatchObject({
      name: replaced,
      userId: replaced,
      tags: [replaced],
    });
    expect(read.body.data.trace.spans.edges[0].node).toEqual({
      name: replaced,
      input: replaced,
      output: replaced,
      metadata: { note: `${replaced} end` },
    });
  });

  it('keeps a cost the client sent instead of pricing it', async () => {
    await ingest(app, project, [
      span({
        traceId: 't-own',
        spanId: 'c',
        name: 'c',
        model: 'gpt-4o',
        inputTokens: 10,
        outputTokens: 10,
        inputCost: '0.5',
        outputCost: '0.25',
      }),
    ]);
    const row = await app.server.deps.db.prisma.span.findFirstOrThrow({
      where: { projectId: project, externalId: 'c', trace: { externalId: 't-own' } },
    });
    expect([row.totalCost?.toString(), row.costProvided]).toEqual(['0.75', true]);
  });
});

it('a resend that moves a span past its stored end leaves its latency unknown (null), never negative', async () => {
  const sent = await ingest(app, project, [
    span({
      traceId: 't-moved',
      spanId: 'm',
      startTime: '2025-03-01T12:00:00.000Z',
      endTime: '2025-03-01T12:00:01.000Z',
    }),
  ]);
  expect(sent.body.errors).toBeUndefined();
  const again = await ingest(app, project, [
    span({ traceId: 't-moved', spanId: 'm', startTime: '2025-03-01T12:05:00.000Z' }),
  ]);
  expect(again.body.errors).toBeUndefined();
  const [row] = await app.server.deps.db.query<{ latency_ms: number | null; start: Date }>(
    `SELECT s.latency_ms, s.start_time AS start FROM spans s JOIN traces t ON t.id = s.trace_id
     WHERE t.project_id = $1::uuid AND t.external_id = 't-moved'`,
    [project],
  );
  expect(row.latency_ms).toBeNull();
  expect(new Date(row.start).toISOString()).toBe('2025-03-01T12:05:00.000Z');
});

describe('traces query', () => {
  beforeAll(async () => {
    const spans = [];
    for (let i = 0; i < 6; i++) {
      spans.push(
        span({
          traceId: `list-${i}`,
          spanId: 'root',
          name: i % 2 ? 'odd trace' : 'even trace',
          model: i < 3 ? 'gpt-4o' : 'gpt-4o-mini',
          startTime: `2025-04-0${i + 1}T00:00:00.000Z`,
          endTime: `2025-04-0${i + 1}T00:00:0${i}.000Z`,
          inputTokens: 1000 * (i + 1),
          outputTokens: 0,
          userId: i < 2 ? 'alice' : 'bob',
          tags: i === 5 ? ['vip', 'prod'] : ['prod'],
          status: i === 4 ? 'ERROR' : 'OK',
        }),
      );
    }
    const res = await ingest(app, project, spans);
    expect(res.body.errors).toBeUndefined();
  });

  const LIST = `query($p: ID!, $filter: TraceFilter, $order: TraceOrder, $first: Int, $after: String) {
    traces(projectId: $p, filter: $filter, orderBy: $order, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { externalId } } } }`;
  const list = async (filter: object, order?: object, first = 20, after?: string) => {
    const res = await app.gql(LIST, {
      p: globalId('Project', project),
      filter: { from: '2025-04-01T00:00:00Z', to: '2025-05-01T00:00:00Z', ...filter },
      order,
      first,
      after,
    });
    expect(res.body.errors).toBeUndefined();
    return res.body.data.traces;
  };
  const ids = (conn: any) => conn.edges.map((e: any) => e.node.externalId);

  it('lists newest first and pages with cursors', async () => {
    const page1 = await list({}, undefined, 4);
    expect(ids(page1)).toEqual(['list-5', 'list-4', 'list-3', 'list-2']);
    expect(page1.totalCount).toBe(6);
    const page2 = await list({}, undefined, 4, page1.pageInfo.endCursor);
    expect(ids(page2)).toEqual(['list-1', 'list-0']);
    expect(page2.pageInfo.hasNextPage).toBe(false);
  });

  it('filters by user, tags, status, model, name, latency and cost, and orders by cost', async () => {
    expect(ids(await list({ userId: 'alice' }))).toEqual(['list-1', 'list-0']);
    expect(ids(await list({ tags: ['vip'] }))).toEqual(['list-5']);
    expect(ids(await list({ status: 'ERROR' }))).toEqual(['list-4']);
    expect(ids(await list({ model: 'gpt-4o-mini' }))).toEqual(['list-5', 'list-4', 'list-3']);
    expect(ids(await list({ name: 'ODD' }))).toEqual(['list-5', 'list-3', 'list-1']);
    expect(ids(await list({ minLatencyMs: 4000 }))).toEqual(['list-5', 'list-4']);
    // gpt-4o: 3000 tokens × $2.50 = 0.0075 (list-2); gpt-4o-mini: 6000 × 0.15 = 0.0009 (list-5)
    expect(ids(await list({ minCost: '0.005' }))).toEqual(['list-2', 'list-1']);
    expect(ids(await list({}, { field: 'TOTAL_COST', direction: 'DESC' }, 3))).toEqual([
      'list-2',
      'list-1',
      'list-0',
    ]);
  });

  it("pages a trace's spans, reaches the project, and refuses forged cursors", async () => {
    const id = await traceIdOf('t-agent');
    const q = `query($id: ID!, $after: String) { trace(id: $id) { project { name } spans(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { externalId } } } } }`;
    const first = await app.gql(q, { id });
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data.trace.project.name).toBe('test project');
    expect(first.body.data.trace.spans.totalCount).toBe(4);
    const second = await app.gql(q, { id, after: first.body.data.trace.spans.pageInfo.endCursor });
    const seen = [...first.body.data.trace.spans.edges, ...second.body.data.trace.spans.edges].map(
      (e: any) => e.node.externalId,
    );
    expect(seen).toEqual(['root', 'llm-1', 'search', 'llm-2']);
    expect(second.body.data.trace.spans.pageInfo.hasNextPage).toBe(false);
    const forged = Buffer.from(JSON.stringify(['yesterday', "'; drop table spans; --"])).toString(
      'base64url',
    );
    for (const res of [
      await app.gql(q, { id, after: forged }),
      await app.gql(LIST, { p: globalId('Project', project), after: forged }),
    ]) {
      expect(res.body.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
    }
  });

  it('checks the filter input', async () => {
    const res = await app.gql(LIST, {
      p: globalId('Project', project),
      filter: { minCost: 'lots' },
    });
    expect(res.body.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
  });
});

describe('cost fields by role', () => {
  const Q = `query($id: ID!) { trace(id: $id) { name inputTokens totalCost spans { edges { node { name totalCost } } } } }`;

  it('DEVELOPER and VIEWER read traces, but each cost field answers FORBIDDEN', async () => {
    const id = await traceIdOf('t-agent');
    for (const role of ['DEVELOPER', 'VIEWER'] as const) {
      const user = await app.seedUser({ role, projectId: project });
      const res = await app.gql(Q, { id }, { key: user.key });
      expect(res.body.data.trace.name).toBe('answer question');
      expect(res.body.data.trace.inputTokens).toBe(3000);
      expect(res.body.data.trace.totalCost).toBeNull();
      expect(
        res.body.data.trace.spans.edges.every((e: any) => e.node.totalCost === null && e.node.name),
      ).toBe(true);
      const forbidden = res.body.errors!.filter((e) => e.extensions!.code === 'FORBIDDEN');
      expect(forbidden.map((e) => e.path!.at(-1))).toEqual([
        'totalCost',
        'totalCost',
        'totalCost',
        'totalCost',
        'totalCost',
      ]);
    }
  });

  it('answers a repeated query the same once it runs compiled (graphql-jit from the second run)', async () => {
    const id = await traceIdOf('t-agent');
    const viewer = await app.seedUser({ role: 'VIEWER', projectId: project });
    for (const [who, key] of [
      ['admin', app.adminKey],
      ['viewer', viewer.key],
    ]) {
      const query = `${TRACE} # new text: the first run is interpreted (${who})`;
      const runs = [];
      // Data and errors; the cost extension's bucket level moves between runs.
      for (let i = 0; i < 3; i++) {
        const { data, errors } = (await app.gql(query, { id }, { key })).body;
        runs.push(JSON.stringify({ data, errors }));
      }
      expect(runs[1]).toBe(runs[0]);
      expect(runs[2]).toBe(runs[0]);
      const body = JSON.parse(runs[0]);
      expect(
        body.data.trace.rootSpans[0].children.map((c: { externalId: string }) => c.externalId),
      ).toEqual(['llm-1', 'search']);
      expect(body.errors?.length ?? 0).toBe(who === 'viewer' ? 7 : 0);
    }
  });

  it('ADMIN reads costs; BILLING reads cost summaries but not traces', async () => {
    const id = await traceIdOf('t-agent');
    const admin = await app.seedUser({ role: 'ADMIN', projectId: project });
    const asAdmin = await app.gql(Q, { id }, { key: admin.key });
    expect(asAdmin.body.errors).toBeUndefined();
    expect(asAdmin.body.data.trace.totalCost).toBe('0.01475');

    const billing = await app.seedUser({ role: 'BILLING', projectId: project });
    const asBilling = await app.gql(Q, { id }, { key: billing.key });
    expect(asBilling.body.errors![0].extensions!.code).toBe('FORBIDDEN');
    const summary = await app.gql(
      `query($p: ID!) { costSummary(projectId: $p, from: "2025-03-01T00:00:00Z", to: "2025-03-02T00:00:00Z", filter: { models: ["gpt-4o-2024-08-06", "claude-3-5-sonnet-20241022"] }) { cost calls } }`,
      { p: globalId('Project', project) },
      { key: billing.key },
    );
    expect(summary.body.errors).toBeUndefined();
    // Models are compared normalised: gpt-4o-2024-08-06 also finds the gpt-4o span of t-own (0.75, sent by the client).
    expect(summary.body.data.costSummary).toEqual([{ cost: '0.76475', calls: 3 }]);
  });

  it('a DEVELOPER may not filter or order traces by cost', async () => {
    const dev = await app.seedUser({ role: 'DEVELOPER', projectId: project });
    const res = await app.gql(
      `query($p: ID!) { traces(projectId: $p, orderBy: { field: TOTAL_COST }) { edges { node { name } } } }`,
      { p: globalId('Project', project) },
      { key: dev.key },
    );
    expect(res.body.errors![0].extensions!.code).toBe('FORBIDDEN');
  });
});
