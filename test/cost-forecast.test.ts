// costForecast through the server: spans at known hours, the business clock moved, the projection
// and its 90 % interval checked against values worked out by hand (costs/forecast.ts gives the
// method); no forecast, not 0, without history; the costs right; another project's id.
import { createTestApp, globalId, type TestApp } from './support/app';
import { ingest, span } from './support/spans';

let app: TestApp;
let p1: string;
let p2: string;
let young: string;
let unpriced: string;
// Friday 2026-11-20 12:30 UTC: 11.5 hours to the end of the day, 251.5 to the end of the month.
const T = Date.parse('2026-11-20T12:30:00.000Z');
const at = (minutesBefore: number) => new Date(T - minutesBefore * 60_000).toISOString();
const setNow = (ms: number) => {
  app.server.deps.clock.now = () => new Date(ms);
};

/** A call whose cost the client sent (so its price is exact). */
const call = (traceId: string, minutesBefore: number, cost: string, userId: string) =>
  span({ traceId, userId, model: 'gpt-4o', startTime: at(minutesBefore), totalCost: cost });

beforeAll(async () => {
  app = await createTestApp({ EVALGRAPH_RESPONSE_CACHE: 'false' });
  setNow(T);
  p1 = await app.seedProject('forecast');
  p2 = await app.seedProject('forecast, a week of history');
  young = await app.seedProject('forecast, young');
  unpriced = await app.seedProject('forecast, unpriced');
  for (const [project, spans] of [
    [
      p1,
      [
        call('bob', 250, '0.3', 'bob'), // 08:20, the project's first span: hour 4 back
        call('bob', 75, '0.6', 'bob'), // 11:15: hour 1
        call('alice', 210, '0.2', 'alice'), // 09:00: hour 3, alice's first
        call('alice', 10, '0.4', 'alice'), // 12:20: hour 0
        // A model without a price: unpriced, left out of the rate and counted.
        span({
          traceId: 'alice',
          userId: 'alice',
          model: 'mystery-model',
          inputTokens: 10,
          outputTokens: 10,
          startTime: at(5),
        }),
        // A tool step has nothing to price.
        span({ traceId: 'alice', userId: 'alice', kind: 'TOOL', startTime: at(4) }),
      ],
    ],
    [
      p2,
      [
        call('old', 10 * 24 * 60, '5', 'u'), // 2026-11-10: this month, before the week of history
        call('recent', 100 * 60, '0.84', 'u'), // hour 99
        call('recent', 30, '0.84', 'u'), // hour 0, today
      ],
    ],
    [young, [call('new', 30, '0.1', 'u')]],
    [
      unpriced,
      [
        span({
          traceId: 'x',
          model: 'mystery-model',
          inputTokens: 5,
          outputTokens: 5,
          startTime: at(180),
        }),
      ],
    ],
  ] as const) {
    const res = await ingest(app, project, [...spans]);
    expect(res.body.errors).toBeUndefined();
  }
});
afterAll(() => app.close());

const Q = `query($p: ID!, $h: CostForecastHorizon!, $u: String) {
  costForecast(projectId: $p, horizon: $h, userId: $u) {
    horizon periodStart periodEnd spentSoFar projected lower upper level method ratePerHourUsd
    reason historyHours basedOnFrom basedOnTo unpricedCalls asOf
  }
}`;

async function forecast(project: string, horizon: 'DAY' | 'MONTH', userId?: string, key?: string) {
  const res = await app.gql(Q, { p: globalId('Project', project), h: horizon, u: userId }, { key });
  expect(res.body.errors).toBeUndefined();
  return res.body.data.costForecast;
}

/** The interval's half-width: t(0.95, n − 1) · s · √(H + H²/n). */
const margin = (t: number, variance: number, H: number, n: number) =>
  t * Math.sqrt(variance) * Math.sqrt(H + (H * H) / n);

describe('a project with five hours of history', () => {
  // Hours back from 12:30: 0.4, 0.6, 0, 0.2, 0.3 → mean 0.3; squared deviations
  // 0.01 + 0.09 + 0.09 + 0.01 + 0 = 0.2 → s² = 0.2 / 4 = 0.05; t(0.95, 4) = 2.1318.
  it('DAY: 1.5 spent + 0.3 × 11.5 hours = 4.95', async () => {
    const f = await forecast(p1, 'DAY');
    expect(f).toMatchObject({
      horizon: 'DAY',
      periodStart: '2026-11-20T00:00:00.000Z',
      periodEnd: '2026-11-21T00:00:00.000Z',
      spentSoFar: '1.5',
      projected: '4.95',
      ratePerHourUsd: '0.3',
      level: 0.9,
      method: 'HOURLY_MEAN',
      reason: null,
      historyHours: 5,
      basedOnFrom: '2026-11-20T07:30:00.000Z',
      basedOnTo: '2026-11-20T12:30:00.000Z',
      asOf: '2026-11-20T12:30:00.000Z',
      unpricedCalls: 1,
    });
    const m = margin(2.1318, 0.05, 11.5, 5);
    expect(Number(f.upper)).toBeCloseTo(4.95 + m, 9);
    expect(Number(f.lower)).toBeCloseTo(Math.max(1.5, 4.95 - m), 9);
  });

  it('MONTH: 1.5 spent + 0.3 × 251.5 hours = 76.95', async () => {
    const f = await forecast(p1, 'MONTH');
    expect(f).toMatchObject({
      periodStart: '2026-11-01T00:00:00.000Z',
      periodEnd: '2026-12-01T00:00:00.000Z',
      spentSoFar: '1.5',
      projected: '76.95',
      ratePerHourUsd: '0.3',
    });
    const m = margin(2.1318, 0.05, 251.5, 5);
    expect(Number(f.upper)).toBeCloseTo(76.95 + m, 9);
    expect(Number(f.lower)).toBeCloseTo(Math.max(1.5, 76.95 - m), 9);
  });

  it("one end user: alice's hours since her first trace (09:00): 0.4, 0, 0, 0.2", async () => {
    // mean 0.15; squared deviations 0.0625 + 0.0225 + 0.0225 + 0.0025 = 0.11 → s² = 0.11 / 3; t(0.95, 3) = 2.3534.
    const f = await forecast(p1, 'DAY', 'alice');
    expect(f).toMatchObject({
      spentSoFar: '0.6',
      projected: '2.325', // 0.6 + 0.15 × 11.5
      ratePerHourUsd: '0.15',
      historyHours: 4,
      unpricedCalls: 1,
    });
    const m = margin(2.3534, 0.11 / 3, 11.5, 4);
    expect(Number(f.upper)).toBeCloseTo(2.325 + m, 9);
    expect(Number(f.lower)).toBeCloseTo(Math.max(0.6, 2.325 - m), 9);
    const bob = await forecast(p1, 'MONTH', 'bob');
    // Bob: 0.6 (hour 1), 0.3 (hour 4, his first): 5 hours, mean 0.18.
    expect(bob).toMatchObject({ spentSoFar: '0.9', projected: '46.17', historyHours: 5 }); // 0.9 + 0.18 × 251.5
  });
});

describe('a project with more than a week of history', () => {
  it('takes the last 168 hours; the month so far includes what came before them', async () => {
    // 168 hours: 0.84 at hours 0 and 99, 0 elsewhere → mean 0.01;
    // s² = (2 × 0.83² + 166 × 0.01²) / 167; t(0.95, 167) = 1.654.
    const variance = (2 * 0.83 ** 2 + 166 * 0.01 ** 2) / 167;
    const day = await forecast(p2, 'DAY');
    expect(day).toMatchObject({
      spentSoFar: '0.84',
      projected: '0.955', // 0.84 + 0.01 × 11.5
      ratePerHourUsd: '0.01',
      historyHours: 168,
      basedOnFrom: '2026-11-13T12:30:00.000Z',
    });
    expect(Number(day.upper)).toBeCloseTo(0.955 + margin(1.654, variance, 11.5, 168), 9);
    const month = await forecast(p2, 'MONTH');
    expect(month).toMatchObject({ spentSoFar: '6.68', projected: '9.195' }); // 6.68 + 0.01 × 251.5
    expect(Number(month.upper)).toBeCloseTo(9.195 + margin(1.654, variance, 251.5, 168), 9);
  });
});

describe('too little history', () => {
  afterEach(() => setNow(T));

  it('a first span under an hour old, or none: projected and bounds null with a reason, never 0', async () => {
    const f = await forecast(young, 'DAY');
    expect(f).toMatchObject({
      spentSoFar: '0.1',
      projected: null,
      lower: null,
      upper: null,
      ratePerHourUsd: null,
      reason: 'TOO_LITTLE_HISTORY',
      historyHours: 1,
    });
    const nobody = await forecast(p1, 'DAY', 'nobody');
    expect(nobody).toMatchObject({
      spentSoFar: '0',
      projected: null,
      reason: 'TOO_LITTLE_HISTORY',
      historyHours: 0,
    });
  });

  it('an hour later the clock gives two hours of history: 0, 0.1', async () => {
    setNow(T + 3_600_000);
    // 13:30: mean 0.05, s² = 2 × 0.05² / 1; 10.5 hours left; t(0.95, 1) = 6.3138.
    const f = await forecast(young, 'DAY');
    expect(f).toMatchObject({
      spentSoFar: '0.1',
      projected: '0.625', // 0.1 + 0.05 × 10.5
      historyHours: 2,
      reason: null,
      asOf: '2026-11-20T13:30:00.000Z',
    });
    expect(Number(f.upper)).toBeCloseTo(0.625 + margin(6.3138, 0.005, 10.5, 2), 9);
    expect(f.lower).toBe('0.1');
  });

  it('history whose calls could not be priced: null with UNPRICED', async () => {
    const f = await forecast(unpriced, 'MONTH');
    expect(f).toMatchObject({
      spentSoFar: null,
      projected: null,
      lower: null,
      upper: null,
      reason: 'UNPRICED',
      unpricedCalls: 1,
    });
  });
});

describe('who may read it', () => {
  it('needs the costs right: BILLING reads it, DEVELOPER and VIEWER are refused like other cost fields', async () => {
    const billing = await app.seedUser({ role: 'BILLING', projectId: p1 });
    expect((await forecast(p1, 'DAY', undefined, billing.key)).projected).toBe('4.95');
    for (const role of ['DEVELOPER', 'VIEWER'] as const) {
      const user = await app.seedUser({ role, projectId: p1 });
      const res = await app.gql(Q, { p: globalId('Project', p1), h: 'DAY' }, { key: user.key });
      expect(res.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect(res.body.data?.costForecast ?? null).toBeNull();
    }
  });

  it("another project's id, or one that does not exist, is NOT_FOUND", async () => {
    const other = await app.seedProject('someone else');
    const admin = await app.seedUser({ role: 'ADMIN', projectId: other });
    for (const id of [p1, '00000000-0000-7000-8000-000000000000']) {
      const res = await app.gql(Q, { p: globalId('Project', id), h: 'MONTH' }, { key: admin.key });
      expect(res.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      expect(res.body.data?.costForecast ?? null).toBeNull();
    }
  });
});
