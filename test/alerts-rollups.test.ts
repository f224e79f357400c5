// Alert rules measured from the span rollups against the same rules measured from the spans, on the
// same randomised data sent through ingestSpans: every metric and aggregation the rollups answer,
// plain, filtered, grouped (user, model, span kind) and ANOMALY (ungrouped and grouped, with
// history that starts inside and before the data). Counts equal, sums and averages equal up to
// float rounding (the spans' statement adds float8 costs, the rollups exact decimals), latency
// percentiles within the sketch's relative error. Then which rules take which path, end to end.
import type { AlertAggregation, AlertGroupBy, AlertMetric } from '../src/generated/prisma/enums';
import {
  type Measured,
  type Measurement,
  measureFromRollups,
  measureRaw,
  type RuleRow,
} from '../src/modules/alerts/measure';
import { ROLLUP_MIN_WINDOW_SECONDS, rollupsAnswer } from '../src/modules/alerts/measure-rollups';
import { SKETCH_ALPHA } from '../src/modules/analytics/sketch';
import { createTestApp, globalId, type TestApp } from './support/app';
import { ingest } from './support/spans';

jest.setTimeout(180_000);

let app: TestApp;
let project: string;
// Not on an hour: rolling windows end mid-hour, so every period has ragged edges.
const T = Date.parse('2026-11-21T12:34:56.789Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Spans over the last 8.5 days but one, plus some exactly on window bounds; 'late' only in the last two days. */
function dataset() {
  const rnd = random(20);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  const starts: number[] = [];
  for (let i = 0; i < 900; i++) starts.push(T - Math.floor(rnd() * 8.5 * DAY) - 1);
  for (const w of [3 * HOUR, 6 * HOUR, DAY]) for (let k = 1; k <= 8; k++) starts.push(T - k * w);
  // A day without spans: an empty history period inside the data (0 for counts and sums).
  const gap = (t: number) => t >= T - 5 * DAY && t < T - 4 * DAY;
  return starts
    .filter((t) => !gap(t))
    .map((start, i) => {
      const user = start > T - 2 * DAY && rnd() < 0.3 ? 'late' : pick(['ann', 'bob', 'cy', null]);
      const cost = rnd();
      return {
        traceId: `r${Math.floor(i / 10)}`,
        spanId: `r${i}`,
        name: 'call',
        startTime: new Date(start).toISOString(),
        // Some spans have no end: no latency, not a latency sample.
        ...(rnd() < 0.9 ? { endTime: new Date(start + 1 + Math.floor(rnd() ** 3 * 20_000)) } : {}),
        kind: pick(['LLM', 'LLM', 'TOOL', 'EMBEDDING']),
        model: pick(['acme-large', 'acme-small', 'Acme-Large', null]),
        status: rnd() < 0.15 ? 'ERROR' : 'OK',
        ...(user ? { userId: user } : {}),
        inputTokens: Math.floor(rnd() * 5000),
        outputTokens: Math.floor(rnd() * 800),
        // A third unpriced (no cost for an unknown model): not cost samples.
        ...(cost < 0.66 ? { totalCost: (cost * 0.37).toFixed(8) } : {}),
      };
    });
}

beforeAll(async () => {
  app = await createTestApp({ EVALGRAPH_ALERTS_POLL_MS: '3600000' });
  project = await app.seedProject('alerts from rollups');
  const list = dataset().map((s) => ({
    ...s,
    endTime: s.endTime?.toISOString(),
  }));
  for (let i = 0; i < list.length; i += 250) {
    const res = await ingest(app, project, list.slice(i, i + 250));
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.ingestSpans.rejectedCount).toBe(0);
  }
});
afterAll(() => app?.close());

function rule(over: Partial<RuleRow>): RuleRow {
  return {
    id: '00000000-0000-0000-0000-000000000000',
    project_id: project,
    name: 'rule',
    metric: 'SPAN_COUNT',
    aggregation: 'COUNT',
    filter: {},
    operator: 'GT',
    threshold: 1,
    warning_threshold: null,
    window_seconds: 86_400,
    interval_seconds: 60,
    min_samples: 0,
    no_data: 'OK',
    cooldown_seconds: 0,
    channels: [],
    channel_ids: [],
    severity: 'WARNING',
    state: 'OK',
    last_fired_at: null,
    last_warned_at: null,
    state_notified: false,
    group_by: null,
    anomaly_k: 3,
    anomaly_periods: 0,
    ...over,
  };
}

/** Every metric and aggregation the rollups answer. */
const SUPPORTED: [AlertMetric, AlertAggregation][] = [
  ['SPAN_COUNT', 'COUNT'],
  ['ERROR_COUNT', 'COUNT'],
  ['ERROR_RATE', 'AVG'],
  ['TOKENS', 'COUNT'],
  ['TOKENS', 'SUM'],
  ['TOKENS', 'AVG'],
  ['COST', 'COUNT'],
  ['COST', 'SUM'],
  ['COST', 'AVG'],
  ['LATENCY_MS', 'COUNT'],
  ['LATENCY_MS', 'P50'],
  ['LATENCY_MS', 'P95'],
  ['LATENCY_MS', 'P99'],
];
const isQuantile = (a: AlertAggregation) => a === 'P50' || a === 'P95' || a === 'P99';

/** b is a's value from the rollups: equal counts, sums to float rounding, quantiles within the sketch's error. */
function expectSameValue(aggregation: AlertAggregation, a: number | null, b: number | null) {
  if (a === null || b === null) return expect(b).toBe(a);
  if (aggregation === 'COUNT') return expect(b).toBe(a);
  const tolerance = isQuantile(aggregation) ? SKETCH_ALPHA : 1e-9;
  expect(Math.abs(b - a)).toBeLessThanOrEqual(tolerance * Math.abs(a));
}

function expectSameMeasured(aggregation: AlertAggregation, a: Measured, b: Measured) {
  expect(b.samples).toBe(a.samples);
  expectSameValue(aggregation, a.value, b.value);
  expect(b.historyPeriods).toBe(a.historyPeriods);
  expect(b.baseline === null).toBe(a.baseline === null);
  if (a.baseline && b.baseline) {
    expect(b.baseline.periods).toBe(a.baseline.periods);
    // A median of values each within α is within α of theirs; a MAD (of differences) is not.
    expectSameValue(aggregation, a.baseline.median, b.baseline.median);
    if (!isQuantile(aggregation)) expectSameValue(aggregation, a.baseline.mad, b.baseline.mad);
  }
  if (!isQuantile(aggregation)) expect(b.level).toBe(a.level);
}

function expectSame(aggregation: AlertAggregation, a: Measurement, b: Measurement) {
  expectSameMeasured(aggregation, a, b);
  expect(b.windowStart).toEqual(a.windowStart);
  expect(b.truncatedGroups).toBe(a.truncatedGroups);
  expect(b.groups === undefined).toBe(a.groups === undefined);
  if (!a.groups || !b.groups) return;
  expect(b.groups.map((g) => g.group).sort()).toEqual(a.groups.map((g) => g.group).sort());
  for (const g of a.groups)
    expectSameMeasured(aggregation, g, b.groups.find((x) => x.group === g.group)!);
}

async function compare(over: Partial<RuleRow>) {
  const r = rule(over);
  const db = app.server.deps.db.query;
  const raw = await measureRaw(db, r, new Date(T));
  const rolled = await measureFromRollups(db, r, new Date(T));
  expectSame(r.aggregation, raw, rolled);
  return raw;
}

describe('which rules the rollups answer', () => {
  const spec = (over: Partial<RuleRow>) => {
    const r = rule(over);
    return {
      projectId: r.project_id,
      metric: r.metric,
      aggregation: r.aggregation,
      filter: r.filter,
      windowSeconds: r.window_seconds,
    };
  };

  it('the supported metrics and aggregations over windows of 2 h and more', () => {
    for (const [metric, aggregation] of SUPPORTED) {
      expect(rollupsAnswer(spec({ metric, aggregation }))).toBe(true);
      expect(
        rollupsAnswer(spec({ metric, aggregation, window_seconds: ROLLUP_MIN_WINDOW_SECONDS - 1 })),
      ).toBe(false);
    }
  });

  it('not extremes, token or cost percentiles, latency sums, a tags filter, evaluations or scores', () => {
    const no: Partial<RuleRow>[] = [
      { metric: 'LATENCY_MS', aggregation: 'MAX' },
      { metric: 'COST', aggregation: 'MIN' },
      { metric: 'COST', aggregation: 'P95' },
      { metric: 'TOKENS', aggregation: 'P50' },
      { metric: 'LATENCY_MS', aggregation: 'AVG' },
      { metric: 'LATENCY_MS', aggregation: 'SUM' },
      { metric: 'SPAN_COUNT', aggregation: 'COUNT', filter: { tags: ['prod'] } },
      { metric: 'EVAL_SCORE', aggregation: 'AVG' },
      { metric: 'SCORE', aggregation: 'AVG', filter: { scoreName: 'x' } },
    ];
    for (const over of no) expect(rollupsAnswer(spec(over))).toBe(false);
  });

  it('end to end: a 24 h rule reads the rollups, a 1 h rule and a tags rule the spans', async () => {
    // A project given a rollup row of 5 spans that never were: only the rollup path counts them.
    const other = await app.seedProject('rollups tampered');
    const res = await ingest(
      app,
      other,
      Array.from({ length: 6 }, (_, i) => ({
        traceId: `e${i}`,
        spanId: `e${i}`,
        name: 'call',
        startTime: new Date(T - 10 * 60_000 - i * 1000).toISOString(),
        tags: ['prod'],
      })),
    );
    expect(res.body.errors).toBeUndefined();
    app.server.deps.clock.now = () => new Date(T);
    const TEST = `query($id: ID!) { testAlertRule(id: $id) { value samples } }`;
    const count = async (input: Record<string, unknown>) => {
      const created = await app.gql(
        `mutation($input: CreateAlertRuleInput!) { createAlertRule(input: $input) { alertRule { id } } }`,
        {
          input: {
            projectId: globalId('Project', other),
            name: 'spans',
            metric: 'SPAN_COUNT',
            aggregation: 'COUNT',
            operator: 'GT',
            threshold: 1000,
            intervalSeconds: 60,
            ...input,
          },
        },
      );
      expect(created.body.errors).toBeUndefined();
      const tested = await app.gql(TEST, { id: created.body.data.createAlertRule.alertRule.id });
      expect(tested.body.errors).toBeUndefined();
      return tested.body.data.testAlertRule.value;
    };
    // The last 10 minutes are a ragged edge, read from the spans even on the rollup path; the
    // tampered rows are the hour rows before it, inside a 24 h window only.
    await app.server.deps.db.query(
      `INSERT INTO span_rollups (project_id, by_user, grain, bucket, is_call, model, provider, kind, status, user_id,
         spans, errors, input_tokens, output_tokens, cached_input_tokens, total_tokens, cost, priced, unpriced, default_priced,
         latency_keys, latency_counts)
       VALUES ($1::uuid, false, 'HOUR', $2::timestamptz, false, NULL, NULL, 'GENERIC', 'OK', NULL, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, '{}', '{}')`,
      [other, new Date(Math.floor(T / HOUR) * HOUR - 3 * HOUR)],
    );
    expect(await count({ windowSeconds: 86_400 })).toBe(6 + 5);
    expect(await count({ windowSeconds: 3600 })).toBe(6);
    expect(await count({ windowSeconds: 86_400, filter: { tags: ['prod'] } })).toBe(6);
  });
});

describe.each(SUPPORTED)('%s %s from the rollups equals the spans', (metric, aggregation) => {
  it('plain, over 2 h, 24 h and 7 d windows', async () => {
    for (const window_seconds of [7200, 86_400, 7 * 86_400]) {
      const raw = await compare({ metric, aggregation, window_seconds });
      expect(raw.samples).toBeGreaterThan(0);
    }
  });

  it('filtered by model (compared normalised), span kind and user', async () => {
    for (const filter of [{ model: 'ACME-large' }, { spanKind: 'TOOL' }, { userId: 'bob' }])
      await compare({ metric, aggregation, filter, window_seconds: 3 * 86_400 });
    // Nothing matches: an empty window, the same either way.
    await compare({ metric, aggregation, filter: { userId: 'nobody' } });
  });

  it.each<AlertGroupBy>(['USER', 'MODEL', 'SPAN_KIND'])('grouped by %s', async (group_by) => {
    const raw = await compare({ metric, aggregation, group_by, window_seconds: 6 * 3600 });
    expect(raw.groups!.length).toBeGreaterThan(1);
  });

  it('ANOMALY: 3 h windows over 6 periods, and 24 h ones over 10 (history before the data)', async () => {
    const hours = await compare({
      metric,
      aggregation,
      operator: 'ANOMALY',
      threshold: null,
      window_seconds: 3 * 3600,
      anomaly_periods: 6,
    });
    expect(hours.baseline?.periods).toBe(6);
    const days = await compare({
      metric,
      aggregation,
      operator: 'ANOMALY',
      threshold: null,
      window_seconds: 86_400,
      anomaly_periods: 10,
    });
    expect(days.historyPeriods).toBeLessThan(10);
  });

  it('ANOMALY grouped by user (one only in the last two days) and by model', async () => {
    for (const group_by of ['USER', 'MODEL'] as const) {
      const raw = await compare({
        metric,
        aggregation,
        operator: 'ANOMALY',
        threshold: null,
        group_by,
        window_seconds: 12 * 3600,
        anomaly_periods: 8,
      });
      expect(raw.groups!.some((g) => g.group === 'late')).toBe(group_by === 'USER');
    }
  });
});
