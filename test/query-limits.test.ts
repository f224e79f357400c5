// Query texts over EVALGRAPH_MAX_QUERY_BYTES are refused with 413 before anything parses them,
// over every transport and whoever sends them; `first`/`last` outside 1..100 are refused with
// BAD_USER_INPUT on every connection, before the operation is costed.
import { createHash } from 'node:crypto';
import { createTestApp, globalId, type TestApp } from './support/app';
import { subscribeWs, wsClient } from './support/live';

let app: TestApp;
let small: TestApp;
const SMALL = 2048;

beforeAll(async () => {
  // A low cost ceiling: a nested page that is too large must be BAD_USER_INPUT, not QUERY_TOO_COMPLEX.
  app = await createTestApp({ EVALGRAPH_MAX_QUERY_COST: '1000' });
  small = await createTestApp({ EVALGRAPH_MAX_QUERY_BYTES: String(SMALL) });
});
afterAll(async () => {
  await app.close();
  await small.close();
});

const VIEWER = '{ viewer { id } }';
/** `text` padded with spaces to `bytes` bytes. */
const padded = (bytes: number, text = VIEWER) => text + ' '.repeat(bytes - Buffer.byteLength(text));
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Documents parsed so far (Yoga's parse phase histogram), to show a refused text was never parsed. */
async function parses(target: TestApp): Promise<number> {
  const text = await (await fetch(`${target.url}/metrics`)).text();
  return [...text.matchAll(/^graphql_parse_duration_seconds_count(?:\{[^}]*\})? (\d+)/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
}

function post(
  target: TestApp,
  body: unknown,
  key: string | null = target.adminKey,
  headers: Record<string, string> = {},
) {
  return fetch(target.graphqlUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

function expectTooLarge(body: any, limit: number) {
  expect(body.data ?? null).toBeNull();
  expect(body.errors[0].extensions).toMatchObject({
    code: 'BAD_USER_INPUT',
    limit,
    path: ['query'],
  });
  expect(body.errors[0].message).toContain(`larger than ${limit} bytes`);
}

describe('query size', () => {
  it('refuses a 9 MB query of whitespace or comments with 413 before parsing, without a key and with the admin key', async () => {
    const before = await parses(app);
    for (const key of [null, app.adminKey]) {
      for (const query of [
        padded(9_000_000),
        `#${'x'.repeat(9_000_000)}\n${VIEWER}`,
        `{{{ ${' '.repeat(9_000_000)}`,
      ]) {
        const started = Date.now();
        const res = await post(app, { query }, key);
        expect(res.status).toBe(413);
        expectTooLarge(await res.json(), 64 * 1024);
        expect(Date.now() - started).toBeLessThan(5_000);
      }
    }
    // The last one does not even parse: had it been parsed, the answer would be a syntax error.
    expect(await parses(app)).toBe(before);
  });

  it('runs a query of exactly the limit, and refuses one byte more (bytes, not characters)', async () => {
    const res = await app.gql(padded(64 * 1024));
    expect(res.status).toBe(200);
    expect(res.body.data.viewer.id).toBeTruthy();
    expect((await post(app, { query: padded(64 * 1024 + 1) })).status).toBe(413);
    // 1,100 'é' in a comment: 1,100 characters, 2,200 bytes.
    const accented = `# ${'é'.repeat(1_100)}\n${VIEWER}`;
    expect(accented.length).toBeLessThan(SMALL);
    expect((await post(small, { query: accented })).status).toBe(413);
  });

  it('refuses it over GET and SSE too', async () => {
    const get = (query: string) =>
      fetch(`${small.graphqlUrl}?query=${encodeURIComponent(query)}`, {
        headers: { authorization: `Bearer ${small.adminKey}`, accept: 'application/json' },
      });
    const over = await get(padded(SMALL + 1));
    expect(over.status).toBe(413);
    expectTooLarge(await over.json(), SMALL);
    expect((await get(padded(SMALL))).status).toBe(200);

    const EVENTS = 'subscription($p: ID!) { evaluationEvents(projectId: $p) { type } }';
    const variables = { p: globalId('Project', small.projectId) };
    const sse = await post(small, { query: padded(SMALL + 1, EVENTS), variables }, small.adminKey, {
      accept: 'text/event-stream',
    });
    expect(sse.status).toBe(413);
    expect(await sse.text()).toContain(`larger than ${SMALL} bytes`);
    // At the limit, the stream opens.
    const open = await post(small, { query: padded(SMALL, EVENTS), variables }, small.adminKey, {
      accept: 'text/event-stream',
    });
    expect(open.status).toBe(200);
    expect(open.headers.get('content-type')).toMatch(/text\/event-stream/);
    await open.body?.cancel();
  });

  it('refuses it on a graphql-ws subscribe with an error on that operation', async () => {
    const client = wsClient(small.url, small.adminKey);
    try {
      const refused = subscribeWs(
        client,
        padded(SMALL + 1, 'subscription($p: ID!) { evaluationEvents(projectId: $p) { type } }'),
        { p: globalId('Project', small.projectId) },
      );
      const errors = (await refused.done.then(
        () => [],
        (e) => e,
      )) as any[];
      expect(errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: SMALL });
      expect(errors[0].message).toContain(`larger than ${SMALL} bytes`);
    } finally {
      await client.dispose();
    }
  });

  it('refuses an APQ text over the limit before hashing it, and a stored document over it', async () => {
    const big = padded(SMALL + 1);
    const apq = await post(small, {
      query: big,
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256(big) } },
    });
    expect(apq.status).toBe(413);
    // Stored under a larger limit (here: straight into the table), then asked for by hash.
    await small.server.deps.db.prisma.persistedOperation.create({
      data: { hash: sha256(big), document: big, projectId: null, clientName: 'old' },
    });
    const byId = await post(small, { documentId: `sha256:${sha256(big)}` });
    expect(byId.status).toBe(413);
    expect((await byId.json()).errors[0].message).toContain(
      `sha256:${sha256(big)} is larger than ${SMALL} bytes`,
    );
  });

  it('refuses to register a document over the limit', async () => {
    const res = await small.gql(
      'mutation($ops: [String!]!) { registerPersistedOperations(input: { operations: $ops }) { operations { hash } } }',
      { ops: ['query Ok { viewer { id } }', padded(SMALL + 1, 'query Big { viewer { id } }')] },
    );
    expect(res.body.errors![0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'operations', 1],
    });
    expect(res.body.errors![0].message).toContain(`${SMALL} bytes`);
    expect(await small.server.services.operations.count(null)).toBe(1); // only the stored one above
  });
});

describe('page size', () => {
  const expectRefused = (
    res: Awaited<ReturnType<TestApp['gql']>>,
    argument: 'first' | 'last',
    value: number,
    field: string,
  ) => {
    expect(res.status).toBe(200);
    expect(res.body.data ?? null).toBeNull();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors![0].message).toBe(
      `${field}: ${argument} must be between 1 and 100 (it was ${value}).`,
    );
    expect(res.body.errors![0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: [argument],
      limit: 100,
    });
    // Refused before it was costed: nothing was taken from the bucket.
    expect(res.body.extensions?.cost).toBeUndefined();
  };

  it('refuses first or last outside 1..100 on a root connection', async () => {
    expectRefused(
      await app.gql('{ projects(first: 99999999) { edges { node { id } } } }'),
      'first',
      99999999,
      'projects',
    );
    expectRefused(await app.gql('{ projects(first: 0) { totalCount } }'), 'first', 0, 'projects');
    expectRefused(
      await app.gql('{ projects(last: 101) { edges { node { id } } } }'),
      'last',
      101,
      'projects',
    );
    expectRefused(
      await app.gql('query($n: Int) { projects(first: $n) { totalCount } }', { n: -1 }),
      'first',
      -1,
      'projects',
    );
  });

  it('refuses it on nested connections (Prisma and hand-written), before the cost limit', async () => {
    const p = globalId('Project', app.projectId);
    expectRefused(
      await app.gql(
        'query($p: ID!) { project(id: $p) { members(first: 1000) { edges { node { role } } } } }',
        { p },
      ),
      'first',
      1000,
      'members',
    );
    expectRefused(
      await app.gql(
        'query($p: ID!) { traces(projectId: $p, first: 10) { edges { node { spans(first: 1000) { totalCount } } } } }',
        { p },
      ),
      'first',
      1000,
      'spans',
    );
    // Clamped to 100, this would cost 100 × 100 points: over the 1,000 allowed.
    expectRefused(
      await app.gql(
        '{ projects(first: 100) { edges { node { members(first: 5000) { edges { node { role } } } } } } }',
      ),
      'first',
      5000,
      'members',
    );
    expectRefused(
      await app.gql('{ viewer { apiKeys(last: 0) { totalCount } } }'),
      'last',
      0,
      'apiKeys',
    );
  });

  it('runs 1 and 100, and no first at all', async () => {
    for (const query of [
      '{ projects(first: 100) { totalCount edges { node { id } } } }',
      '{ projects(last: 1) { totalCount } }',
      '{ projects { totalCount } }',
    ]) {
      const res = await app.gql(query);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data.projects.totalCount).toBeGreaterThanOrEqual(1);
    }
    const p = globalId('Project', app.projectId);
    const nested = await app.gql(
      'query($p: ID!) { project(id: $p) { members(first: 100) { totalCount } } }',
      { p },
    );
    expect(nested.body.errors).toBeUndefined();
  });
});
