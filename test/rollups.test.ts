// The rollups are exact (issue 20): seeded random spans over three days, sent through
// ingestSpans in many batches with re-sends that update earlier spans, answer costSummary and
// aggregateSpans exactly as a plain SQL aggregation over `spans` does (sums and counts equal,
// quantiles within SKETCH_ALPHA of percentile_cont), for every grouping and for windows with
// ragged and aligned edges; compaction merges rows without changing an answer; a span that moves
// leaves nothing behind in its old group. ROLLUP_SEED repeats a run (failures name the seed).
import { aggregateSpans, type Dimension, type Interval } from '../src/modules/analytics/query';
import { quantile } from '../src/modules/analytics/sketch';
import type { CostGroupBy } from '../src/modules/costs/repo';
import type { Sql } from '../src/storage/db';
import { createTestApp, globalId, type TestApp } from './support/app';
import {
  compactToQuiet,
  costGroups,
  DAY,
  expectRollupsExact,
  expectSameGroups,
  type Group,
  groupKey,
  HOUR,
  money,
  random,
  rawAggregate,
  resent,
  runSeed,
  spanBatches,
  SUMMARY,
  withSeed,
} from './support/rollups';
import { ingest, type SpanJson } from './support/spans';

jest.setTimeout(120_000);

const SEED = runSeed();
const seeded = (fn: () => Promise<void>) => withSeed(SEED, fn);

const FROM = Date.parse('2025-06-09T21:00:00.000Z');
const HOURS = 75; // to 2025-06-13T00:00Z
const D0 = Date.parse('2025-06-10T00:00:00.000Z');

/**
 * Windows by what answers them (analytics/query.ts segments): ragged edges from spans, hours,
 * days. The first two have every grouping; the others the few in SOME_GROUPINGS.
 */
const WINDOWS: [string, number, number][] = [
  [
    'ragged, days inside',
    Date.parse('2025-06-09T21:37:12.345Z'),
    Date.parse('2025-06-12T22:41:07.500Z'),
  ],
  ['whole days', D0, D0 + 2 * DAY],
  ['ragged inside a day', D0 + DAY + 2.5 * HOUR + 500, D0 + DAY + 20.25 * HOUR],
  ['whole hours', D0 + 5 * HOUR, D0 + DAY + 7 * HOUR],
  ['inside one hour', D0 + 3 * HOUR + 600_000, D0 + 3 * HOUR + 3_000_000],
  ['across one hour edge', D0 + 3 * HOUR + 600_000, D0 + 4 * HOUR + 1_200_000],
  ['the whole month', Date.parse('2025-06-01T00:00:00Z'), Date.parse('2025-07-01T00:00:00Z')],
];

/** Every grouping costSummary offers: each key alone, with DAY, with HOUR; none; two pairs. */
const GROUPINGS: CostGroupBy[][] = [
  ...[[], ['MODEL'], ['USER'], ['PROJECT'], ['SPAN_KIND']].flatMap((g) =>
    [[], ['DAY'], ['HOUR']].map((t) => [...g, ...t] as CostGroupBy[]),
  ),
  ['MODEL', 'USER'],
  ['DAY', 'HOUR'],
];
const SOME_GROUPINGS: CostGroupBy[][] = [[], ['MODEL', 'DAY'], ['USER', 'HOUR'], ['PROJECT']];

let app: TestApp;
let sql: Sql;
let main: string;
let second: string;
/** costSummary's answers before compaction (the costSummary test's, or computed again). */
let answers: unknown[] | undefined;

/** Sends batches, two at a time, each accepted whole. */
async function send(projectId: string, batches: SpanJson[][]) {
  const queue = [...batches];
  const sender = async () => {
    for (let batch = queue.shift(); batch; batch = queue.shift()) {
      const res = await resent(() => ingest(app, projectId, batch));
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data.ingestSpans.rejectedCount).toBe(0);
    }
  };
  await Promise.all([sender(), sender()]);
}

beforeAll(async () => {
  app = await createTestApp({
    // The worker leaves compaction to the test (its first pass finds nothing and rests an hour).
    EVALGRAPH_ROLLUP_COMPACT_MS: '3600000',
    // Every answer computed afresh, however many queries the test sends.
    EVALGRAPH_RESPONSE_CACHE: 'false',
    EVALGRAPH_RATE_LIMIT: 'false',
    EVALGRAPH_DEFAULT_MODEL_PRICE: '{"inputPer1M":1.0,"outputPer1M":2.0}',
  });
  sql = app.server.deps.db.query;
  main = app.projectId;
  second = await app.seedProject('rollups b');
  const r = random(SEED);
  const a = spanBatches(r, { prefix: 'a', from: FROM, hours: HOURS, spans: 1_800, batchMax: 100 });
  const b = spanBatches(r, { prefix: 'b', from: FROM, hours: HOURS, spans: 300, batchMax: 60 });
  await Promise.all([send(main, a), send(second, b)]);
});
afterAll(() => app?.close());

/** costSummary through GraphQL, as groups keyed like rawAggregate's. */
async function summary(
  from: number,
  to: number,
  groupBy: CostGroupBy[],
  filter: Record<string, unknown> | null = null,
) {
  const allProjects = groupBy.includes('PROJECT');
  const variables = {
    p: allProjects ? null : globalId('Project', main),
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    g: groupBy,
    f: filter,
  };
  const res = await resent(() => app.gql(SUMMARY, variables));
  expect(res.body.errors).toBeUndefined();
  const rows = res.body.data.costSummary as any[];
  const groups = costGroups(rows, groupBy);
  return { rows, groups, projectIds: allProjects ? [main, second] : [main] };
}

/** The exact answer costSummary must give. */
function rawSummary(
  projectIds: string[],
  from: number,
  to: number,
  groupBy: CostGroupBy[],
  filter: Record<string, string[]> | null = null,
) {
  return rawAggregate(sql, {
    projectIds,
    from: new Date(from),
    to: new Date(to),
    interval: groupBy.includes('HOUR') ? 'HOUR' : groupBy.includes('DAY') ? 'DAY' : null,
    groupBy: groupBy.filter((g) => g !== 'DAY' && g !== 'HOUR') as Dimension[],
    callsOnly: true,
    filter,
  });
}

/** Every grouping over every window, compared with the raw aggregation; returns the answers. */
async function checkEverySummary() {
  const answers: unknown[] = [];
  for (const [i, [name, from, to]] of WINDOWS.entries())
    for (const groupBy of i < 2 ? GROUPINGS : SOME_GROUPINGS) {
      const got = await summary(from, to, groupBy);
      const want = await rawSummary(got.projectIds, from, to, groupBy);
      expectSameGroups(got.groups, want, `${name} by [${groupBy}]`);
      answers.push(got.rows);
    }
  return answers;
}

const FILTERS: Record<string, string[]>[] = [
  { models: ['GPT-4o-Mini', 'claude-3.5-sonnet'] },
  { userIds: ['u1', 'u3'] },
  { spanKinds: ['LLM', 'EMBEDDING'] },
  { models: ['acme-llm-7'], userIds: ['u2'] },
  // Not in the rollups: these read the spans.
  { tags: ['alpha'] },
  { sessionIds: ['s2'], tags: ['beta', 'gamma'] },
];

/** aggregateSpans (what costSummary does not expose), compared with the raw aggregation. */
async function checkAggregates() {
  const cases: {
    groupBy: Dimension[];
    interval: Interval | null;
    callsOnly: boolean;
    filter?: Record<string, string[]>;
    window: [number, number];
  }[] = [];
  const [, rFrom, rTo] = WINDOWS[0];
  const dims: Dimension[][] = [
    ['PROVIDER'],
    ['STATUS'],
    ['PROVIDER', 'STATUS', 'USER'],
    ['MODEL', 'SPAN_KIND'],
    [],
  ];
  for (const groupBy of dims)
    for (const interval of [null, 'DAY'] as const)
      for (const callsOnly of [false, true])
        cases.push({ groupBy, interval, callsOnly, window: [rFrom, rTo] });
  for (const interval of ['HOUR', 'WEEK'] as const)
    cases.push({
      groupBy: ['PROVIDER', 'STATUS'],
      interval,
      callsOnly: false,
      window: [rFrom, rTo],
    });
  const filters: Record<string, string[]>[] = [
    ...FILTERS,
    { providers: ['openai', 'acme'] },
    { statuses: ['ERROR'] },
    { statuses: ['OK', 'UNSET'], spanKinds: ['TOOL', 'CHAIN', 'GENERIC'] },
  ];
  for (const [i, filter] of filters.entries())
    cases.push({
      groupBy: ['PROVIDER', 'STATUS'],
      interval: i % 2 ? 'DAY' : null,
      callsOnly: false,
      filter,
      window: [rFrom, rTo],
    });
  // Minute buckets read the spans.
  cases.push({
    groupBy: ['MODEL'],
    interval: 'MINUTE',
    callsOnly: false,
    window: [WINDOWS[4][1], WINDOWS[4][2]],
  });
  for (const c of cases) {
    const q = {
      projectIds: [main],
      from: new Date(c.window[0]),
      to: new Date(c.window[1]),
      interval: c.interval,
      groupBy: c.groupBy,
      callsOnly: c.callsOnly,
      filter: c.filter ?? null,
    };
    const rows = await aggregateSpans(sql, { ...q, sketch: true, maxRows: 100_000, rollups: true });
    const got: Group[] = rows.map((row) => ({
      key: groupKey(
        row.time?.toISOString() ?? null,
        c.groupBy.map((g) => row.keys[g] ?? null),
      ),
      spans: row.spans,
      errors: row.errors,
      inputTokens: String(row.inputTokens),
      outputTokens: String(row.outputTokens),
      cachedInputTokens: String(row.cachedInputTokens),
      totalTokens: String(row.totalTokens),
      cost: money(row.cost),
      unpriced: row.unpriced,
      defaultPriced: row.defaultPriced,
      p50: quantile(row.latency, 0.5),
      p95: quantile(row.latency, 0.95),
      p99: quantile(row.latency, 0.99),
      sketch: row.latency,
    }));
    const label = `aggregateSpans [${c.groupBy}] ${c.interval} calls=${c.callsOnly} ${JSON.stringify(c.filter ?? {})}`;
    expectSameGroups(got, await rawAggregate(sql, q), label, true);
  }
}

const rollupRows = async () =>
  (await sql<{ n: number }>('SELECT count(*)::int AS n FROM span_rollups'))[0].n;

describe('rollups over random spans', () => {
  it(
    'the stored rows sum to the spans exactly, per grain, bucket and dimension, sketch included',
    seeded(async () => {
      const [updated] = await sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM spans WHERE name = 'sent again'`,
      );
      // The data has what the test is about: updates, several spellings of one model, both projects.
      expect(updated.n).toBeGreaterThan(100);
      const [models] = await sql<{ raw: number; normal: number }>(
        'SELECT count(DISTINCT model)::int AS raw, count(DISTINCT normalized_model)::int AS normal FROM spans',
      );
      expect(models.normal).toBeLessThan(models.raw);
      await expectRollupsExact(sql);
    }),
  );

  it(
    'costSummary equals the raw aggregation for every grouping and window, and with filters',
    seeded(async () => {
      answers = await checkEverySummary();
      const [, from, to] = WINDOWS[0];
      for (const filter of FILTERS) {
        const got = await summary(from, to, ['MODEL', 'DAY'], filter);
        const want = await rawSummary([main], from, to, ['MODEL', 'DAY'], filter);
        expect(want.length).toBeGreaterThan(0);
        expectSameGroups(got.groups, want, `filter ${JSON.stringify(filter)}`);
      }
    }),
  );

  it(
    'aggregateSpans equals the raw aggregation by provider and status, over all spans, with every filter',
    seeded(checkAggregates),
  );

  it(
    'compaction merges the rows to one per group and bucket, and changes no answer',
    seeded(async () => {
      const before = answers ?? (await checkEverySummary());
      const rowsBefore = await rollupRows();
      const { removed, written } = await compactToQuiet(sql);
      expect(removed).toBe(rowsBefore);
      // Merged rows are written once and then added to, pass after pass.
      expect(written).toBeLessThan(removed);
      expect(await rollupRows()).toBeLessThanOrEqual(written);
      const [dupes] = await sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM (SELECT 1 FROM span_rollups
           GROUP BY project_id, by_user, grain, bucket, is_call, model, provider, kind, status, user_id
           HAVING count(*) > 1) d`,
      );
      expect(dupes.n).toBe(0);
      const [zeros] = await sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM span_rollups WHERE spans = 0 AND cardinality(latency_keys) = 0`,
      );
      expect(zeros.n).toBe(0);
      const after = await checkEverySummary();
      expect(after).toEqual(before);
      await expectRollupsExact(sql);
      await checkAggregates();
      // Nothing left to merge: a second pass finds nothing.
      expect(await compactToQuiet(sql)).toEqual({ removed: 0, written: 0 });
    }),
  );
});

describe('a span that moves', () => {
  const DAY1 = D0 + 10.5 * HOUR;
  const DAY2 = D0 + DAY + 11.25 * HOUR;
  const window: [number, number] = [D0 - 7 * HOUR - 1, D0 + 3 * DAY + 1];
  /** The costSummary rows of one model (groupBy MODEL…) or one end user (groupBy USER). */
  const rowOf = async (value: string, groupBy: CostGroupBy[]) =>
    (await summary(window[0], window[1], groupBy)).rows.filter((row: any) =>
      groupBy.includes('USER') ? row.keys.userId === value : row.keys.model === value,
    );

  it(
    'to another day, model and end user leaves no residue in the old groups',
    seeded(async () => {
      const first = {
        traceId: 'mover',
        spanId: 'm1',
        name: 'mover',
        model: 'Residue-A',
        userId: 'residue-user-1',
        startTime: new Date(DAY1).toISOString(),
        endTime: new Date(DAY1 + 512).toISOString(),
        inputTokens: 100,
        outputTokens: 50,
        totalCost: '0.5',
      };
      expect((await resent(() => ingest(app, main, [first]))).body.errors).toBeUndefined();
      await compactToQuiet(sql);
      expect(await rowOf('residue-a', ['MODEL', 'DAY'])).toEqual([
        expect.objectContaining({
          keys: expect.objectContaining({ day: '2025-06-10' }),
          calls: 1,
          cost: '0.5',
          p50LatencyMs: expect.any(Number),
        }),
      ]);
      expect(await rowOf('residue-user-1', ['USER'])).toHaveLength(1);

      const moved = await resent(() =>
        ingest(app, main, [
          {
            traceId: 'mover',
            spanId: 'm1',
            name: 'mover',
            model: 'residue-b',
            userId: 'residue-user-2',
            startTime: new Date(DAY2).toISOString(),
            endTime: new Date(DAY2 + 2_048).toISOString(),
          },
        ]),
      );
      expect(moved.body.errors).toBeUndefined();
      // The old groups are gone from every answer, the new ones have the span whole.
      for (const groupBy of [['MODEL'], ['MODEL', 'DAY'], ['MODEL', 'HOUR']] as CostGroupBy[][])
        expect(await rowOf('residue-a', groupBy)).toEqual([]);
      expect(await rowOf('residue-user-1', ['USER'])).toEqual([]);
      expect(await rowOf('residue-b', ['MODEL', 'DAY'])).toEqual([
        expect.objectContaining({
          keys: expect.objectContaining({ day: '2025-06-11' }),
          calls: 1,
          inputTokens: 100,
          cost: '0.5',
        }),
      ]);
      expect(await rowOf('residue-user-2', ['USER'])).toHaveLength(1);
      // Before compaction the old groups still have rows: what was added and what was taken back.
      const residue = `SELECT count(*)::int AS n, COALESCE(sum(spans), 0)::int AS spans FROM span_rollups
        WHERE model = 'residue-a' OR user_id = 'residue-user-1'`;
      const [partial] = await sql<{ n: number; spans: number }>(residue);
      expect(partial.n).toBeGreaterThan(0);
      expect(partial.spans).toBe(0);
      await compactToQuiet(sql);
      expect((await sql<{ n: number }>(residue))[0].n).toBe(0);
      // The new groups hold one span with one latency (2048 ms): hour and day, by model and by user.
      const rows = await sql<{ spans: string; keys: number[]; counts: string[] }>(
        `SELECT spans::text, latency_keys AS keys, latency_counts::text[] AS counts FROM span_rollups
         WHERE model = 'residue-b' OR user_id = 'residue-user-2'`,
      );
      expect(rows).toHaveLength(4);
      for (const row of rows) {
        expect(row.spans).toBe('1');
        expect(row.keys).toHaveLength(1);
        expect(row.counts).toEqual(['1']);
      }
      await expectRollupsExact(sql);
    }),
  );
});
