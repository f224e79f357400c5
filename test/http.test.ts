// GraphQL over HTTP: the spec's media types, GET, 405 for mutations over GET, CSRF, limits, codes.
import { createTestApp, type TestApp } from './support/app';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ EVALGRAPH_MAX_BODY_BYTES: '4096' });
});
afterAll(() => app.close());

const auth = () => ({ authorization: `Bearer ${app.adminKey}` });

describe('GraphQL over HTTP', () => {
  it('answers application/graphql-response+json when asked, and application/json otherwise', async () => {
    for (const [accept, type] of [
      ['application/graphql-response+json', 'application/graphql-response+json'],
      ['application/json', 'application/json'],
    ]) {
      const res = await fetch(app.graphqlUrl, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json', accept },
        body: JSON.stringify({ query: '{ viewer { email } }' }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect((await res.json()).data.viewer.email).toBe('admin@test.local');
    }
  });

  it('runs a query over GET and refuses a mutation over GET with 405 and Allow', async () => {
    const query = new URL(app.graphqlUrl);
    query.searchParams.set('query', '{ viewer { email } }');
    const ok = await fetch(query, { headers: { ...auth(), accept: 'application/json' } });
    expect((await ok.json()).data.viewer.email).toBe('admin@test.local');

    const mutation = new URL(app.graphqlUrl);
    mutation.searchParams.set(
      'query',
      'mutation { createProject(input: { name: "via GET" }) { project { id } } }',
    );
    const refused = await fetch(mutation, { headers: { ...auth(), accept: 'application/json' } });
    expect(refused.status).toBe(405);
    expect(refused.headers.get('allow')).toContain('POST');
    expect(await app.server.deps.db.prisma.project.count({ where: { name: 'via GET' } })).toBe(0);
  });

  it('refuses a cross-site simple POST (text/plain) without a preflight header', async () => {
    const res = await fetch(app.graphqlUrl, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'text/plain' },
      body: JSON.stringify({
        query: 'mutation { createProject(input: { name: "csrf" }) { project { id } } }',
      }),
    });
    expect(res.status).toBe(403);
    expect(await app.server.deps.db.prisma.project.count({ where: { name: 'csrf' } })).toBe(0);
  });

  it('does not accept multipart requests', async () => {
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: '{ viewer { id } }' }));
    form.set('map', '{}');
    const res = await fetch(app.graphqlUrl, {
      method: 'POST',
      headers: { ...auth(), 'x-graphql-csrf': '1' },
      body: form,
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  it('refuses a body over the configured limit with 413', async () => {
    const res = await fetch(app.graphqlUrl, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ viewer { id } } # ${'x'.repeat(5000)}` }),
    });
    expect(res.status).toBe(413);
  });

  it('answers malformed JSON with 400 and syntax and validation errors with their codes', async () => {
    const badJson = await fetch(app.graphqlUrl, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(badJson.status).toBe(400);
    const syntax = await app.gql('{ viewer { id }');
    expect(syntax.body.errors?.[0].extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    const invalid = await app.gql('{ viewer { nope } }');
    expect(invalid.body.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    // Each rule runs once: one mistake, one error.
    const typo = await app.gql('{ viewr { id } }');
    expect(typo.body.errors?.map((e) => e.message)).toEqual([
      'Cannot query field "viewr" on type "Query". Did you mean "viewer"?',
    ]);
    const badVariable = await app.gql('query($id: ID!) { project(id: $id) { name } }', {
      id: 42.5,
    });
    expect(badVariable.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const badGlobalId = await app.gql('query($id: ID!) { project(id: $id) { name } }', {
      id: 'not a global id',
    });
    expect(badGlobalId.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('echoes a request id, and serves GraphiQL to a browser with example operations', async () => {
    const res = await fetch(app.graphqlUrl, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json', 'x-request-id': 'req-123' },
      body: JSON.stringify({ query: '{ viewer { id } }' }),
    });
    expect(res.headers.get('x-request-id')).toBe('req-123');
    const page = await fetch(app.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('Evalgraph');
    expect(html).toContain('query Projects');
  });

  it('serves /metrics in the Prometheus text format', async () => {
    const res = await fetch(`${app.url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toMatch(/^# HELP process_cpu_user_seconds_total/m);
  });
});

describe('ETag without the response cache', () => {
  let uncached: TestApp;
  beforeAll(async () => {
    uncached = await createTestApp({ EVALGRAPH_RESPONSE_CACHE: 'false' });
  });
  afterAll(() => uncached.close());

  // The data is serialised once, for the ETag and the body: the body must still carry what the
  // plugins after that add (the cost extension), and a changed answer a new ETag.
  it('hashes the data for its ETag, answers 304 to it, and sends the extensions added after', async () => {
    const post = (headers: Record<string, string> = {}) =>
      fetch(uncached.graphqlUrl, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${uncached.adminKey}`,
          'content-type': 'application/json',
          ...headers,
        },
        body: JSON.stringify({
          query: '{ viewer { email } projects(first: 5) { edges { node { name } } } }',
        }),
      });
    const first = await post();
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^W\/"[\w-]+"$/);
    const text = await first.text();
    const body = JSON.parse(text);
    expect(body.data.viewer.email).toBe('admin@test.local');
    expect(body.extensions.cost.requestedQueryCost).toBeGreaterThan(0);
    expect(Object.keys(body)).toEqual(['data', 'extensions']);
    expect((await post({ 'if-none-match': etag! })).status).toBe(304);

    await uncached.gql(
      'mutation { createProject(input: { name: "etag moves" }) { project { id } } }',
    );
    const changed = await post({ 'if-none-match': etag! });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(JSON.stringify(await changed.json())).toContain('etag moves');
  });
});
