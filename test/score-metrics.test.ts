// The `scoreMetrics` query through the server: score series checked against hand-computed counts
// and means of a small set of scores (hour rollups, day rollups, ragged edges from the scores),
// quantiles within the sketch's error of percentile_cont, groupings, filters, limits and rights.
import { randomUUID } from 'node:crypto';
import { SIGNED_TINY, SKETCH_ALPHA } from '../src/modules/analytics/sketch';
import { createTestApp, globalId, type TestApp } from './support/app';

let app: TestApp;
let project: string;
let p: string;

const at = (time: string) => `2025-07-${time}:00.000Z`;
// 2025-07-07 and 2025-07-14 are Mondays. tone has no config: its categories carry no value.
const SCORES = [
  { name: 'quality', value: 0.2, timestamp: at('07T09:10') },
  { name: 'quality', value: 0.8, timestamp: at('07T09:40') },
  { name: 'quality', value: 0.5, timestamp: at('07T11:05') },
  { name: 'quality', value: 1, timestamp: at('08T09:00') },
  { name: 'quality', value: -0.4, timestamp: at('14T12:00') },
  { name: 'thumbs', dataType: 'BOOLEAN', value: 1, source: 'FEEDBACK', timestamp: at('07T09:20') },
  { name: 'thumbs', dataType: 'BOOLEAN', value: 0, source: 'FEEDBACK', timestamp: at('07T09:50') },
  { name: 'thumbs', dataType: 'BOOLEAN', value: 1, source: 'FEEDBACK', timestamp: at('07T11:30') },
  { name: 'tone', stringValue: 'good', source: 'ANNOTATION', timestamp: at('07T09:15') },
  { name: 'tone', stringValue: 'bad', source: 'ANNOTATION', timestamp: at('07T11:10') },
];

const CREATE = `mutation($input: CreateScoresInput!) { createScores(input: $input) { acceptedCount } }`;
async function createScores(projectId: string, scores: Record<string, unknown>[]) {
  const res = await app.gql(CREATE, {
    input: {
      projectId: globalId('Project', projectId),
      scores: scores.map((s) => ({ sessionId: 'session-1', ...s })),
    },
  });
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data.createScores.acceptedCount).toBe(scores.length);
}

beforeAll(async () => {
  app = await createTestApp();
  project = await app.seedProject('score metrics');
  p = globalId('Project', project);
  await createScores(project, SCORES);
});
afterAll(() => app.close());

const VALUES = 'count valueCount mean';
const QUERY = `query($p: ID!, $from: DateTime!, $to: DateTime!, $i: MetricsInterval!, $g: [ScoreMetricsGroupBy!], $f: ScoreMetricsFilter) {
  scoreMetrics(projectId: $p, from: $from, to: $to, interval: $i, groupBy: $g, filter: $f) {
    keys { name source dataType stringValue }
    totals { ${VALUES} }
    points { time ${VALUES} }
  } }`;
const QUANTILES = `query($p: ID!, $from: DateTime!, $to: DateTime!, $i: MetricsInterval!) {
  scoreMetrics(projectId: $p, from: $from, to: $to, interval: $i) {
    keys { name } totals { p50 p95 } points { time valueCount p50 p95 } } }`;

interface Args {
  from?: string;
  to?: string;
  i?: string;
  g?: string[];
  f?: object;
}
const TWO_WEEKS = { from: '2025-07-07T00:00:00Z', to: '2025-07-21T00:00:00Z' };
const variables = (args: Args) => ({ p, ...TWO_WEEKS, i: 'WEEK', ...args });

async function scoreMetrics(args: Args, query = QUERY) {
  const res = await app.gql(query, variables(args));
  expect(res.body.errors).toBeUndefined();
  return res.body.data.scoreMetrics;
}
async function errorOf(args: Args, query = QUERY, key?: string) {
  const res = await app.gql(query, variables(args), { key });
  expect(res.body.data?.scoreMetrics ?? null).toBeNull();
  const [error] = res.body.errors!;
  return { code: error.extensions?.code, path: error.extensions?.path, message: error.message };
}

const EMPTY = { count: 0, valueCount: 0, mean: null };
const keys = (k: Record<string, string>) => ({
  name: null,
  source: null,
  dataType: null,
  stringValue: null,
  ...k,
});

describe('series', () => {
  it('hours (hour rollups): every bucket, an empty one zero with a null mean; per name by default', async () => {
    const series = await scoreMetrics({
      from: '2025-07-07T09:00:00Z',
      to: '2025-07-07T12:00:00Z',
      i: 'HOUR',
    });
    const hours = (nine: object, eleven: object) => [
      { time: '2025-07-07T09:00:00.000Z', ...nine },
      { time: '2025-07-07T10:00:00.000Z', ...EMPTY },
      { time: '2025-07-07T11:00:00.000Z', ...eleven },
    ];
    expect(series).toEqual([
      {
        keys: keys({ name: 'quality' }),
        totals: { count: 3, valueCount: 3, mean: 0.5 },
        points: hours(
          { count: 2, valueCount: 2, mean: 0.5 },
          { count: 1, valueCount: 1, mean: 0.5 },
        ),
      },
      {
        keys: keys({ name: 'thumbs' }),
        totals: { count: 3, valueCount: 3, mean: expect.closeTo(2 / 3, 12) },
        points: hours({ count: 2, valueCount: 2, mean: 0.5 }, { count: 1, valueCount: 1, mean: 1 }),
      },
      {
        keys: keys({ name: 'tone' }),
        totals: { count: 2, valueCount: 0, mean: null },
        points: hours(
          { count: 1, valueCount: 0, mean: null },
          { count: 1, valueCount: 0, mean: null },
        ),
      },
    ]);
  });

  it('weeks (day rollups) and a ragged window (the scores themselves at its edges)', async () => {
    const weeks = await scoreMetrics({ g: [], f: { names: ['quality'] } });
    expect(weeks).toEqual([
      {
        keys: keys({}),
        totals: { count: 5, valueCount: 5, mean: expect.closeTo(0.42, 12) },
        points: [
          {
            time: '2025-07-07T00:00:00.000Z',
            count: 4,
            valueCount: 4,
            mean: expect.closeTo(0.625, 12),
          },
          { time: '2025-07-14T00:00:00.000Z', count: 1, valueCount: 1, mean: -0.4 },
        ],
      },
    ]);
    const ragged = await scoreMetrics({
      from: '2025-07-07T09:30:00Z',
      to: '2025-07-08T09:00:00Z',
      i: 'DAY',
      g: [],
    });
    // 09:40 quality 0.8, 09:50 thumbs 0, 11:05 quality 0.5, 11:10 tone, 11:30 thumbs 1; 08T09:00 is `to`.
    expect(ragged).toEqual([
      {
        keys: keys({}),
        totals: { count: 5, valueCount: 4, mean: expect.closeTo(0.575, 12) },
        points: [
          {
            time: '2025-07-07T00:00:00.000Z',
            count: 5,
            valueCount: 4,
            mean: expect.closeTo(0.575, 12),
          },
          { time: '2025-07-08T00:00:00.000Z', ...EMPTY },
        ],
      },
    ]);
  });

  it('minutes read the scores; ungrouped, an empty window still has its zero series', async () => {
    const [minutes] = await scoreMetrics({
      from: '2025-07-07T09:09:00Z',
      to: '2025-07-07T09:12:00Z',
      i: 'MINUTE',
      g: [],
    });
    expect(minutes.points.map((pt: any) => [pt.time.slice(11, 16), pt.count, pt.mean])).toEqual([
      ['09:09', 0, null],
      ['09:10', 1, 0.2],
      ['09:11', 0, null],
    ]);
    const empty = { from: '2025-01-06T00:00:00Z', to: '2025-01-20T00:00:00Z' };
    expect(await scoreMetrics({ ...empty, g: [] })).toEqual([
      {
        keys: keys({}),
        totals: EMPTY,
        points: [
          { time: '2025-01-06T00:00:00.000Z', ...EMPTY },
          { time: '2025-01-13T00:00:00.000Z', ...EMPTY },
        ],
      },
    ]);
    expect(await scoreMetrics(empty)).toEqual([]);
  });

  it('p50 and p95 are within SKETCH_ALPHA of percentile_cont, null without values', async () => {
    const series = await scoreMetrics({}, QUANTILES);
    const exact: Record<string, number[]> = {
      quality: [-0.4, 0.2, 0.5, 0.8, 1],
      thumbs: [0, 1, 1],
    };
    for (const [name, values] of Object.entries(exact)) {
      const s = series.find((x: any) => x.keys.name === name);
      for (const [field, q] of [
        ['p50', 0.5],
        ['p95', 0.95],
      ] as const) {
        const { value, error } = percentileCont(values, q);
        expect([name, field, Math.abs(s.totals[field] - value) <= error]).toEqual([
          name,
          field,
          true,
        ]);
      }
    }
    // Week of the 14th: quality's one value -0.4.
    const quality = series.find((x: any) => x.keys.name === 'quality');
    expect(Math.abs(quality.points[1].p50 + 0.4)).toBeLessThanOrEqual(0.4 * SKETCH_ALPHA);
    const tone = series.find((x: any) => x.keys.name === 'tone');
    expect(tone.totals).toEqual({ p50: null, p95: null });
    expect(tone.points.map((pt: any) => [pt.valueCount, pt.p50, pt.p95])).toEqual([
      [0, null, null],
      [0, null, null],
    ]);
  });
});

/** The exact q-quantile of ascending values (percentile_cont) and how far the sketch may be from it. */
function percentileCont(values: number[], q: number) {
  const rank = q * (values.length - 1);
  const lo = Math.floor(rank);
  const f = rank - lo;
  const low = values[lo];
  const high = values[Math.min(lo + 1, values.length - 1)];
  const error = SKETCH_ALPHA * ((1 - f) * Math.abs(low) + f * Math.abs(high));
  return { value: low + f * (high - low), error: error * (1 + 1e-9) + SIGNED_TINY };
}

describe('groups and filters', () => {
  const totals = (series: any[]) =>
    series.map((s) => [s.keys, s.totals.count, s.totals.valueCount, s.totals.mean]);

  it('by source and data type', async () => {
    expect(totals(await scoreMetrics({ g: ['SOURCE', 'DATA_TYPE'] }))).toEqual([
      [keys({ source: 'ANNOTATION', dataType: 'CATEGORICAL' }), 2, 0, null],
      [keys({ source: 'API', dataType: 'NUMERIC' }), 5, 5, expect.closeTo(0.42, 12)],
      [keys({ source: 'FEEDBACK', dataType: 'BOOLEAN' }), 3, 3, expect.closeTo(2 / 3, 12)],
    ]);
  });

  it('by category, filtered by data type; by name, filtered by name and source', async () => {
    expect(
      totals(await scoreMetrics({ g: ['NAME', 'STRING_VALUE'], f: { dataTypes: ['BOOLEAN'] } })),
    ).toEqual([
      [keys({ name: 'thumbs', stringValue: 'False' }), 1, 1, 0],
      [keys({ name: 'thumbs', stringValue: 'True' }), 2, 2, 1],
    ]);
    expect(
      totals(await scoreMetrics({ f: { names: ['quality', 'tone'], sources: ['ANNOTATION'] } })),
    ).toEqual([[keys({ name: 'tone' }), 2, 0, null]]);
  });
});

describe('limits and rights', () => {
  it('refuses an empty window, too many points, a long filter list, too many points in all', async () => {
    expect(await errorOf({ to: TWO_WEEKS.from })).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['to'],
    });
    expect(await errorOf({ i: 'MINUTE' })).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['interval'],
      message: expect.stringMatching(/^20160 minute buckets is more than 1000 points/),
    });
    const names = Array.from({ length: 101 }, (_, i) => `n${i}`);
    expect(await errorOf({ f: { names } })).toMatchObject({ code: 'BAD_USER_INPUT' });

    // 101 names over 1,000 minutes: 101,000 points, more than 100,000.
    const other = await app.seedProject('many names');
    await createScores(
      other,
      names.map((name) => ({ name, value: 1, timestamp: '2025-06-02T00:00:00.000Z' })),
    );
    const window = { from: '2025-06-02T00:00:00Z', to: '2025-06-02T16:40:00Z', i: 'MINUTE' };
    const res = await app.gql(QUERY, { ...variables(window), p: globalId('Project', other) });
    expect(res.body.errors?.[0]).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT' },
      message: expect.stringMatching(/^101 series of 1000 points is more than 100000 points/),
    });
    const fewer = await app.gql(QUERY, {
      ...variables({ ...window, f: { names: names.slice(0, 100) } }),
      p: globalId('Project', other),
    });
    expect(fewer.body.errors).toBeUndefined();
    expect(fewer.body.data.scoreMetrics).toHaveLength(100);
  });

  it("another project's key gets NOT_FOUND, as a project that does not exist", async () => {
    const elsewhere = await app.seedProject('elsewhere');
    const { key } = await app.seedUser({ role: 'VIEWER', projectId: elsewhere });
    const foreign = await errorOf({}, QUERY, key);
    expect(foreign.code).toBe('NOT_FOUND');
    const missing = await app.gql(QUERY, {
      ...variables({}),
      p: globalId('Project', randomUUID()),
    });
    expect(missing.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(missing.body.errors?.[0].message).toBe(foreign.message);
    const own = await app.gql(
      QUERY,
      { ...variables({}), p: globalId('Project', elsewhere) },
      { key },
    );
    expect(own.body.errors).toBeUndefined();
    expect(own.body.data.scoreMetrics).toEqual([]);
  });
});
