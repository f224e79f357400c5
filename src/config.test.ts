import path from 'node:path';
import { ConfigError, parseConfig } from './config';

describe('parseConfig', () => {
  it('defaults to the embedded database and in-process stores on port 4000', () => {
    const config = parseConfig({});
    expect(config.http).toMatchObject({ port: 4000, host: '127.0.0.1', graphiql: true });
    expect(config.database).toEqual({
      kind: 'pglite',
      dataDir: path.resolve('.evalgraph', 'pgdata'),
      migrateOnStart: true,
    });
    expect(config.redis).toBeNull();
    expect(config.init).toBeNull();
  });

  it('uses Postgres and Redis when their URLs are set', () => {
    const config = parseConfig({
      DATABASE_URL: 'postgresql://u@h/db',
      REDIS_URL: 'redis://h:6379/1',
      EVALGRAPH_DATA_DIR: '/tmp/x',
    });
    expect(config.database).toMatchObject({
      kind: 'postgres',
      url: 'postgresql://u@h/db',
      probeAfterMs: 3_000,
    });
    expect(config.redis).toEqual({
      url: 'redis://h:6379/1',
      clusterNodes: null,
      sentinels: null,
      keyPrefix: 'evalgraph:',
    });
    expect(config.dataDir).toBe('/tmp/x');
  });

  it('uses a Redis Cluster from REDIS_CLUSTER_NODES, in place of REDIS_URL', () => {
    const config = parseConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b:7001' });
    expect(config.redis).toEqual({
      url: null,
      clusterNodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-b', port: 7001 },
      ],
      sentinels: null,
      keyPrefix: 'evalgraph:',
    });
    // The response cache uses the cluster too, unless it has a Redis of its own.
    expect(config.responseCache.redisUrl).toBeNull();
    for (const [env, problem] of [
      [{ REDIS_CLUSTER_NODES: 'redis-a' }, 'REDIS_CLUSTER_NODES: expected host:port'],
      [
        { REDIS_CLUSTER_NODES: 'a:1', REDIS_URL: 'redis://h:6379' },
        'set one of them or REDIS_URL, not several',
      ],
      [{ REDIS_CLUSTER_NODES: 'a:1', REDIS_KEY_PREFIX: '{eg}:' }, 'REDIS_KEY_PREFIX: no { or }'],
    ] as const)
      expect(() => parseConfig(env)).toThrow(problem);
  });

  it('finds the Redis master through REDIS_SENTINELS', () => {
    expect(
      parseConfig({ REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_MASTER: 'main' }).redis,
    ).toEqual({
      url: null,
      clusterNodes: null,
      sentinels: {
        nodes: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26379 },
        ],
        master: 'main',
      },
      keyPrefix: 'evalgraph:',
    });
    expect(() => parseConfig({ REDIS_SENTINELS: 's1:1', REDIS_CLUSTER_NODES: 'a:1' })).toThrow(
      'not several',
    );
  });

  it('takes the time after which an unanswered statement makes Postgres be checked', () => {
    const config = parseConfig({
      DATABASE_URL: 'postgresql://u@h/db',
      EVALGRAPH_DB_PROBE_AFTER_MS: '500',
    });
    expect(config.database).toMatchObject({ probeAfterMs: 500 });
    expect(() => parseConfig({ EVALGRAPH_DB_PROBE_AFTER_MS: '0' })).toThrow(
      /EVALGRAPH_DB_PROBE_AFTER_MS/,
    );
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      parseConfig({ PORT: 'x', DATABASE_URL: 'mysql://h/db', EVALGRAPH_INIT_API_KEY: 'short' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/PORT: expected a port number \(got "x"\)/);
    expect(problems).toMatch(
      /DATABASE_URL: expected a URL starting with postgres:\/\/ or postgresql:\/\//,
    );
    expect(problems).toMatch(/EVALGRAPH_INIT_API_KEY: expected at least 32 characters/);
    expect(problems).not.toMatch(/short/); // values of secret variables are never echoed
  });

  it('requires the admin email when other init variables are set', () => {
    expect(() => parseConfig({ EVALGRAPH_INIT_PROJECT: 'p' })).toThrow(
      /EVALGRAPH_INIT_ADMIN_EMAIL: required/,
    );
    expect(
      parseConfig({ EVALGRAPH_INIT_ADMIN_EMAIL: 'a@b.example', EVALGRAPH_INIT_PROJECT: 'p' }).init,
    ).toEqual({ adminEmail: 'a@b.example', project: 'p', apiKey: null });
  });
});

describe('empty variables', () => {
  it('count as unset', () => {
    expect(
      parseConfig({
        EVALGRAPH_INIT_ADMIN_EMAIL: '',
        EVALGRAPH_INIT_API_KEY: '',
        PORT: '',
        DATABASE_URL: '',
      }).init,
    ).toBeNull();
  });
});

describe('tiers', () => {
  it('override bucket and quota defaults per tier from JSON, field by field', () => {
    const config = parseConfig({
      EVALGRAPH_RATE_LIMIT_TIERS: '{"FREE":{"capacity":2000}}',
      EVALGRAPH_TIER_QUOTAS: '{"BASIC":{"requests":null,"judgeCost":"2.50"}}',
    });
    expect(config.rateLimit.tiers.FREE).toEqual({ capacity: 2000, restoreRate: 100 });
    expect(config.rateLimit.tiers.ENTERPRISE).toEqual({ capacity: 100_000, restoreRate: 2_000 });
    expect(config.quotas.tiers.BASIC).toEqual({
      requests: null,
      evaluations: 200,
      judgeTokens: 2_000_000,
      judgeCost: '2.50',
    });
  });

  it('name malformed tier JSON', () => {
    expect(() => parseConfig({ EVALGRAPH_RATE_LIMIT_TIERS: '{"GOLD":{}}' })).toThrow(
      /EVALGRAPH_RATE_LIMIT_TIERS: expected JSON such as/,
    );
    expect(() => parseConfig({ EVALGRAPH_TIER_QUOTAS: 'not json' })).toThrow(
      /EVALGRAPH_TIER_QUOTAS: expected JSON such as/,
    );
  });
});

describe('per-role and per-minute limits', () => {
  it('default each role and tier, and merge overrides per role and per field', () => {
    const config = parseConfig({
      EVALGRAPH_RATE_LIMIT_ROLES: '{"VIEWER":{"perMinute":600},"FEEDBACK":{"burst":50000}}',
      EVALGRAPH_TIER_MINUTE_QUOTAS: '{"BASIC":{"judgeCost":{"burst":"5"}}}',
    });
    expect(config.rateLimit.roles).toEqual({
      ADMIN: { perMinute: 100_000, burst: 120_000 },
      DEVELOPER: { perMinute: 10_000, burst: 12_000 },
      VIEWER: { perMinute: 600, burst: 1_200 },
      BILLING: { perMinute: 1_000, burst: 1_200 },
      FEEDBACK: { perMinute: 1_000, burst: 50_000 },
    });
    expect(config.quotas.minuteTiers.BASIC).toEqual({
      evaluations: { perMinute: 20, burst: 40 },
      judgeTokens: { perMinute: 200_000, burst: 400_000 },
      judgeCost: { perMinute: '1', burst: '5' },
    });
    expect(config.quotas.minuteTiers.ENTERPRISE.evaluations).toEqual({
      perMinute: null,
      burst: null,
    });
  });

  it('name the variable when its JSON is malformed or a burst is below its rate', () => {
    expect(() => parseConfig({ EVALGRAPH_RATE_LIMIT_ROLES: '{"OWNER":{"perMinute":5}}' })).toThrow(
      /EVALGRAPH_RATE_LIMIT_ROLES: expected JSON such as/,
    );
    expect(() =>
      parseConfig({ EVALGRAPH_RATE_LIMIT_ROLES: '{"VIEWER":{"perMinute":"fast"}}' }),
    ).toThrow(/EVALGRAPH_RATE_LIMIT_ROLES: expected JSON such as/);
    expect(() =>
      parseConfig({ EVALGRAPH_RATE_LIMIT_ROLES: '{"VIEWER":{"perMinute":5000}}' }),
    ).toThrow(/EVALGRAPH_RATE_LIMIT_ROLES: burst must be at least perMinute \(VIEWER\)/);
    expect(() =>
      parseConfig({ EVALGRAPH_TIER_MINUTE_QUOTAS: '{"FREE":{"evaluations":5}}' }),
    ).toThrow(/EVALGRAPH_TIER_MINUTE_QUOTAS: expected JSON such as/);
    expect(() =>
      parseConfig({ EVALGRAPH_TIER_MINUTE_QUOTAS: '{"FREE":{"evaluations":{"perMinute":50}}}' }),
    ).toThrow(
      /EVALGRAPH_TIER_MINUTE_QUOTAS: burst must be at least perMinute \(FREE.evaluations\)/,
    );
  });
});

describe('abuse limits before a key is known', () => {
  it('bound query texts to 64 KiB and give callers without a key 20 requests a second per address by default', () => {
    const config = parseConfig({});
    expect(config.limits.maxQueryBytes).toBe(64 * 1024);
    expect(config.rateLimit.anonymous).toEqual({ capacity: 20, restoreRate: 20 });
  });

  it('read both, 0 turning the anonymous bucket off, and name each bad one', () => {
    const config = parseConfig({
      EVALGRAPH_MAX_QUERY_BYTES: '131072',
      EVALGRAPH_ANONYMOUS_RATE_LIMIT: '0.5',
    });
    expect(config.limits.maxQueryBytes).toBe(131072);
    expect(config.rateLimit.anonymous).toEqual({ capacity: 1, restoreRate: 0.5 });
    expect(parseConfig({ EVALGRAPH_ANONYMOUS_RATE_LIMIT: '0' }).rateLimit.anonymous).toBeNull();
    let error: unknown;
    try {
      parseConfig({ EVALGRAPH_MAX_QUERY_BYTES: '100', EVALGRAPH_ANONYMOUS_RATE_LIMIT: 'lots' });
    } catch (e) {
      error = e;
    }
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(
      /EVALGRAPH_MAX_QUERY_BYTES: expected at least 1024 bytes \(got "100"\)/,
    );
    expect(problems).toMatch(
      /EVALGRAPH_ANONYMOUS_RATE_LIMIT: expected requests per second \(0: off\) \(got "lots"\)/,
    );
    expect(() => parseConfig({ EVALGRAPH_ANONYMOUS_RATE_LIMIT: '-1' })).toThrow(
      /EVALGRAPH_ANONYMOUS_RATE_LIMIT/,
    );
  });
});

describe('default model price', () => {
  it('is off unless set: unknown models stay unpriced', () => {
    expect(parseConfig({}).costs.defaultModelPrice).toBeNull();
  });

  it('reads USD per 1M tokens from JSON as decimal strings', () => {
    expect(
      parseConfig({ EVALGRAPH_DEFAULT_MODEL_PRICE: '{"inputPer1M":1.0,"outputPer1M":2.5}' }).costs
        .defaultModelPrice,
    ).toEqual({ inputPrice: '1', outputPrice: '2.5', cachedInputPrice: null });
    expect(
      parseConfig({
        EVALGRAPH_DEFAULT_MODEL_PRICE:
          '{"inputPer1M":0.15,"outputPer1M":0.6,"cachedInputPer1M":0.075}',
      }).costs.defaultModelPrice,
    ).toEqual({ inputPrice: '0.15', outputPrice: '0.6', cachedInputPrice: '0.075' });
  });

  it('refuses anything else at start, naming the variable', () => {
    for (const bad of [
      '1.0,2.0',
      '{"inputPer1M":1}',
      '{"inputPer1M":-1,"outputPer1M":2}',
      '{"inputPer1M":"1","outputPer1M":2}',
      '{"inputPer1M":1,"outputPer1M":2,"other":3}',
      '{"inputPer1M":1e-20,"outputPer1M":2}',
    ])
      expect(() => parseConfig({ EVALGRAPH_DEFAULT_MODEL_PRICE: bad })).toThrow(
        /EVALGRAPH_DEFAULT_MODEL_PRICE: expected JSON such as/,
      );
  });
});

describe('judge providers', () => {
  const p = (name: string, over: Record<string, unknown> = {}) => ({
    name,
    baseUrl: 'http://127.0.0.1:8000/v1',
    models: ['*'],
    ...over,
  });
  const problems = (env: Record<string, string>) => {
    try {
      parseConfig(env);
    } catch (error) {
      return (error as ConfigError).problems;
    }
    return [];
  };
  const providers = (list: unknown) => ({ EVALGRAPH_JUDGE_PROVIDERS: JSON.stringify(list) });

  it('makes the single-provider variables one provider named default, serving every model', () => {
    const config = parseConfig({
      EVALGRAPH_JUDGE_BASE_URL: 'http://127.0.0.1:9/v1',
      EVALGRAPH_JUDGE_API_KEY: 'sk-x',
      EVALGRAPH_JUDGE_CONCURRENCY: '3',
    });
    expect(config.judge.providers).toEqual([
      expect.objectContaining({
        name: 'default',
        baseUrl: 'http://127.0.0.1:9/v1',
        apiKey: 'sk-x',
        models: ['*'],
        fallback: null,
        concurrency: 3,
      }),
    ]);
    expect(parseConfig({}).judge.providers[0]).toMatchObject({ name: 'default', apiKey: null });
  });

  it('reads EVALGRAPH_JUDGE_PROVIDERS, the tuning variables as defaults of each', () => {
    const config = parseConfig({
      ...providers([
        p('openai', { apiKey: 'sk-o', models: ['gpt-4o'], fallback: 'local', concurrency: 8 }),
        p('local', { maxRetries: 0 }),
      ]),
      EVALGRAPH_JUDGE_BREAKER_FAILURES: '7',
    });
    expect(config.judge.providers).toEqual([
      expect.objectContaining({
        name: 'openai',
        apiKey: 'sk-o',
        fallback: 'local',
        concurrency: 8,
        breakerFailures: 7,
        maxRetries: 3,
      }),
      expect.objectContaining({
        name: 'local',
        apiKey: '',
        fallback: null,
        concurrency: 16,
        breakerFailures: 7,
        maxRetries: 0,
      }),
    ]);
  });

  it('refuses duplicate names, unknown fallbacks, fallback cycles, bad fields and both ways at once', () => {
    expect(problems(providers([p('a'), p('a')]))).toEqual([
      'EVALGRAPH_JUDGE_PROVIDERS[1].name: "a" is the name of provider 0',
    ]);
    expect(problems(providers([p('a', { fallback: 'zed' })]))).toEqual([
      'EVALGRAPH_JUDGE_PROVIDERS[0].fallback: no provider is named "zed"',
    ]);
    expect(
      problems(
        providers([
          p('a', { fallback: 'b' }),
          p('b', { fallback: 'c' }),
          p('c', { fallback: 'b' }),
        ]),
      ),
    ).toEqual([
      'EVALGRAPH_JUDGE_PROVIDERS[1].fallback: the fallbacks go round in a cycle (b → c → b)',
      'EVALGRAPH_JUDGE_PROVIDERS[2].fallback: the fallbacks go round in a cycle (c → b → c)',
    ]);
    expect(problems(providers([p('a', { fallback: 'a' })]))).toEqual([
      'EVALGRAPH_JUDGE_PROVIDERS[0].fallback: the fallbacks go round in a cycle (a → a)',
    ]);
    const bad = problems(
      providers([
        p('ok'),
        { name: 'b c', baseUrl: 'x', models: [], colour: 1, apiKey: 'sk-hidden' },
      ]),
    );
    expect(bad.map((m) => m.split(':')[0]).sort()).toEqual([
      'EVALGRAPH_JUDGE_PROVIDERS[1]',
      'EVALGRAPH_JUDGE_PROVIDERS[1].baseUrl',
      'EVALGRAPH_JUDGE_PROVIDERS[1].models',
      'EVALGRAPH_JUDGE_PROVIDERS[1].name',
    ]);
    expect(bad.join('\n')).not.toContain('sk-hidden');
    expect(problems({ EVALGRAPH_JUDGE_PROVIDERS: 'not json' })[0]).toMatch(
      /^EVALGRAPH_JUDGE_PROVIDERS: expected a JSON list/,
    );
    expect(problems(providers([]))[0]).toMatch(/^EVALGRAPH_JUDGE_PROVIDERS:/);
    expect(
      problems({ ...providers([p('a')]), EVALGRAPH_JUDGE_BASE_URL: 'http://127.0.0.1:1/v1' }),
    ).toEqual([
      'EVALGRAPH_JUDGE_PROVIDERS: set either it or EVALGRAPH_JUDGE_BASE_URL/EVALGRAPH_JUDGE_API_KEY, not both (give the single provider an entry of its own)',
    ]);
  });
});
