// serviceStatus lists the SLO set with the targets the environment configures, and the error
// rate spends its budget when requests fail unexpectedly (a fault injected in a resolver's
// service, answered masked with 200) while availability (5xx only) is untouched.
import { createTestApp, type TestApp } from './support/app';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({
    EVALGRAPH_SLO_AVAILABILITY: '0.995',
    EVALGRAPH_SLO_ERROR_RATE: '0.01',
    EVALGRAPH_SLO_QUERY_P95_MS: '1500',
    EVALGRAPH_SLO_QUERY_P99_MS: '4000',
  });
});
afterAll(() => app.close());

const STATUS = `{ serviceStatus { slos { name objective thresholdMs
  windows { window good total value errorBudgetRemaining burnRate } } } }`;

async function status() {
  const res = await app.gql(STATUS);
  expect(res.body.errors).toBeUndefined();
  return Object.fromEntries(res.body.data.serviceStatus.slos.map((s: any) => [s.name, s]));
}

it('lists availability, error rate and query latency p95 and p99 with their targets', async () => {
  const slos = await status();
  expect(
    Object.fromEntries(Object.values(slos).map((s: any) => [s.name, [s.objective, s.thresholdMs]])),
  ).toEqual({
    availability: [0.995, null],
    error_rate: [0.99, null],
    query_latency_p95: [0.95, 1500],
    query_latency_p99: [0.99, 4000],
    webhook_success: [0.99, null],
  });
  for (const slo of Object.values(slos) as any[])
    expect(slo.windows.map((w: any) => w.window)).toEqual(['1h', '6h', '24h']);
});

it('burns the error-rate budget with failing requests, not availability’s', async () => {
  const before = (await status()).error_rate.windows[0];
  for (let i = 0; i < 5; i++) await app.gql('{ viewer { id } }');
  // A bug, as the server sees one: a service that throws something unexpected.
  const auth = app.server.services.auth;
  const revoke = auth.revokeApiKey;
  auth.revokeApiKey = async () => {
    throw new Error('injected fault');
  };
  try {
    const { key } = await app.seedUser({ role: 'VIEWER' });
    const id = (
      await app.gql('{ viewer { apiKeys(first: 1) { edges { node { id } } } } }', {}, { key })
    ).body.data.viewer.apiKeys.edges[0].node.id;
    for (let i = 0; i < 3; i++) {
      const res = await app.gql(
        `mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id } } }`,
        { id },
        { key },
      );
      expect(res.body.errors?.[0].extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    }
  } finally {
    auth.revokeApiKey = revoke;
  }
  const slos = await status();
  const hour = (name: string) => slos[name].windows[0];
  const errors = hour('error_rate').total - hour('error_rate').good;
  expect(errors - (before.total - before.good)).toBe(3);
  const share = errors / hour('error_rate').total;
  expect(hour('error_rate').burnRate).toBeCloseTo(share / 0.01, 9);
  expect(hour('error_rate').errorBudgetRemaining).toBeCloseTo(1 - share / 0.01, 9);
  expect(hour('error_rate').burnRate).toBeGreaterThan(1);
  // Answered 200: available all along.
  expect(hour('availability')).toMatchObject({ value: 1, burnRate: 0, errorBudgetRemaining: 1 });
  expect(hour('availability').total).toBe(hour('error_rate').total);
});
