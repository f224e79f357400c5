// Evalgraph on a Redis Cluster (REDIS_CLUSTER_NODES) of this test's own: three masters on loopback,
// two API processes over one Postgres. Through HTTP and WebSocket, both processes share the
// subscription slots, pub/sub, the response cache, APQ's store and the rate-limit buckets; and the
// keys land on more than one node, so a script whose keys were in different slots (CROSSSLOT)
// would have failed. Postgres: the run's (DATABASE_URL), else a private one (two processes cannot
// share the embedded database).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Cluster } from 'ioredis';
import pg from 'pg';
import pino from 'pino';
import { hashApiKey } from '../src/modules/auth/api-key';
import { createRedisPubSub } from '../src/storage/pubsub';
import { createRedis, createRedisSubscriber } from '../src/storage/redis';
import { createTestDatabase, uniqueName } from './support/databases';
import { subscribeWs, until, wsClient } from './support/live';
import { createPrivatePostgres, type PrivatePostgres } from './support/private-postgres';
import { startServeProcess, type ServeProcess } from './support/process';
import { createRedisCluster, type PrivateCluster } from './support/redis-cluster';

jest.setTimeout(240_000);

const KEY = `evg_test_${randomBytes(24).toString('base64url')}`;
const prefix = `${uniqueName('evalgraph_cluster')}:`;
let cluster: PrivateCluster;
let redis: Cluster;
let postgres: PrivatePostgres | null = null;
let databaseUrl = '';
let dropDatabase = async () => {};
let dataDir = '';
let a: ServeProcess;
let b: ServeProcess;
let project = '';

beforeAll(async () => {
  cluster = await createRedisCluster();
  redis = new Cluster(
    cluster.nodes.split(',').map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })),
  );
  if (process.env.DATABASE_URL) {
    const db = await createTestDatabase();
    databaseUrl = db.url!;
    dropDatabase = db.drop;
  } else {
    postgres = await createPrivatePostgres();
    await postgres.start();
    const admin = new pg.Client({ connectionString: postgres.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE evalgraph');
    await admin.end();
    databaseUrl = postgres.url('evalgraph');
  }
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-cluster-'));
  const env = {
    DATABASE_URL: databaseUrl,
    EVALGRAPH_MIGRATE_ON_START: 'true',
    REDIS_URL: '',
    REDIS_CLUSTER_NODES: cluster.nodes,
    REDIS_KEY_PREFIX: prefix,
    EVALGRAPH_DATA_DIR: dataDir,
    EVALGRAPH_INIT_ADMIN_EMAIL: 'admin@cluster.test',
    EVALGRAPH_INIT_PROJECT: 'cluster',
    EVALGRAPH_INIT_API_KEY: KEY,
    // FREE users (those the test makes) may spend 3 points, restored only after the test.
    EVALGRAPH_RATE_LIMIT_TIERS: '{"FREE":{"capacity":3,"restoreRate":0.001}}',
    EVALGRAPH_SUBSCRIPTIONS_PER_KEY: '2',
    // Counted in the cluster too (requests in flight, per hour), never reached.
    EVALGRAPH_GLOBAL_LIMITS: '{"concurrent":1000,"requestsPerHour":1000000}',
  };
  // The first start migrates and bootstraps; the second finds it done.
  a = await startServeProcess(env, ['--role', 'api']);
  b = await startServeProcess(env, ['--role', 'api']);
  for (const api of [a, b])
    await until(
      async () => (await fetch(`${api.url}/health/ready`)).status === 200,
      20_000,
      'readiness (the cluster client knows the slots)',
    );
  project = (await gql(a, '{ projects { edges { node { id } } } }')).data.projects.edges[0].node.id;
});

afterAll(async () => {
  for (const api of [a, b]) await api?.stop('SIGTERM');
  redis?.disconnect();
  await cluster?.destroy();
  await dropDatabase();
  await postgres?.destroy();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function post(api: ServeProcess, body: unknown, key = KEY) {
  const res = await fetch(`${api.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, cache: res.headers.get('x-cache'), body: (await res.json()) as any };
}
const gql = async (api: ServeProcess, query: string, variables = {}, key = KEY) =>
  (await post(api, { query, variables }, key)).body;

/** Keys under the test's prefix that match `pattern`, on every master. */
async function keysLike(pattern: string): Promise<string[]> {
  const lists = await Promise.all(redis.nodes('master').map((n) => n.keys(`${prefix}${pattern}`)));
  return lists.flat();
}

const EVENTS = 'subscription($p: ID!) { evaluationEvents(projectId: $p) { type } }';

it('subscription slots: a key holds at most its limit of open streams over both processes', async () => {
  const onA = wsClient(a.url, KEY);
  const first = subscribeWs(onA, EVENTS, { p: project });
  const second = subscribeWs(onA, EVENTS, { p: project });
  const slots = async () => {
    const [set] = await keysLike('subs:*');
    return set ? redis.zcard(set) : 0;
  };
  await until(async () => (await slots()) === 2, 10_000, 'two slots taken');
  const onB = wsClient(b.url, KEY);
  const refused = await subscribeWs(onB, EVENTS, { p: project }).done.catch((e) => e);
  expect(JSON.stringify(refused)).toContain('RATE_LIMITED');
  // One ends on A: B may open one.
  first.stop();
  await until(async () => (await slots()) === 1, 10_000, 'a slot given back');
  const third = subscribeWs(onB, EVENTS, { p: project });
  await until(async () => (await slots()) === 2, 10_000, 'the slot taken on B');
  third.stop();
  second.stop();
  await Promise.all([onA.dispose(), onB.dispose()]);
  await until(async () => (await slots()) === 0, 10_000, 'every slot given back');
});

it('pub/sub: an event published by one process reaches a subscriber on the other', async () => {
  const onB = wsClient(b.url, KEY);
  const events = subscribeWs(onB, EVENTS, { p: project });
  await until(async () => (await keysLike('subs:*')).length === 1, 10_000, 'the stream open');
  const created = await gql(
    a,
    'mutation($input: CreateEvaluationInput!) { createEvaluation(input: $input) { evaluation { id } } }',
    {
      input: {
        projectId: project,
        name: 'over the cluster',
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
  expect(created.errors).toBeUndefined();
  await until(() => events.events.length > 0, 10_000, 'the event on B');
  expect(events.events[0].data.evaluationEvents.type).toBe('CREATED');
  events.stop();
  await onB.dispose();
});

it('pub/sub: whether a topic has listeners is asked of every node (each counts only its own)', async () => {
  const target = {
    url: null,
    clusterNodes: cluster.ports.map((port) => ({ host: '127.0.0.1', port })),
    sentinels: null,
  };
  const publisher = createRedis(target);
  const pubsub = createRedisPubSub(
    publisher,
    createRedisSubscriber(target),
    prefix,
    pino({ level: 'silent' }),
  );
  try {
    const heard: unknown[] = [];
    const off = pubsub.listen('numsub', (p) => heard.push(p));
    const channel = `${prefix}pubsub:numsub`;
    const perNode = async () =>
      Promise.all(
        cluster.ports.map((port) =>
          Number(cluster.cli(port, 'pubsub', 'numsub', channel).split('\n')[1]),
        ),
      );
    await until(async () => (await perNode()).some((n) => n > 0), 10_000, 'the subscription');
    // One node of three knows of the subscriber: asking one node would miss it two times in three.
    expect((await perNode()).sort()).toEqual([0, 0, 1]);
    await until(() => publisher.status === 'ready', 10_000, 'the publisher');
    expect(await pubsub.listened('numsub')).toBe(true);
    expect(await pubsub.listened('nobody')).toBe(false);
    pubsub.publish('numsub', { n: 1 });
    await until(() => heard.length === 1, 10_000, 'the message');
    off();
  } finally {
    await pubsub.close();
    publisher.disconnect();
  }
});

const TRACES =
  'query($p: ID!) { traces(projectId: $p, first: 10) { edges { node { externalId } } } }';

it('response cache: an answer cached by one process is a hit on the other, and ingest on either drops it', async () => {
  const miss = await post(a, { query: TRACES, variables: { p: project } });
  expect(miss.cache).toBe('MISS');
  expect(miss.body.data.traces.edges).toEqual([]);
  const hit = await post(b, { query: TRACES, variables: { p: project } });
  expect(hit.cache).toBe('HIT');
  expect(hit.body.data).toEqual(miss.body.data);
  const otlp = await fetch(`${b.url}/v1/traces`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${KEY}`,
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
  // A response computed within a few ms of an invalidation is not kept.
  await new Promise((r) => setTimeout(r, 30));
  const after = await post(a, { query: TRACES, variables: { p: project } });
  expect(after.cache).toBe('MISS');
  expect(after.body.data.traces.edges).toEqual([
    { node: { externalId: '0af7651916cd43dd8448eb211c80319c' } },
  ]);
  expect((await post(b, { query: TRACES, variables: { p: project } })).cache).toBe('HIT');
});

it('APQ: a query registered on one process is found by its hash on the other', async () => {
  const query = '{ viewer { email } }';
  const persistedQuery = {
    version: 1,
    sha256Hash: createHash('sha256').update(query).digest('hex'),
  };
  const unknown = await post(b, { extensions: { persistedQuery } });
  expect(unknown.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  expect((await post(a, { query, extensions: { persistedQuery } })).body.data).toEqual({
    viewer: { email: 'admin@cluster.test' },
  });
  expect((await post(b, { extensions: { persistedQuery } })).body.data).toEqual({
    viewer: { email: 'admin@cluster.test' },
  });
});

/** A FREE user of this test's own and a key of theirs (created by the admin; the key written as the API would). */
async function freeUser(email: string): Promise<string> {
  const created = await gql(
    a,
    'mutation($e: String!) { createUser(input: { email: $e, tier: FREE }) { user { id } } }',
    {
      e: email,
    },
  );
  expect(created.errors).toBeUndefined();
  const key = `evg_${randomBytes(30).toString('base64url')}`;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query(
    `INSERT INTO api_keys (id, hash, prefix, user_id) SELECT gen_random_uuid(), $1, $2, id FROM users WHERE email = $3`,
    [hashApiKey(key), key.slice(0, 12), email],
  );
  await client.end();
  return key;
}

it("rate-limit buckets: a user's budget is spent through both processes, and only that user's", async () => {
  const spender = await freeUser('spender@cluster.test');
  const other = await freeUser('other@cluster.test');
  const viewer = { query: '{ viewer { email } }' };
  const statuses = [];
  for (const api of [a, b, a, b]) statuses.push((await post(api, viewer, spender)).status);
  // Each costs 1 point of 3: the fourth, wherever it goes, finds the shared bucket empty.
  expect(statuses).toEqual([200, 200, 200, 429]);
  const throttled = await post(a, viewer, spender);
  expect(throttled.status).toBe(429);
  expect(throttled.body.errors[0].extensions.code).toBe('RATE_LIMITED');
  expect((await post(b, viewer, other)).status).toBe(200);
});

it('spreads its keys over more than one node of the cluster', async () => {
  const perNode = cluster.ports.map((port) =>
    cluster.cli(port, '--scan', '--pattern', `${prefix}*`).split('\n').filter(Boolean),
  );
  const all = perNode.flat();
  // Each kind of key the test made is there: buckets, instance counts, the cache, APQ.
  for (const kind of ['bucket:', 'instance:', 'rc:r:', 'rc:t:', 'apq:'])
    expect(all.some((k) => k.startsWith(prefix + kind))).toBe(true);
  expect(perNode.filter((keys) => keys.length > 0).length).toBeGreaterThan(1);
});
