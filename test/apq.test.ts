// Automatic persisted queries with the real Apollo Client persisted-queries link: the first call
// sends only the hash (GET), gets PersistedQueryNotFound and sends the query; later calls, from
// any client, send the hash alone. Wrong hashes are refused; stored queries are still costed.
import { createHash } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { createTestApp, type TestApp } from './support/app';

let app: TestApp;

beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function apollo(seen: { method: string; withQuery: boolean }[]) {
  const recording: typeof fetch = async (input, init) => {
    const url = String(input);
    const body = typeof init?.body === 'string' ? init.body : '';
    seen.push({
      method: init?.method ?? 'GET',
      withQuery: url.includes('query=') || body.includes('"query"'),
    });
    return fetch(input, init);
  };
  const http = new HttpLink({
    uri: app.graphqlUrl,
    headers: { authorization: `Bearer ${app.adminKey}` },
    fetch: recording,
  });
  return new ApolloClient({
    link: new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(http),
    cache: new InMemoryCache(),
  });
}

it('registers a query on a miss, then serves it by hash (GET), to any client', async () => {
  const seen: { method: string; withQuery: boolean }[] = [];
  const client = apollo(seen);
  const query = gql`query ApqViewer { viewer { email } }`;
  const first = await client.query({ query, fetchPolicy: 'no-cache' });
  expect(first.data).toEqual({ viewer: { __typename: 'User', email: 'admin@test.local' } });
  // Hash alone (GET), PersistedQueryNotFound, then the query (POST).
  expect(seen).toEqual([
    { method: 'GET', withQuery: false },
    { method: 'POST', withQuery: true },
  ]);
  const second = await client.query({ query, fetchPolicy: 'no-cache' });
  expect(second.data).toEqual(first.data);
  expect(seen.slice(2)).toEqual([{ method: 'GET', withQuery: false }]);

  // Another client, by hash alone: the text Apollo sent (with __typename) was stored.
  const text = 'query ApqViewer {\n  viewer {\n    email\n    __typename\n  }\n}';
  const extensions = encodeURIComponent(
    JSON.stringify({ persistedQuery: { version: 1, sha256Hash: sha256(text) } }),
  );
  const res = await fetch(`${app.graphqlUrl}?extensions=${extensions}`, {
    headers: { authorization: `Bearer ${app.adminKey}`, accept: 'application/json' },
  });
  const body = await res.json();
  expect(body.data).toEqual({ viewer: { email: 'admin@test.local', __typename: 'User' } });
  // Costed like any other.
  expect(body.extensions.cost.requestedQueryCost).toBe(1);
  const metrics = await (await fetch(`${app.url}/metrics`)).text();
  expect(metrics).toMatch(
    /evalgraph_persisted_query_lookups_total\{outcome="hit",source="apq"\} 2/,
  );
  expect(metrics).toMatch(
    /evalgraph_persisted_query_lookups_total\{outcome="miss",source="none"\} 1/,
  );
});

it('refuses a query that does not match its hash, and malformed hashes', async () => {
  const post = (extensions: unknown, query?: string) =>
    fetch(app.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${app.adminKey}` },
      body: JSON.stringify({ query, extensions }),
    }).then((r) => r.json());
  const mismatch = await post(
    { persistedQuery: { version: 1, sha256Hash: sha256('{ viewer { email } }') } },
    '{ viewer { id } }',
  );
  expect(mismatch.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  const malformed = await post({ persistedQuery: { version: 1, sha256Hash: 'abc' } });
  expect(malformed.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  const unknown = await post({
    persistedQuery: { version: 1, sha256Hash: sha256('{ never { sent } }') },
  });
  expect(unknown.errors[0]).toMatchObject({
    message: 'PersistedQueryNotFound',
    extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' },
  });
});

it('does not store queries sent without a valid key (anonymous callers cannot fill the store)', async () => {
  const query = '{ __typename }';
  const persistedQuery = { version: 1, sha256Hash: sha256(query) };
  const send = (body: unknown, key?: string) =>
    fetch(app.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
      body: JSON.stringify(body),
    }).then((r) => r.json());
  expect((await send({ query, extensions: { persistedQuery } })).data).toEqual({
    __typename: 'Query',
  });
  expect((await send({ extensions: { persistedQuery } }, app.adminKey)).errors[0].message).toBe(
    'PersistedQueryNotFound',
  );
  await send({ query, extensions: { persistedQuery } }, app.adminKey);
  expect((await send({ extensions: { persistedQuery } })).data).toEqual({ __typename: 'Query' });
});
