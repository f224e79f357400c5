// Cost-based rate limiting through HTTP: costs as computed by hand, refunds of the unused cost,
// headers, 429 with Retry-After, too-complex refusals, tiers and per-user limits, and 200
// concurrent requests that cannot overspend one bucket (in process, or in Redis with REDIS_URL).
import { createTestApp, globalId, type TestApp } from './support/app';
import { createEvaluation } from './support/evaluations';
import { subscribeWs, until, wsClient } from './support/live';
import { ingest, span } from './support/spans';

let app: TestApp;

beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const SET_LIMITS = `mutation($input: SetUserLimitsInput!) { setUserLimits(input: $input) { user { id } } }`;

/** A user whose bucket barely refills, so that what a test spends is what it sees. */
async function userWithBucket(capacity: number, restoreRate = 0.001) {
  const user = await app.seedUser({ role: 'DEVELOPER' });
  const res = await app.gql(SET_LIMITS, {
    input: { userId: globalId('User', user.userId), capacity, restoreRate },
  });
  expect(res.body.errors).toBeUndefined();
  return user;
}

describe('cost', () => {
  it('of nested connections and fragments equals the hand-computed value; actual cost counts what came back', async () => {
    const user = await userWithBucket(10_000);
    const query = `query($n: Int) { viewer { email } a: projects(first: $n) { ...P } b: projects(first: 2) { totalCount edges { node { id } } } }
      fragment P on ProjectConnection { edges { node { name members(first: 3) { edges { node { role user { email } } } } } } }`;
    const res = await app.gql(query, { n: 5 }, { key: user.key });
    expect(res.body.errors).toBeUndefined();
    // viewer 1; a: 1 + 5 × (project 1 + members [1 + 3 × (membership 1 + user 1)]) = 1 + 5 × 8 = 41; b: 1 + 2 × 1 = 3
    // actual: one project with two members (the admin and this user):
    // viewer 1 + a (connection 1 + project 1 + members 1 + 2 × (membership 1 + user 1)) + b (1 + 1) = 1 + 7 + 2 = 10
    expect(res.body.extensions.cost).toEqual({
      requestedQueryCost: 45,
      actualQueryCost: 10,
      throttleStatus: {
        maximumAvailable: 10_000,
        currentlyAvailable: 10_000 - 10,
        restoreRate: 0.001,
        limitedBy: 'TIER',
      },
    });
    expect(
      Object.fromEntries(
        ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-used'].map((h) => [
          h,
          res.headers.get(h),
        ]),
      ),
    ).toEqual({
      'x-ratelimit-limit': '10000',
      'x-ratelimit-remaining': '9990',
      'x-ratelimit-used': '10',
    });
    expect(Number(res.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
  });

  it('is charged in full, with no refund, when the answer has errors (a failed field may null others that ran)', async () => {
    const user = await userWithBucket(1_000);
    const res = await app.gql(
      '{ projects(first: 50) { edges { node { id } } } project(id: "bogus") { id } }',
      {},
      { key: user.key },
    );
    expect(res.body.errors?.length).toBeGreaterThan(0);
    expect(res.body.extensions.cost).toMatchObject({
      requestedQueryCost: 52,
      actualQueryCost: 52,
      throttleStatus: { currentlyAvailable: 1_000 - 52 },
    });
  });

  it('of ingestSpans grows with the number of spans; rateLimit costs nothing', async () => {
    const user = await userWithBucket(10_000);
    const spans = Array.from({ length: 250 }, (_, i) =>
      span({ traceId: 'cost-t', spanId: `s${i}`, name: 'x' }),
    );
    const res = await ingest(app, app.projectId, spans, { key: user.key });
    expect(res.body.errors).toBeUndefined();
    // 25 for 250 spans (a point per 10) + the payload object 1 + up to 10 error objects (none came back)
    expect(res.body.extensions.cost).toMatchObject({ requestedQueryCost: 36, actualQueryCost: 26 });
    const free = await app.gql(
      '{ rateLimit { limit cost remaining used restoreRate resetAt } }',
      {},
      { key: user.key },
    );
    expect(free.body.extensions.cost.requestedQueryCost).toBe(0);
    expect(free.body.data.rateLimit).toMatchObject({ limit: 10_000, cost: 0, restoreRate: 0.001 });
    expect(free.body.data.rateLimit.used).toBeGreaterThanOrEqual(26);
  });

  it("counts a variable's default whatever its name (constructor, __proto__: names Object has)", async () => {
    const user = await userWithBucket(10_000);
    const requested = async (name: string) => {
      const res = await app.gql(
        `query($${name}: Int = 100) { projects(first: $${name}) { edges { node { id } } } }`,
        {},
        { key: user.key },
      );
      expect(res.body.errors).toBeUndefined();
      return res.body.extensions.cost.requestedQueryCost;
    };
    // The connection 1 + 100 projects.
    for (const name of ['n', 'constructor', '__proto__', 'toString'])
      expect(await requested(name)).toBe(101);
  });

  it("one caller's variables do not change what another's cost (values JSON cannot tell apart)", async () => {
    const query = 'query($n: Int) { projects(first: $n) { edges { node { id } } } }';
    const other = await userWithBucket(10_000);
    // 1e400 is Infinity once parsed, which JSON writes as null: the same text as the null below.
    const refused = await fetch(app.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${other.key}` },
      body: `{"query": ${JSON.stringify(query)}, "variables": {"n": 1e400}}`,
    });
    expect((await refused.json()).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const user = await userWithBucket(10_000);
    const res = await app.gql(query, { n: null }, { key: user.key });
    expect(res.body.errors).toBeUndefined();
    // The connection 1 + the default page of 20.
    expect(res.body.extensions.cost.requestedQueryCost).toBe(21);
  });
});

describe('limits', () => {
  it('throttles with 429, Retry-After and RATE_LIMITED (the cost extension included) once the bucket is spent', async () => {
    const user = await userWithBucket(10, 0.5);
    const query = '{ projects(first: 4) { edges { node { id } } } }'; // 5 requested, 2 actual
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 8; i++) {
      last = await app.gql(query, {}, { key: user.key });
      statuses.push(last.status);
      if (last.status === 429) break;
    }
    expect(statuses.at(-1)).toBe(429);
    // Each run gave back 3 of its 5 points: 10 → 8 → 6 → 4 (then 4 < 5 refuses).
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(last!.headers.get('retry-after')).toBe('2');
    expect(last!.body.errors![0].extensions).toMatchObject({
      code: 'RATE_LIMITED',
      cost: {
        requestedQueryCost: 5,
        actualQueryCost: null,
        throttleStatus: { maximumAvailable: 10, currentlyAvailable: 4 },
      },
    });
    expect(last!.body.extensions.cost.requestedQueryCost).toBe(5);
    expect(last!.headers.get('x-ratelimit-remaining')).toBe('4');
    // Counted in the metrics, by tier and outcome.
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(
      /evalgraph_rate_limited_operations_total\{tier="FREE",outcome="throttled"\} [1-9]/,
    );
    expect(metrics).toMatch(/evalgraph_cost_points_total\{tier="FREE"\} [1-9]/);
  });

  it('refuses an operation costing more than the bucket holds with QUERY_TOO_COMPLEX, before running it', async () => {
    const user = await userWithBucket(50);
    const res = await app.gql(
      '{ projects(first: 100) { edges { node { id } } } }',
      {},
      { key: user.key },
    );
    expect(res.body.data ?? null).toBeNull();
    expect(res.body.errors![0].extensions).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
      cost: 101,
      limit: 50,
    });
    expect(res.body.errors![0].message).toContain('101 points');
    // Nothing was taken.
    expect(
      (await app.gql('{ rateLimit { remaining } }', {}, { key: user.key })).body.data.rateLimit
        .remaining,
    ).toBe(50);
  });

  it('follows the tier, and a changed tier takes effect at once', async () => {
    const user = await app.seedUser({ role: 'VIEWER', tier: 'FREE' });
    const before = await app.gql('{ viewer { id } }', {}, { key: user.key });
    expect(before.headers.get('x-ratelimit-limit')).toBe('5000');
    await app.gql(
      `mutation($input: SetUserTierInput!) { setUserTier(input: $input) { user { id } } }`,
      { input: { userId: globalId('User', user.userId), tier: 'ENTERPRISE' } },
    );
    const after = await app.gql('{ viewer { id } }', {}, { key: user.key });
    expect(after.headers.get('x-ratelimit-limit')).toBe('100000');
  });

  it('setUserLimits is for instance admins only', async () => {
    const user = await app.seedUser({ role: 'ADMIN' });
    const res = await app.gql(
      SET_LIMITS,
      { input: { userId: globalId('User', user.userId), capacity: 1_000_000 } },
      { key: user.key },
    );
    expect(res.body.errors![0].extensions!.code).toBe('FORBIDDEN');
  });

  it('200 concurrent requests of one key never overspend its bucket', async () => {
    const user = await userWithBucket(100);
    // Requested 2 and actual 2 (one project): exactly 50 fit.
    const query = '{ projects(first: 1) { edges { node { id } } } }';
    const results = await Promise.all(
      Array.from({ length: 200 }, () => app.gql(query, {}, { key: user.key })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(50);
    expect(results.filter((r) => r.status === 429)).toHaveLength(150);
    expect(
      (await app.gql('{ rateLimit { remaining } }', {}, { key: user.key })).body.data.rateLimit
        .remaining,
    ).toBe(0);
  });

  it('a daily request quota refuses with 429 QUOTA_EXCEEDED until midnight UTC; usage and limits show it', async () => {
    const user = await app.seedUser({ role: 'VIEWER' });
    await app.gql(SET_LIMITS, {
      input: { userId: globalId('User', user.userId), requestsPerDay: 3 },
    });
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await app.gql('{ viewer { id } }', {}, { key: user.key })).status);
    // 3 a day, and 10 % of 3 rounds down to no burst.
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await app.gql('{ viewer { id } }', {}, { key: user.key });
    expect(refused.body.errors![0].extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', quota: 3 });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(86_400);
    // usage and limits cost nothing, so they still answer.
    const usage = await app.gql(
      '{ usage { day requests costPoints evaluations } limits { tier capacity restoreRate burstPercent daily { requests evaluations judgeTokens judgeCost } } }',
      {},
      { key: user.key },
    );
    expect(usage.body.errors).toBeUndefined();
    expect(usage.body.data.usage).toMatchObject({
      day: new Date().toISOString().slice(0, 10),
      requests: 3,
      costPoints: 3,
      evaluations: 0,
    });
    expect(usage.body.data.limits).toEqual({
      tier: 'FREE',
      capacity: 5000,
      restoreRate: 100,
      burstPercent: 10,
      daily: { requests: 3, evaluations: 20, judgeTokens: 200000, judgeCost: '1' },
    });
  });

  it("a project's usage needs the costs role", async () => {
    const billing = await app.seedUser({ role: 'BILLING' });
    const viewer = await app.seedUser({ role: 'VIEWER' });
    const query = 'query($p: ID!) { usage(projectId: $p) { evaluations judgeCost } }';
    const p = globalId('Project', app.projectId);
    expect((await app.gql(query, { p }, { key: billing.key })).body.data.usage).toMatchObject({
      evaluations: expect.any(Number),
    });
    expect(
      (await app.gql(query, { p }, { key: viewer.key })).body.errors![0].extensions!.code,
    ).toBe('FORBIDDEN');
  });

  it('subscriptions cost their selection per event; an event the bucket cannot pay becomes RATE_LIMITED', async () => {
    const user = await userWithBucket(3);
    const client = wsClient(app.url, user.key);
    // { type } on EvaluationEvent: 1 point per event; the bucket pays for 3.
    const sub = subscribeWs(
      client,
      'subscription($p: ID!) { evaluationEvents(projectId: $p) { type } }',
      { p: globalId('Project', app.projectId) },
    );
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 2; i++)
      await createEvaluation(
        app,
        [{ type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'a' }],
        [{ input: i, output: 'a' }],
      );
    await until(() => sub.events.length >= 6, 10_000, 'six events');
    sub.stop();
    // Paid: the start (the first event's cost) and two more; then withheld.
    expect(sub.events.slice(0, 3).every((e) => e.data?.evaluationEvents?.type && !e.errors)).toBe(
      true,
    );
    expect(
      sub.events
        .slice(3)
        .every((e) => e.errors?.[0]?.extensions?.code === 'RATE_LIMITED' && !e.data),
    ).toBe(true);
    await client.dispose();
  });

  it('WebSocket subscribers of one group: each event executed once, each member charged for it', async () => {
    const user = await userWithBucket(6);
    const metric = async (series: string) => {
      const text = await (await fetch(`${app.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    const executions = 'evalgraph_subscription_executions_total';
    const ended =
      'graphql_operations_total{operation_name="GroupProbe",operation_type="subscription"}';
    const before = { executions: await metric(executions), ended: await metric(ended) };
    // Three sockets, one key, one document and variables: one group. { type }: 1 point an event.
    const clients = Array.from({ length: 3 }, () => wsClient(app.url, user.key));
    const subs = clients.map((client) =>
      subscribeWs(
        client,
        'subscription GroupProbe($p: ID!) { evaluationEvents(projectId: $p) { type } }',
        { p: globalId('Project', app.projectId) },
      ),
    );
    const keyId = (await app.server.services.auth.authenticate(user.key))!.keyId;
    await until(
      () => app.server.services.subscriptions.openCount(keyId) === 3,
      5_000,
      'three streams',
    );
    for (let i = 0; i < 2; i++)
      await createEvaluation(
        app,
        [{ type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'a' }],
        [{ input: i, output: 'a' }],
      );
    await until(
      async () =>
        subs.every((s) => s.events.length >= 6 && s.events.length === subs[0].events.length) &&
        (await metric(executions)) - before.executions === subs[0].events.length,
      10_000,
      'every event to every member, each executed once',
    );
    // The start paid 3 of the 6 points and each member's first event; the second event cost each
    // member 1 point (3 more); from the third, every member's events are withheld.
    for (const { events } of subs) {
      expect(events.slice(0, 2).every((e) => e.data?.evaluationEvents?.type && !e.errors)).toBe(
        true,
      );
      expect(
        events.slice(2).every((e) => e.errors?.[0]?.extensions?.code === 'RATE_LIMITED' && !e.data),
      ).toBe(true);
    }
    subs.forEach((s) => s.stop());
    // Each member's end is counted by the Prometheus layer, as over SSE.
    await until(
      async () => (await metric(ended)) - before.ended === 3,
      5_000,
      'three ended subscriptions',
    );
    await Promise.all(clients.map((c) => c.dispose()));
  });
});
