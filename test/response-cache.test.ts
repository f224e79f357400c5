// Response cache through HTTP: hits for the same key and query, never across users, keys or
// roles; dropped by mutations, OTLP ingest and evaluation events; TTL per type; ETag and 304.
import { createTestApp, globalId, type TestApp } from './support/app';
import { announceEvaluations } from '../src/modules/evaluations/announce';
import { until } from './support/live';
import { ingest, span } from './support/spans';

let app: TestApp;
let project: string; // global id of the test project

beforeAll(async () => {
  app = await createTestApp();
  project = globalId('Project', app.projectId);
  await ingest(app, app.projectId, [
    span({ traceId: 'first', model: 'gpt-4o-mini', inputTokens: 10, outputTokens: 5 }),
  ]);
  await settle();
});
afterAll(() => app.close());

/** A response computed within a few ms of an invalidation of its data is not kept (it may have raced it). */
const settle = () => new Promise((r) => setTimeout(r, 30));

const TRACES =
  'query($p: ID!) { traces(projectId: $p, first: 10) { edges { node { externalId } } } }';
const traceIds = (res: { body: any }) =>
  res.body.data.traces.edges.map((e: any) => e.node.externalId).sort();
/** HIT or MISS, from the response header (the body carries none of the cache's bookkeeping). */
const cacheOf = (res: { headers: Headers; body: any }) => {
  expect(res.body.extensions?.responseCache).toBeUndefined();
  return res.headers.get('x-cache');
};
/** The TTLs the cache was asked to keep entries for while `run` ran. */
async function storedTtls(run: () => Promise<unknown>): Promise<number[]> {
  const store = app.server.services.cache.store;
  const original = store.set;
  const ttls: number[] = [];
  store.set = (id, result, tags, ttl, computedInMs) => {
    ttls.push(ttl);
    return original.call(store, id, result, tags, ttl, computedInMs);
  };
  try {
    await run();
  } finally {
    store.set = original;
  }
  return ttls;
}

it('serves the same query to the same key from the cache, costed and limited like a miss', async () => {
  let miss!: Awaited<ReturnType<typeof app.gql>>;
  expect(await storedTtls(async () => (miss = await app.gql(TRACES, { p: project })))).toEqual([
    10_000,
  ]);
  expect(cacheOf(miss)).toBe('MISS');
  const hit = await app.gql(TRACES, { p: project });
  expect(cacheOf(hit)).toBe('HIT');
  expect(hit.body.data).toEqual(miss.body.data);
  // The cost is what the query costs, and the bucket is the bucket now, not when it was cached.
  expect(hit.body.extensions.cost.requestedQueryCost).toBe(
    miss.body.extensions.cost.requestedQueryCost,
  );
  expect(hit.body.extensions.cost.throttleStatus.currentlyAvailable).toBeLessThanOrEqual(
    miss.body.extensions.cost.throttleStatus.currentlyAvailable,
  );
  expect(hit.headers.get('x-ratelimit-remaining')).toBe(
    String(hit.body.extensions.cost.throttleStatus.currentlyAvailable),
  );
  const metrics = await (await fetch(`${app.url}/metrics`)).text();
  expect(metrics).toMatch(/evalgraph_response_cache_lookups_total\{outcome="hit"\} 1\n/);
  expect(metrics).toMatch(/evalgraph_response_cache_lookups_total\{outcome="miss"\} 1\n/);
});

it('never serves one user, key or role what was cached for another', async () => {
  const other = await app.seedProject('other tenant');
  await ingest(app, other, [span({ traceId: 'other-trace' })]);
  const alice = await app.seedUser({ role: 'DEVELOPER' });
  const bob = await app.seedUser({ role: 'DEVELOPER', projectId: other });
  const viewer = 'query { viewer { email } }';
  expect((await app.gql(viewer, {}, { key: alice.key })).body.data.viewer.email).toBe(alice.email);
  expect((await app.gql(viewer, {}, { key: bob.key })).body.data.viewer.email).toBe(bob.email);
  expect((await app.gql(viewer, {}, { key: alice.key })).body.data.viewer.email).toBe(alice.email);
  // Alice's cached traces of her project are not Bob's.
  expect(traceIds(await app.gql(TRACES, { p: project }, { key: alice.key }))).toEqual(['first']);
  const refused = await app.gql(TRACES, { p: project }, { key: bob.key });
  expect(refused.body.errors![0].extensions!.code).toBe('NOT_FOUND');
  // The same user with a key narrowed to VIEWER: costs of the project were cached for the
  // ADMIN's key, and are refused to the narrowed one.
  const admin = await app.seedUser({ role: 'ADMIN' });
  const narrowed = (
    await app.server.services.auth.createApiKey(null, { userId: admin.userId, role: 'VIEWER' })
  ).key;
  const costs =
    'query($p: ID!) { costSummary(projectId: $p, from: "2025-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z") { calls } }';
  expect((await app.gql(costs, { p: project }, { key: admin.key })).body.data.costSummary).toEqual([
    { calls: 1 },
  ]);
  expect(cacheOf(await app.gql(costs, { p: project }, { key: admin.key }))).toBe('HIT');
  expect(
    (await app.gql(costs, { p: project }, { key: narrowed })).body.errors![0].extensions!.code,
  ).toBe('FORBIDDEN');
  // A role changed: the key's cached answers are not reused.
  await app.server.services.projects.addMember({
    projectId: app.projectId,
    email: alice.email,
    role: 'VIEWER',
  });
  const afterChange = await app.gql(TRACES, { p: project }, { key: alice.key });
  expect(cacheOf(afterChange)).toBe('MISS');
});

it('keeps costs 30 s, traces 10 s, and never rate limits or usage', async () => {
  const costs = await storedTtls(() =>
    app.gql(
      'query($p: ID!) { costSummary(projectId: $p, from: "2025-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z", groupBy: [MODEL]) { keys { model } cost } }',
      { p: project },
    ),
  );
  expect(costs).toEqual([30_000]);
  const mixed = await storedTtls(() =>
    app.gql(
      'query($p: ID!) { costSummary(projectId: $p, from: "2025-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z") { calls } traces(projectId: $p) { edges { node { id } } } }',
      { p: project },
    ),
  );
  expect(mixed).toEqual([10_000]);
  for (const query of ['{ rateLimit { remaining } }', '{ usage { requests } }']) {
    const ttls = await storedTtls(async () => {
      await app.gql(query);
      expect(cacheOf(await app.gql(query))).toBe('MISS');
    });
    expect([query, ttls]).toEqual([query, []]);
  }
});

it('drops a project’s cached responses after a mutation and after OTLP ingest', async () => {
  await settle();
  const before = await app.gql(TRACES, { p: project });
  expect(cacheOf(await app.gql(TRACES, { p: project }))).toBe('HIT');
  await ingest(app, app.projectId, [span({ traceId: 'second' })]);
  await settle();
  const after = await app.gql(TRACES, { p: project });
  expect(cacheOf(after)).toBe('MISS');
  expect(traceIds(after)).toEqual([...traceIds(before), 'second'].sort());

  expect(cacheOf(await app.gql(TRACES, { p: project }))).toBe('HIT');
  const otlp = await fetch(`${app.url}/v1/traces`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${app.adminKey}`,
      'x-evalgraph-project': project,
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
                  name: 'otlp',
                  startTimeUnixNano: '1740830400000000000',
                  endTimeUnixNano: '1740830401000000000',
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
  const afterOtlp = await app.gql(TRACES, { p: project });
  expect(cacheOf(afterOtlp)).toBe('MISS');
  expect(traceIds(afterOtlp)).toContain('0af7651916cd43dd8448eb211c80319c');
});

it('drops an evaluation’s cached responses when it changes, from any process, through its events', async () => {
  const created = await app.gql(
    'mutation($input: CreateEvaluationInput!) { createEvaluation(input: $input) { evaluation { id } } }',
    {
      input: {
        projectId: project,
        name: 'cached',
        testingCriteria: [
          {
            type: 'string_check',
            name: 'eq',
            operation: 'eq',
            input: '{{sample.output_text}}',
            reference: 'b',
          },
        ],
        dataSource: { items: [{ input: 'a', output: 'b' }] },
      },
    },
  );
  // A mutation's answer carries none of the cache's bookkeeping (the entities it invalidated) either.
  expect(created.body.extensions).not.toHaveProperty('responseCache');
  expect(created.body.extensions.cost).toBeDefined();
  const id = created.body.data.createEvaluation.evaluation.id;
  // Wait for the evaluation to end (its events drop cached answers too).
  await until(
    async () =>
      (await app.server.deps.db.prisma.evaluation.count({
        where: { status: 'COMPLETED', name: 'cached' },
      })) === 1,
    10_000,
    'evaluation',
  );
  await settle();
  const query = 'query($id: ID!) { evaluation(id: $id) { name } }';
  await app.gql(query, { id });
  expect(cacheOf(await app.gql(query, { id }))).toBe('HIT');
  // A change made outside GraphQL, announced as the engine does.
  const uuid = Buffer.from(id, 'base64').toString().split(':')[1];
  await app.server.services.events.transaction(async (sql, emit) => {
    await sql(`UPDATE evaluations SET name = 'renamed' WHERE id = $1::uuid`, [uuid]);
    await announceEvaluations(sql, emit, [{ type: 'evaluation.progress', id: uuid }]);
  });
  // Pub/sub carries the event to every process's cache (Redis in Postgres mode): the drop follows
  // the commit by a round trip, not within it.
  await until(
    async () => (await app.gql(query, { id })).body.data.evaluation.name === 'renamed',
    5_000,
    'the renamed evaluation',
  );
  const fresh = await app.gql(query, { id });
  expect(fresh.body.data.evaluation.name).toBe('renamed');
});

it('answers If-None-Match with 304 while the data is unchanged, and says the data is private', async () => {
  const url = `${app.graphqlUrl}?${new URLSearchParams({ query: '{ viewer { email } }' })}`;
  const headers = { authorization: `Bearer ${app.adminKey}`, accept: 'application/json' };
  const first = await fetch(url, { headers });
  const etag = first.headers.get('etag');
  expect(etag).toMatch(/^W\/"[\w-]+"$/);
  expect(first.headers.get('cache-control')).toBe('private, no-cache');
  expect(first.headers.get('vary')).toContain('Authorization');
  const again = await fetch(url, { headers: { ...headers, 'if-none-match': etag! } });
  expect(again.status).toBe(304);
  expect(await again.text()).toBe('');
  expect(again.headers.get('etag')).toBe(etag);
  expect(again.headers.get('x-ratelimit-remaining')).not.toBeNull();
  // Another user's ETag is another body: no 304 across users.
  const other = await app.seedUser({ role: 'VIEWER' });
  const theirs = await fetch(url, {
    headers: {
      authorization: `Bearer ${other.key}`,
      accept: 'application/json',
      'if-none-match': etag!,
    },
  });
  expect(theirs.status).toBe(200);
  // Nor across keys of one user: another key of the admin, with the same body, earns no 304.
  const second = (
    await app.server.services.auth.createApiKey(null, {
      userId: (
        await app.server.deps.db.prisma.user.findFirstOrThrow({
          where: { email: 'admin@test.local' },
        })
      ).id,
    })
  ).key;
  const sameUser = await fetch(url, {
    headers: {
      authorization: `Bearer ${second}`,
      accept: 'application/json',
      'if-none-match': etag!,
    },
  });
  expect(sameUser.status).toBe(200);
  expect(sameUser.headers.get('etag')).not.toBe(etag);
  // Changed data: a new validator, and the body again.
  const tracesUrl = `${app.graphqlUrl}?${new URLSearchParams({ query: TRACES, variables: JSON.stringify({ p: project }) })}`;
  const before = await fetch(tracesUrl, { headers });
  const oldTag = before.headers.get('etag')!;
  expect(
    (await fetch(tracesUrl, { headers: { ...headers, 'if-none-match': oldTag } })).status,
  ).toBe(304);
  await ingest(app, app.projectId, [span({ traceId: 'etag-change' })]);
  const changed = await fetch(tracesUrl, { headers: { ...headers, 'if-none-match': oldTag } });
  expect(changed.status).toBe(200);
  expect(changed.headers.get('etag')).not.toBe(oldTag);
  expect(JSON.stringify(await changed.json())).toContain('etag-change');
  // Mutations and errors are not to be stored by anyone.
  const mutation = await app.gql(
    'mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }',
    { input: { name: 'nostore' } },
  );
  expect(mutation.headers.get('cache-control')).toBe('no-store');
});
