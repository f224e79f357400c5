// The analytics and search read paths (metrics, costSummary, the spans root, TraceFilter.text)
// attacked as a key of another project or of a weaker role would: every role over every transport,
// ids of other projects and of the wrong type, forged cursors, the response cache across keys and
// across ingest, strings that would break SQL, and what a scan is charged.
import { randomUUID } from 'node:crypto';
import { encodeCursor } from '../src/lib/cursors';
import { createTestApp, globalId, type GqlResponse, type TestApp } from './support/app';
import { subscribeWs, wsClient } from './support/live';
import { ingest, span } from './support/spans';

let app: TestApp;
let A: string; // the victim's project (the instance's test project)
let B: string; // mallory's project
let mallory: { key: string };
const keys: Record<string, string> = {};
const pA = () => globalId('Project', A);
const pB = () => globalId('Project', B);

const WINDOW = { from: '2026-01-01T00:00:00Z', to: '2026-01-08T00:00:00Z' };
const at = (second: number) => new Date(Date.UTC(2026, 0, 2, 0, 0, second)).toISOString();

beforeAll(async () => {
  app = await createTestApp();
  A = app.projectId;
  B = await app.seedProject('B');
  const res = await ingest(app, A, [
    span({
      traceId: 'a1',
      spanId: '1',
      kind: 'LLM',
      model: 'gpt-4o-mini',
      inputTokens: 1_000_000,
      outputTokens: 0,
      userId: "o'hara",
      tags: ['NULL', 'a"b', '{c}'],
      input: 'secret phrase of A',
      startTime: at(1),
      endTime: at(2),
    }),
    span({
      traceId: 'a1',
      spanId: '2',
      model: 'gpt-4o-mini',
      inputTokens: 0,
      outputTokens: 1_000_000,
      userId: 'NULL',
      input: 'another secret phrase of A',
      startTime: at(3),
    }),
  ]);
  expect(res.body.errors).toBeUndefined();
  mallory = await app.seedUser({ role: 'ADMIN', projectId: B });
  const theirs = await ingest(
    app,
    B,
    [
      span({
        traceId: 'b1',
        spanId: '1',
        model: 'gpt-4o-mini',
        inputTokens: 10,
        input: 'secret phrase of B',
        startTime: at(1),
      }),
    ],
    { key: mallory.key },
  );
  expect(theirs.body.errors).toBeUndefined();
  for (const role of ['ADMIN', 'DEVELOPER', 'VIEWER', 'BILLING'] as const)
    keys[role] = (await app.seedUser({ role, projectId: A })).key;
  const owner = await app.seedUser({ role: 'ADMIN', projectId: A });
  keys.FEEDBACK = (
    await app.server.services.auth.createApiKey(null, {
      userId: owner.userId,
      role: 'FEEDBACK',
      projectId: A,
    })
  ).key;
  keys.MALLORY = mallory.key;
});
afterAll(() => app.close());

const codes = (res: { body: { errors?: { extensions?: Record<string, any> }[] } }) =>
  res.body.errors?.map((e) => e.extensions?.code) ?? [];

/** A response cached within a few ms of an invalidation is not kept (it may have raced it). */
const settle = () => new Promise((r) => setTimeout(r, 30));

const METRICS_COUNTS = `query($p: ID!) { metrics(projectId: $p, from: "${WINDOW.from}", to: "${WINDOW.to}", interval: DAY) { totals { calls } } }`;
const METRICS_COST = `query($p: ID!) { metrics(projectId: $p, from: "${WINDOW.from}", to: "${WINDOW.to}", interval: DAY) { totals { calls cost } } }`;
const METRICS_BY_COST = `query($p: ID!) { metrics(projectId: $p, from: "${WINDOW.from}", to: "${WINDOW.to}", interval: DAY, groupBy: [USER], orderBy: { field: COST }, limit: 1) { keys { userId } } }`;
const COSTS = `query($p: ID!) { costSummary(projectId: $p, from: "${WINDOW.from}", to: "${WINDOW.to}") { calls cost } }`;
const COSTS_ALL = `query { costSummary(from: "${WINDOW.from}", to: "${WINDOW.to}", groupBy: [PROJECT]) { keys { projectId } calls } }`;
const SEARCH = `query($p: ID!) { spans(projectId: $p, filter: { text: "secret phrase" }) { edges { node { input } } } }`;
const TRACES_TEXT = `query($p: ID!) { traces(projectId: $p, filter: { text: "secret phrase" }) { totalCount } }`;

describe('every role, over every transport', () => {
  // [operation, role → the codes of its answer ('' = answered)]. FEEDBACK keys run createScore(s)
  // only; BILLING reads costs but not traces; read roles see counts but not costs.
  const ok: string[] = [];
  const table: [string, string, Record<string, string[]>][] = [
    [
      'metrics counts',
      METRICS_COUNTS,
      {
        ADMIN: ok,
        DEVELOPER: ok,
        VIEWER: ok,
        BILLING: ['FORBIDDEN'],
        FEEDBACK: ['FORBIDDEN'],
        MALLORY: ['NOT_FOUND'],
      },
    ],
    [
      'metrics cost field',
      METRICS_COST,
      {
        ADMIN: ok,
        DEVELOPER: ['FORBIDDEN'],
        VIEWER: ['FORBIDDEN'],
        BILLING: ['FORBIDDEN'],
        FEEDBACK: ['FORBIDDEN'],
        MALLORY: ['NOT_FOUND'],
      },
    ],
    [
      'metrics ranked by cost',
      METRICS_BY_COST,
      {
        ADMIN: ok,
        DEVELOPER: ['FORBIDDEN'],
        VIEWER: ['FORBIDDEN'],
        BILLING: ['FORBIDDEN'],
        FEEDBACK: ['FORBIDDEN'],
        MALLORY: ['NOT_FOUND'],
      },
    ],
    [
      'costSummary',
      COSTS,
      {
        ADMIN: ok,
        DEVELOPER: ['FORBIDDEN'],
        VIEWER: ['FORBIDDEN'],
        BILLING: ok,
        FEEDBACK: ['FORBIDDEN'],
        MALLORY: ['NOT_FOUND'],
      },
    ],
    [
      'spans',
      SEARCH,
      {
        ADMIN: ok,
        DEVELOPER: ok,
        VIEWER: ok,
        BILLING: ['FORBIDDEN'],
        FEEDBACK: ['FORBIDDEN'],
        MALLORY: ['NOT_FOUND'],
      },
    ],
    [
      'traces by text',
      TRACES_TEXT,
      {
        ADMIN: ok,
        DEVELOPER: ok,
        VIEWER: ok,
        BILLING: ['FORBIDDEN'],
        FEEDBACK: ['FORBIDDEN'],
        MALLORY: ['NOT_FOUND'],
      },
    ],
  ];

  const viaPost = (key: string, query: string) => app.gql(query, { p: pA() }, { key });
  const viaGet = async (key: string, query: string): Promise<GqlResponse> => {
    const url = `${app.graphqlUrl}?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(JSON.stringify({ p: pA() }))}`;
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${key}`, accept: 'application/graphql-response+json' },
    });
    return { status: res.status, headers: res.headers, body: await res.json() };
  };
  const viaWs = async (key: string, query: string): Promise<GqlResponse> => {
    const client = wsClient(app.url, key);
    try {
      const result = await subscribeWs(client, query, { p: pA() }).done.then(
        (events) => events[0],
        (errors) => ({ errors }),
      );
      return { status: 200, headers: new Headers(), body: result };
    } finally {
      await client.dispose();
    }
  };

  it.each(table)('%s', async (_what, query, expected) => {
    for (const [transport, run] of [
      ['POST', viaPost],
      ['GET', viaGet],
      ['graphql-ws', viaWs],
    ] as const)
      for (const [role, want] of Object.entries(expected)) {
        const res = await run(keys[role], query);
        expect([transport, role, [...new Set(codes(res))]]).toEqual([transport, role, want]);
      }
  });

  it('costSummary over every project sums only those whose costs the key may read', async () => {
    const projectsOf = async (key: string) => {
      const res = await app.gql(COSTS_ALL, {}, { key });
      expect(res.body.errors).toBeUndefined();
      return res.body.data.costSummary.map((r: any) => r.keys.projectId);
    };
    expect(await projectsOf(keys.ADMIN)).toEqual([pA()]);
    expect(await projectsOf(keys.BILLING)).toEqual([pA()]);
    expect(await projectsOf(keys.DEVELOPER)).toEqual([]);
    expect(await projectsOf(keys.VIEWER)).toEqual([]);
    expect(await projectsOf(mallory.key)).toEqual([pB()]);
    expect(codes(await app.gql(COSTS_ALL, {}, { key: keys.FEEDBACK }))).toEqual(['FORBIDDEN']);
  });
});

describe('ids of another project, of no project, and of the wrong type', () => {
  const shown = (res: GqlResponse) => [
    res.body.data ?? null,
    res.body.errors?.map((e) => [e.message, e.path, e.extensions?.code, e.extensions?.path]),
  ];
  const BY_TRACE = `query($p: ID!, $t: ID!) { spans(projectId: $p, filter: { text: "secret phrase", traceId: $t }) { edges { node { input } } } }`;
  const traceOf = async (projectId: string) =>
    (
      await app.server.deps.db.query<{ id: string }>(
        'SELECT id::text FROM traces WHERE project_id = $1::uuid LIMIT 1',
        [projectId],
      )
    )[0].id;
  const spanOf = async (projectId: string) =>
    (
      await app.server.deps.db.query<{ id: string }>(
        'SELECT id::text FROM spans WHERE project_id = $1::uuid LIMIT 1',
        [projectId],
      )
    )[0].id;

  it("a trace of A named in a search of B answers as a missing trace, to B's admin", async () => {
    const foreign = await app.gql(
      BY_TRACE,
      { p: pB(), t: globalId('Trace', await traceOf(A)) },
      { key: mallory.key },
    );
    const missing = await app.gql(
      BY_TRACE,
      { p: pB(), t: globalId('Trace', randomUUID()) },
      { key: mallory.key },
    );
    expect(codes(foreign)).toEqual(['NOT_FOUND']);
    expect(shown(foreign)).toEqual(shown(missing));
  });

  it('an id of the wrong type is refused alike whether its row exists, in A or anywhere', async () => {
    for (const [query, vars] of [
      [BY_TRACE, (id: string) => ({ p: pB(), t: id })],
      [METRICS_COUNTS, (id: string) => ({ p: id })],
      [COSTS, (id: string) => ({ p: id })],
    ] as const) {
      const existing = await app.gql(query, vars(globalId('Span', await spanOf(A))), {
        key: mallory.key,
      });
      const missing = await app.gql(query, vars(globalId('Span', randomUUID())), {
        key: mallory.key,
      });
      expect(codes(existing)).toEqual(['BAD_USER_INPUT']);
      // The message quotes the id sent; everything else is the same.
      const shape = (res: GqlResponse) =>
        res.body.errors?.map((e) => [
          e.path,
          e.extensions?.code,
          e.message.replace(/\S+=* is/, 'ID is'),
        ]);
      expect([existing.body.data ?? null, shape(existing)]).toEqual([
        missing.body.data ?? null,
        shape(missing),
      ]);
    }
  });

  it("a cursor from A's page, used in B, pages B's spans and shows nothing of A", async () => {
    const Q = `query($p: ID!, $after: String) { spans(projectId: $p, filter: { text: "phrase of" }, first: 1, after: $after) { edges { cursor node { input } } } }`;
    const page = await app.gql(Q, { p: pA() }, { key: keys.ADMIN });
    const cursorOfA = page.body.data.spans.edges[0].cursor;
    const inB = await app.gql(Q, { p: pB(), after: cursorOfA }, { key: mallory.key });
    expect(inB.body.errors).toBeUndefined();
    expect(inB.body.data.spans.edges.map((e: any) => e.node.input)).toEqual(['secret phrase of B']);
  });

  it('a forged cursor is a client error on `after`, never a value the database refuses', async () => {
    const id = randomUUID();
    const forged = [
      '1',
      '2026',
      'March 7 2026',
      '0000-01-01T00:00:00.000Z',
      '+275760-09-13T00:00:00.000Z',
      '2026-02-30T00:00:00.000Z',
    ];
    for (const value of forged) {
      const res = await app.gql(
        `query($p: ID!, $after: String) { spans(projectId: $p, filter: { text: "phrase of" }, after: $after) { edges { cursor } } }`,
        { p: pB(), after: encodeCursor(value, id) },
        { key: mallory.key },
      );
      expect([
        value,
        res.body.errors?.map((e) => [e.extensions?.code, e.extensions?.path]),
      ]).toEqual([value, [['BAD_USER_INPUT', ['after']]]]);
    }
    // A latency cursor (an int column) beyond an int.
    const traces = await app.gql(
      `query($p: ID!, $after: String) { traces(projectId: $p, orderBy: { field: LATENCY }, after: $after) { edges { cursor } } }`,
      { p: pB(), after: encodeCursor(2 ** 40, id) },
      { key: mallory.key },
    );
    expect(traces.body.errors?.map((e) => [e.extensions?.code, e.extensions?.path])).toEqual([
      ['BAD_USER_INPUT', ['after']],
    ]);
    // The cursors we hand out still page.
    const first = await app.gql(
      `query($p: ID!) { spans(projectId: $p, filter: { text: "phrase of" }, first: 1) { edges { node { input } } pageInfo { endCursor } } }`,
      { p: pA() },
    );
    const next = await app.gql(
      `query($p: ID!, $after: String) { spans(projectId: $p, filter: { text: "phrase of" }, first: 1, after: $after) { edges { node { input } } } }`,
      { p: pA(), after: first.body.data.spans.pageInfo.endCursor },
    );
    expect([first, next].map((r) => r.body.data.spans.edges[0].node.input)).toEqual([
      'another secret phrase of A',
      'secret phrase of A',
    ]);
  });
});

describe('the response cache', () => {
  const cacheOf = (res: GqlResponse) => res.headers.get('x-cache');

  it("never serves A's cached metrics, costs or search to a key of B or of a weaker role", async () => {
    for (const query of [METRICS_COST, COSTS, SEARCH]) {
      const first = await app.gql(query, { p: pA() }, { key: keys.ADMIN });
      expect(first.body.errors).toBeUndefined();
      expect(cacheOf(await app.gql(query, { p: pA() }, { key: keys.ADMIN }))).toBe('HIT');
      const foreign = await app.gql(query, { p: pA() }, { key: mallory.key });
      expect([query, cacheOf(foreign), codes(foreign)]).toEqual([query, 'MISS', ['NOT_FOUND']]);
    }
    // The same user with a key narrowed to VIEWER: the cost is not served from the ADMIN key's entry.
    const viewer = await app.gql(METRICS_COST, { p: pA() }, { key: keys.VIEWER });
    expect([cacheOf(viewer), viewer.body.data.metrics[0].totals]).toEqual([
      'MISS',
      { calls: 2, cost: null },
    ]);
  });

  it('drops cached metrics and cost summaries on ingest, GraphQL and OTLP, within their 30 s', async () => {
    const admin = app.adminKey;
    const read = async () => {
      const metrics = await app.gql(METRICS_COUNTS, { p: pA() }, { key: admin });
      const costs = await app.gql(COSTS, { p: pA() }, { key: admin });
      const all = await app.gql(COSTS_ALL, {}, { key: admin });
      const member = await app.gql(COSTS_ALL, {}, { key: keys.BILLING });
      const answers = [metrics, costs, all, member];
      for (const res of answers) expect(res.body.errors).toBeUndefined();
      return {
        cache: answers.map(cacheOf),
        calls: [
          metrics.body.data.metrics[0].totals.calls,
          costs.body.data.costSummary[0].calls,
          all.body.data.costSummary.find((r: any) => r.keys.projectId === pA()).calls,
          member.body.data.costSummary[0].calls,
        ],
      };
    };
    await settle();
    const before = await read();
    expect((await read()).cache).toEqual(['HIT', 'HIT', 'HIT', 'HIT']);

    await ingest(app, A, [
      span({ traceId: 'a2', spanId: '1', model: 'gpt-4o-mini', inputTokens: 10, startTime: at(9) }),
    ]);
    await settle();
    const afterGraphql = await read();
    expect(afterGraphql).toEqual({
      cache: ['MISS', 'MISS', 'MISS', 'MISS'],
      calls: before.calls.map((n) => n + 1),
    });
    expect((await read()).cache).toEqual(['HIT', 'HIT', 'HIT', 'HIT']);

    const otlp = await fetch(`${app.url}/v1/traces`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${admin}`,
        'x-evalgraph-project': pA(),
      },
      body: JSON.stringify({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: '0af7651916cd43dd8448eb211c80319c',
                    spanId: 'b7ad6b7169203331',
                    name: 'otlp call',
                    startTimeUnixNano: String(BigInt(Date.parse(at(20))) * 1_000_000n),
                    attributes: [
                      { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
                      { key: 'gen_ai.usage.input_tokens', value: { intValue: 10 } },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(otlp.status).toBe(200);
    await settle();
    expect(await read()).toEqual({
      cache: ['MISS', 'MISS', 'MISS', 'MISS'],
      calls: before.calls.map((n) => n + 2),
    });
  });
});

describe('strings that would break SQL are plain values', () => {
  const M = `query($p: ID!, $f: MetricsFilter) { metrics(projectId: $p, from: "${WINDOW.from}", to: "${WINDOW.to}", interval: WEEK, filter: $f) { totals { calls } } }`;
  const C = `query($p: ID!, $f: CostFilter) { costSummary(projectId: $p, from: "${WINDOW.from}", to: "${WINDOW.to}", filter: $f) { calls } }`;
  const callsOf = async (query: string, filter: object) => {
    const res = await app.gql(query, { p: pA(), f: filter });
    expect(res.body.errors).toBeUndefined();
    const data = res.body.data.metrics ?? res.body.data.costSummary;
    return data.length ? (data[0].totals ?? data[0]).calls : 0;
  };

  it('in filter lists: quotes, array syntax, the word NULL and SQL find exactly their spans', async () => {
    for (const query of [M, C]) {
      expect(await callsOf(query, { userIds: ["o'hara"] })).toBe(1);
      expect(await callsOf(query, { userIds: ['NULL'] })).toBe(1);
      expect(await callsOf(query, { tags: ['NULL'] })).toBe(1);
      expect(await callsOf(query, { tags: ['a"b', '{c}'] })).toBe(1);
      expect(await callsOf(query, { tags: ['{c'] })).toBe(0);
      expect(await callsOf(query, { userIds: ["x') OR true --"] })).toBe(0);
      expect(await callsOf(query, { models: ["gpt-4o-mini' OR '1'='1"] })).toBe(0);
    }
  });

  it('in a phrase: LIKE patterns and quotes are literal', async () => {
    for (const text of ["' OR '1'='1", '%%%', '___', 'phrase%of', 'A\\%']) {
      const res = await app.gql(
        'query($p: ID!, $t: String!) { spans(projectId: $p, filter: { text: $t }) { edges { node { id } } } }',
        { p: pA(), t: text },
      );
      expect([text, res.body.errors, res.body.data.spans.edges]).toEqual([text, undefined, []]);
    }
  });
});

describe('what a scan is charged', () => {
  const costOf = async (query: string, variables: Record<string, unknown>) => {
    const res = await app.gql(query, variables);
    expect(res.body.errors).toBeUndefined();
    return res.body.extensions.cost;
  };

  it('a phrase search costs its scan, even when its page is empty', async () => {
    const missed = { p: pA() };
    const Q = `query($p: ID!) { spans(projectId: $p, filter: { text: "no span holds this" }, first: 1) { edges { node { id } } } }`;
    expect(await costOf(Q, missed)).toMatchObject({ requestedQueryCost: 52, actualQueryCost: 51 });
    const T = `query($p: ID!, $f: TraceFilter) { traces(projectId: $p, first: 1, filter: $f) { edges { node { id } } } }`;
    expect(await costOf(T, { ...missed, f: { text: 'no span holds this' } })).toMatchObject({
      requestedQueryCost: 52,
      actualQueryCost: 51,
    });
    // Without a phrase a page of traces costs its page.
    expect(await costOf(T, { ...missed, f: { userId: 'nobody' } })).toMatchObject({
      requestedQueryCost: 2,
      actualQueryCost: 1,
    });
  });

  it('metrics are charged for the series they return, past the estimate', async () => {
    const Q = `query($p: ID!) { metrics(projectId: $p, from: "2026-01-02T00:00:00Z", to: "2026-01-02T16:40:00Z", interval: MINUTE) { points { calls } } }`;
    // 50, a series and 1,000 points of 1: estimated at 10 series of 24 points, charged at 1,000.
    expect(await costOf(Q, { p: pA() })).toMatchObject({
      requestedQueryCost: 300,
      actualQueryCost: 1051,
    });
  });
});
