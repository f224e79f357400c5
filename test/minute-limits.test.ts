// Per-minute quotas and per-role request ceilings through HTTP (in process, or with Postgres and
// Redis when DATABASE_URL and REDIS_URL are set): an evaluation beyond the minute's burst is
// refused with QUOTA_EXCEEDED and Retry-After until the minute (business time: deps.clock) ends;
// a VIEWER key is held to its role's bucket below its user's tier while an ADMIN key of the same
// user is not, and the cost extension and headers name the bucket that binds.
import { CREATE } from './support/evaluations';
import { createTestApp, globalId, type TestApp } from './support/app';

let app: TestApp;
// 20 s into a minute: the window ends 40 s later.
const T = Date.UTC(2026, 11, 6, 12, 0, 20);
const setClock = (ms: number) => (app.server.deps.clock.now = () => new Date(ms));

beforeAll(async () => {
  app = await createTestApp({
    EVALGRAPH_TIER_MINUTE_QUOTAS: JSON.stringify({
      FREE: { evaluations: { perMinute: 1, burst: 2 } },
    }),
    EVALGRAPH_RATE_LIMIT_ROLES: JSON.stringify({ VIEWER: { perMinute: 1, burst: 3 } }),
  });
  setClock(T);
});
afterAll(() => app.close());

const out = '{{ item.output }}';
const create = (key: string) =>
  app.gql(
    CREATE,
    {
      input: {
        projectId: globalId('Project', app.projectId),
        name: 'minute',
        testingCriteria: [{ type: 'regex', name: 'r', input: out, pattern: 'x' }],
        dataSource: { items: [{ input: 1, output: 'x' }] },
      },
    },
    { key },
  );

const USAGE = `{ usage { evaluations minute { startsAt resetsAt evaluations { limit burst used } judgeTokens { limit burst used } judgeCost { limit burst used } } }
  limits { perMinute { resetsAt evaluations { limit burst used } } } }`;

describe('per-minute quotas', () => {
  it('refuse the evaluation beyond the minute burst with Retry-After, and allow again when the minute ends', async () => {
    const user = await app.seedUser({ role: 'DEVELOPER', tier: 'FREE' });
    for (let i = 0; i < 2; i++) {
      const res = await create(user.key);
      expect(res.body.errors).toBeUndefined();
    }
    const refused = await create(user.key);
    expect(refused.status).toBe(429);
    expect(refused.body.errors![0].extensions).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      retryAfter: 40,
    });
    expect(refused.body.errors![0].message).toMatch(
      /per-minute quota of 1 evaluations \(bursts of 2\)/,
    );
    expect(refused.headers.get('retry-after')).toBe('40');

    const usage = await app.gql(USAGE, {}, { key: user.key });
    expect(usage.body.errors).toBeUndefined();
    expect(usage.body.data.usage.evaluations).toBe(2);
    expect(usage.body.data.usage.minute).toEqual({
      startsAt: new Date(T - 20_000).toISOString(),
      resetsAt: new Date(T + 40_000).toISOString(),
      evaluations: { limit: 1, burst: 2, used: 2 },
      // The tier's defaults: the override above changed evaluations only.
      judgeTokens: { limit: 20_000, burst: 40_000, used: 0 },
      judgeCost: { limit: '0.10', burst: '0.20', used: '0' },
    });
    expect(usage.body.data.limits.perMinute).toEqual({
      resetsAt: new Date(T + 40_000).toISOString(),
      evaluations: { limit: 1, burst: 2, used: 2 },
    });

    setClock(T + 40_000);
    try {
      const again = await create(user.key);
      expect(again.body.errors).toBeUndefined();
      const next = await app.gql(USAGE, {}, { key: user.key });
      expect(next.body.data.usage.evaluations).toBe(3);
      expect(next.body.data.usage.minute.evaluations.used).toBe(1);
    } finally {
      setClock(T);
    }
  });
});

describe('per-role ceilings', () => {
  const VIEWER_Q = '{ viewer { email } }';

  it('cap a VIEWER key below its user tier; an ADMIN key of the same user is not capped; the extension names the limit', async () => {
    const user = await app.seedUser({ role: 'ADMIN', tier: 'FREE', keyRole: 'VIEWER' });
    const { key: adminKey } = await app.server.services.auth.createApiKey(null, {
      userId: user.userId,
      role: 'ADMIN',
    });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await app.gql(VIEWER_Q, {}, { key: user.key }));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    const refused = results[3];
    expect(refused.body.errors![0].extensions?.code).toBe('RATE_LIMITED');
    expect(refused.body.errors![0].message).toMatch(/VIEWER keys may make 1 requests a minute/);
    expect(refused.body.extensions.cost.throttleStatus).toMatchObject({
      limitedBy: 'ROLE',
      maximumAvailable: 3,
      currentlyAvailable: 0,
    });
    expect(refused.headers.get('x-ratelimit-limit')).toBe('3');
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // The last allowed one was bound by the role already: one request left of 3 against thousands of points.
    expect(results[1].body.extensions.cost.throttleStatus).toMatchObject({
      limitedBy: 'ROLE',
      maximumAvailable: 3,
      currentlyAvailable: 1,
    });

    // The same user's ADMIN key: its role's bucket is its own, and the tier's (5,000 points) binds.
    for (let i = 0; i < 10; i++) {
      const res = await app.gql(VIEWER_Q, {}, { key: adminKey });
      expect(res.status).toBe(200);
      expect(res.body.extensions.cost.throttleStatus).toMatchObject({
        limitedBy: 'TIER',
        maximumAvailable: 5_000,
      });
      expect(res.headers.get('x-ratelimit-limit')).toBe('5000');
    }
  });
});
