// Phrase search over span input and output: the `spans` root and TraceFilter.text, through the
// server.
import { searchSpansStatement } from '../src/modules/traces/search-sql';
import { indexTexts } from '../src/modules/traces/text-index';
import { createTestApp, globalId, type TestApp } from './support/app';
import { ingest, span } from './support/spans';

let app: TestApp;
let other: { projectId: string; key: string };
const traces: Record<string, string> = {};

const at = (second: number) => new Date(Date.UTC(2026, 0, 2, 0, 0, second)).toISOString();

const SEARCH = `query($p: ID!, $f: SpanFilter!, $first: Int, $after: String) {
  spans(projectId: $p, filter: $f, first: $first, after: $after) {
    edges { cursor node { externalId input output trace { externalId } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

async function search(
  filter: Record<string, unknown>,
  options: { key?: string; project?: string; first?: number; after?: string } = {},
) {
  return app.gql(
    SEARCH,
    {
      p: globalId('Project', options.project ?? app.projectId),
      f: filter,
      first: options.first,
      after: options.after,
    },
    { key: options.key },
  );
}

/** Copies every queued span's text into the index, as the worker does (and alongside it). */
async function drainTextQueue(app: TestApp) {
  for (let pass = 0; pass < 1_000; pass++) {
    const taken = await indexTexts(app.server.deps, 20);
    if (taken === 0) return;
    if (taken === null) await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the text queue did not drain');
}

/** The external ids of the spans found, newest first; fails on any error. */
async function found(filter: Record<string, unknown>, options: { key?: string } = {}) {
  const res = await search(filter, options);
  expect(res.body.errors).toBeUndefined();
  return res.body.data.spans.edges.map((e: any) => e.node.externalId);
}

const codes = (res: { body: { errors?: { extensions?: { code?: unknown } }[] } }) =>
  res.body.errors?.map((e) => e.extensions?.code);

beforeAll(async () => {
  app = await createTestApp();
  const spans = [
    span({
      traceId: 't1',
      spanId: 'fox',
      startTime: at(1),
      input: 'The Quick Brown fox',
      output: 'jumps over',
      model: 'gpt-4o-2024-08-06',
      userId: 'u1',
    }),
    span({
      traceId: 't1',
      spanId: 'dog',
      startTime: at(2),
      kind: 'TOOL',
      input: 'nothing to see over here',
      output: 'a lazy DOG sleeps',
      error: 'boom',
      userId: 'u2',
    }),
    span({ traceId: 't2', spanId: 'percent', startTime: at(3), input: 'a discount of 50% off' }),
    span({ traceId: 't2', spanId: 'five-hundred', startTime: at(4), input: 'it costs 500 now' }),
    span({ traceId: 't2', spanId: 'underscore', startTime: at(5), output: 'call get_user now' }),
    span({ traceId: 't2', spanId: 'no-underscore', startTime: at(6), output: 'call getXuser now' }),
    span({ traceId: 't2', spanId: 'backslash', startTime: at(7), input: 'path C:\\tmp\\x here' }),
    ...[1, 2, 3, 4, 5].map((n) =>
      span({
        traceId: 't3',
        spanId: `page-${n}`,
        startTime: at(10 + n),
        input: `page marker ${n}`,
      }),
    ),
  ];
  const res = await ingest(app, app.projectId, spans);
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data.ingestSpans.acceptedCount).toBe(spans.length);

  const projectId = await app.seedProject('other');
  const user = await app.seedUser({ role: 'ADMIN', projectId });
  other = { projectId, key: user.key };
  const theirs = await ingest(
    app,
    projectId,
    [span({ traceId: 'theirs', spanId: 'their-fox', input: 'quick brown fox of theirs' })],
    { key: user.key },
  );
  expect(theirs.body.errors).toBeUndefined();

  for (const row of await app.server.deps.db.query<{ id: string; externalId: string }>(
    'SELECT id::text, external_id AS "externalId" FROM traces',
  ))
    traces[row.externalId] = globalId('Trace', row.id);
});
afterAll(() => app.close());

describe('spans(projectId, filter: { text })', () => {
  it('finds the phrase in input and in output, whatever its case', async () => {
    expect(await found({ text: 'quick BROWN' })).toEqual(['fox']);
    expect(await found({ text: 'Lazy dog' })).toEqual(['dog']);
    expect(await found({ text: 'jumps OVER' })).toEqual(['fox']);
    expect(await found({ text: 'not in any span' })).toEqual([]);
    const res = await search({ text: 'lazy dog' });
    expect(res.body.data.spans.edges[0].node).toEqual({
      externalId: 'dog',
      input: 'nothing to see over here',
      output: 'a lazy DOG sleeps',
      trace: { externalId: 't1' },
    });
  });

  it('takes %, _ and \\ literally', async () => {
    expect(await found({ text: '50%' })).toEqual(['percent']);
    expect(await found({ text: 'get_user' })).toEqual(['underscore']);
    expect(await found({ text: 'C:\\tmp' })).toEqual(['backslash']);
    expect(await found({ text: '%%%' })).toEqual([]);
  });

  it('combines the phrase with the other conditions', async () => {
    expect(await found({ text: 'page marker', traceId: traces.t3 })).toHaveLength(5);
    expect(await found({ text: 'page marker', traceId: traces.t1 })).toEqual([]);
    expect(await found({ text: 'page marker', from: at(12), to: at(14) })).toEqual([
      'page-3',
      'page-2',
    ]);
    // "over" is in both spans of t1 (fox's output, dog's input): the conditions tell them apart.
    expect(await found({ text: 'over' })).toEqual(['dog', 'fox']);
    expect(await found({ text: 'over', kind: 'TOOL' })).toEqual(['dog']);
    expect(await found({ text: 'over', status: 'ERROR' })).toEqual(['dog']);
    expect(await found({ text: 'over', model: 'gpt-4o' })).toEqual(['fox']);
    expect(await found({ text: 'over', model: 'gpt-4o-mini' })).toEqual([]);
    expect(await found({ text: 'over', userId: 'u1' })).toEqual(['fox']);
  });

  it('pages newest first through first/after', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 3; page++) {
      const res = await search({ text: 'page marker' }, { first: 2, after });
      expect(res.body.errors).toBeUndefined();
      const { edges, pageInfo } = res.body.data.spans;
      seen.push(...edges.map((e: any) => e.node.externalId));
      expect(pageInfo.hasNextPage).toBe(page < 2);
      after = pageInfo.endCursor;
    }
    expect(seen).toEqual(['page-5', 'page-4', 'page-3', 'page-2', 'page-1']);
    const forged = await search({ text: 'page marker' }, { after: 'bm90IGEgY3Vyc29y' });
    expect(codes(forged)).toEqual(['BAD_USER_INPUT']);
  });

  it("shows nothing of another project's spans", async () => {
    // The other project's key may not search this project, and finds only its own fox in its own.
    expect(codes(await search({ text: 'quick brown' }, { key: other.key }))).toEqual(['NOT_FOUND']);
    const own = await search({ text: 'quick brown' }, { key: other.key, project: other.projectId });
    expect(own.body.data.spans.edges.map((e: any) => e.node.externalId)).toEqual(['their-fox']);
    // Not asked with this project's key either: a filter naming its trace is NOT_FOUND, as a missing one.
    expect(await found({ text: 'quick brown' })).toEqual(['fox']);
    const foreign = await search({ text: 'quick brown', traceId: traces.theirs });
    const missing = await search({
      text: 'quick brown',
      traceId: globalId('Trace', '01900000-0000-7000-8000-000000000000'),
    });
    for (const res of [foreign, missing]) {
      expect(res.body.data?.spans ?? null).toBeNull();
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors?.[0].extensions).toMatchObject({
        code: 'NOT_FOUND',
        path: ['filter', 'traceId'],
      });
    }
    expect(foreign.body.errors?.[0].message).toBe(missing.body.errors?.[0].message);
  });

  it('refuses a phrase shorter than 3 characters or longer than 1,000', async () => {
    expect(codes(await search({ text: 'ab' }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await search({ text: 'x'.repeat(1001) }))).toEqual(['BAD_USER_INPUT']);
    const traces = await app.gql(
      'query($p: ID!) { traces(projectId: $p, filter: { text: "ab" }) { totalCount } }',
      { p: globalId('Project', app.projectId) },
    );
    expect(codes(traces)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('traces(filter: { text })', () => {
  const TRACES = `query($p: ID!, $f: TraceFilter) {
    traces(projectId: $p, filter: $f) { totalCount edges { node { externalId } } }
  }`;
  const tracesWith = async (filter: Record<string, unknown>, key?: string) => {
    const res = await app.gql(
      TRACES,
      { p: globalId('Project', app.projectId), f: filter },
      { key },
    );
    expect(res.body.errors).toBeUndefined();
    return res.body.data.traces;
  };

  it('finds the traces with a span holding the phrase, in input or output', async () => {
    expect(await tracesWith({ text: 'LAZY dog' })).toEqual({
      totalCount: 1,
      edges: [{ node: { externalId: 't1' } }],
    });
    expect(await tracesWith({ text: '50%' })).toEqual({
      totalCount: 1,
      edges: [{ node: { externalId: 't2' } }],
    });
    expect((await tracesWith({ text: 'marker 3', userId: 'nobody' })).totalCount).toBe(0);
    expect((await tracesWith({ text: 'quick brown' })).edges).toEqual([
      { node: { externalId: 't1' } },
    ]);
  });
});

describe('a search among thousands of spans', () => {
  let projectId: string;
  beforeAll(async () => {
    // Enough spans that reading them all costs more than the index: the planner's own choice.
    projectId = await app.seedProject('many spans');
    const sql = app.server.deps.db.query;
    const [trace] = await sql<{ id: string }>(
      `INSERT INTO traces (id, project_id, external_id, start_time, updated_at)
       VALUES (gen_random_uuid(), $1::uuid, 'bulk', now(), now()) RETURNING id::text`,
      [projectId],
    );
    await sql(
      `INSERT INTO spans (id, project_id, trace_id, external_id, name, start_time, input, output, updated_at)
       SELECT gen_random_uuid(), $1::uuid, $2::uuid, 'b' || g, 'step', now() - g * interval '1 second',
              'request ' || g || ' about ' || repeat(md5(g::text), 20), 'answer ' || repeat(md5((g + 1)::text), 10), now()
       FROM generate_series(1, 5000) g`,
      [projectId, trace.id],
    );
    await sql(
      `UPDATE spans SET output = 'here is the needle in the haystack' WHERE project_id = $1::uuid AND external_id = 'b77'`,
      [projectId],
    );
    // Spans stored outside ingest are queued for the index as the migration queues old ones.
    await sql(
      `INSERT INTO span_text_queue (project_id, span_ids)
       SELECT $1::uuid, array_agg(id) FROM spans WHERE project_id = $1::uuid`,
      [projectId],
    );
    await sql('ANALYZE spans');
    await sql('ANALYZE traces');
  });

  it('finds the one span through the API while its text waits in the queue', async () => {
    const res = await search({ text: 'NEEDLE in the' }, { project: projectId });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.spans.edges.map((e: any) => e.node.externalId)).toEqual(['b77']);
  });

  it('and from the trigram index once the worker copied the text', async () => {
    await drainTextQueue(app);
    const sql = app.server.deps.db.query;
    expect(await sql('SELECT 1 FROM span_text_queue')).toEqual([]);
    const [{ n }] = await sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM span_texts WHERE project_id = $1::uuid',
      [projectId],
    );
    expect(n).toBe(5000);
    await sql('ANALYZE span_texts');
    const res = await search({ text: 'NEEDLE in the' }, { project: projectId });
    expect(res.body.data.spans.edges.map((e: any) => e.node.externalId)).toEqual(['b77']);
    // The statement can be answered from the index, never reading every span of the project.
    // (Here the planner prefers reading 5,000 texts to the index; from about 20,000 of 1 KB it
    // picks the index itself: measured, docs/SCALING.md.)
    const { text, params } = searchSpansStatement({
      projectId,
      filter: { text: 'NEEDLE in the' },
      after: null,
      limit: 20,
    });
    const plan = await app.server.deps.db.transaction(async (tx) => {
      await tx('SET LOCAL enable_seqscan = off');
      const rows = await tx<Record<string, string>>(`EXPLAIN ${text}`, params);
      return rows.map((row) => Object.values(row)[0]).join('\n');
    });
    expect(plan).toContain('span_texts_body_idx');
    expect(plan).not.toMatch(/Seq Scan on spans/);
  });
});

describe('a span whose text changes', () => {
  it('is found by its new text and not its old one, before and after the worker copies it', async () => {
    const first = span({ traceId: 'tv', spanId: 'v1', input: 'the first version of a prompt' });
    expect((await ingest(app, app.projectId, [first])).body.errors).toBeUndefined();
    await drainTextQueue(app);
    expect(await found({ text: 'first version' })).toEqual(['v1']);
    const second = { ...first, input: 'the second version of a prompt' };
    expect((await ingest(app, app.projectId, [second])).body.errors).toBeUndefined();
    for (const copied of [false, true]) {
      if (copied) await drainTextQueue(app);
      expect({ copied, old: await found({ text: 'first version' }) }).toEqual({ copied, old: [] });
      expect({ copied, now: await found({ text: 'second version' }) }).toEqual({
        copied,
        now: ['v1'],
      });
    }
    const [row] = await app.server.deps.db.query<{ body: string }>(
      `SELECT x.body FROM span_texts x JOIN spans s ON s.id = x.span_id WHERE s.external_id = 'v1'`,
    );
    expect(row.body).toBe('the second version of a prompt');
  });
});
