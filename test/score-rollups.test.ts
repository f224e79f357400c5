// score_rollups against the scores themselves, on randomised scores written, updated (by client
// id, some batches at once) and deleted through the API: the rollup rows hold exactly the counts,
// sums and sketch keys of the stored scores per bucket and group; aggregateScores gives exact
// counts, sums and means and quantiles within the sketch's error, for ragged and whole windows
// at every interval; compaction and the migration's backfill change none of it.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { aggregateScores, type ScoreDimension } from '../src/modules/analytics/score-query';
import { compactRollups } from '../src/modules/analytics/rollup-sql';
import { SCORE_ROLLUPS } from '../src/modules/analytics/score-rollup-sql';
import { SIGNED_TINY, SKETCH_ALPHA } from '../src/modules/analytics/sketch';
import type { Interval } from '../src/modules/analytics/query';
import { createTestApp, globalId, type TestApp } from './support/app';

jest.setTimeout(240_000);

let app: TestApp;
let projectId: string;
let p: string;
let sql: TestApp['server']['deps']['db']['query'];

const START = Date.UTC(2026, 2, 1);
const SPAN_MS = 3 * 24 * 3_600_000;

// A seeded generator (mulberry32): a failure replays.
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = random(20);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];

/** A value of any sign and size, 0 and values within SIGNED_TINY of it included. */
function numeric(): number {
  switch (Math.floor(rnd() * 8)) {
    case 0:
      return 0;
    case 1:
      return (rnd() - 0.5) * 1e-11;
    case 2:
      return -rnd() * 1e-3;
    case 3:
      return Math.round((rnd() - 0.5) * 2_000_000) / 1000;
    case 4:
      return (rnd() - 0.3) * 1e12;
    case 5:
      return Math.floor(rnd() * 10);
    default:
      return rnd();
  }
}

const SOURCES = ['API', 'FEEDBACK', 'ANNOTATION'] as const;

/** A random score input (with `clientId` and `source` fixed when given). */
function score(clientId: string | null, source: string = pick(SOURCES)) {
  const timestamp = new Date(START + Math.floor(rnd() * SPAN_MS)).toISOString();
  const base = { sessionId: `s${Math.floor(rnd() * 5)}`, source, timestamp, clientId };
  switch (Math.floor(rnd() * 4)) {
    case 0:
      return { ...base, name: 'thumbs', dataType: 'BOOLEAN', value: rnd() < 0.6 ? 1 : 0 };
    case 1:
      return { ...base, name: 'tone', stringValue: pick(['good', 'bad', 'meh']) };
    default:
      return { ...base, name: pick(['quality', 'delta']), value: numeric() };
  }
}

const CREATE = `mutation($input: CreateScoresInput!) { createScores(input: $input) {
  acceptedCount rejectedCount scores { id clientId source } } }`;

async function create(scores: Record<string, unknown>[], partial = false) {
  const res = await app.gql(CREATE, { input: { projectId: p, scores, partial } });
  expect(res.body.errors).toBeUndefined();
  return res.body.data.createScores as {
    acceptedCount: number;
    rejectedCount: number;
    scores: { id: string; clientId: string | null; source: string }[];
  };
}

const ids: string[] = [];
const sourceOf = new Map<string, string>();

beforeAll(async () => {
  // No compactor pass of its own during the test: the test runs it (and sees partial rows first).
  app = await createTestApp({ EVALGRAPH_ROLLUP_COMPACT_MS: '3600000' });
  projectId = await app.seedProject('score rollups');
  p = globalId('Project', projectId);
  sql = app.server.deps.db.query;

  // 600 scores, half with client ids.
  for (let b = 0; b < 6; b++) {
    const batch = Array.from({ length: 100 }, (_, i) =>
      score(i % 2 === 0 ? `c${b * 100 + i}` : null),
    );
    const out = await create(batch);
    expect(out.acceptedCount).toBe(100);
    for (const s of out.scores) {
      ids.push(s.id);
      if (s.clientId) sourceOf.set(s.clientId, s.source);
    }
  }
  const clientIds = [...sourceOf.keys()];
  // Updates by client id, two batches at a time sharing some ids (the last one to commit wins;
  // the rollups must follow either way), each moving scores across buckets, names and types.
  for (let round = 0; round < 3; round++) {
    const shared = Array.from({ length: 20 }, () => pick(clientIds));
    const batch = () =>
      [...new Set([...shared, ...Array.from({ length: 40 }, () => pick(clientIds))])].map((c) =>
        score(c, sourceOf.get(c)),
      );
    const outs = await Promise.all([create(batch()), create(batch())]);
    for (const out of outs) expect(out.rejectedCount).toBe(0);
  }
  // New client ids sent by two batches at once: one inserts, the other updates what it inserted.
  for (let round = 0; round < 2; round++) {
    const fresh = Array.from({ length: 30 }, (_, i) => `n${round}-${i}`);
    const outs = await Promise.all([
      create(fresh.map((c) => score(c, 'API'))),
      create(fresh.map((c) => score(c, 'API'))),
    ]);
    for (const out of outs) expect(out.rejectedCount).toBe(0);
    for (const c of fresh) sourceOf.set(c, 'API');
    ids.push(...outs[0].scores.map((s) => s.id));
  }
  // A client id under another source is refused and changes nothing.
  const taken = clientIds[0];
  const other = SOURCES.find((s) => s !== sourceOf.get(taken))!;
  const refused = await create([score(taken, other), score(null)], true);
  expect(refused).toMatchObject({ acceptedCount: 1, rejectedCount: 1 });
  ids.push(refused.scores[0].id);
  // Deletions.
  for (const id of ids.filter(() => rnd() < 0.15)) {
    const res = await app.gql(
      `mutation($input: DeleteScoreInput!) { deleteScore(input: $input) { deletedScoreId } }`,
      { input: { id } },
    );
    expect(res.body.errors).toBeUndefined();
  }
});
afterAll(() => app.close());

// string_value is null for NUMERIC scores: joined as '<null>' (USING compares with =).

/** Rows of the rollups that differ from the scores, per grain, bucket and group: none expected. */
async function rollupMismatches() {
  return sql(
    `WITH raw AS (
       SELECT g.grain, date_trunc(g.unit, s.scored_at, 'UTC') AS bucket, s.name, s.source, s.data_type,
         COALESCE(s.string_value, '<null>') AS string_value, count(*) AS n, count(s.value) AS nv, COALESCE(sum(s.value::numeric), 0) AS total
       FROM scores s CROSS JOIN (VALUES ('HOUR'::"RollupGrain", 'hour'), ('DAY'::"RollupGrain", 'day')) g(grain, unit)
       WHERE s.project_id = $1::uuid GROUP BY 1, 2, 3, 4, 5, 6),
     rolled AS (
       SELECT grain, bucket, name, source, data_type, COALESCE(string_value, '<null>') AS string_value, sum(scores) AS n, sum(with_value) AS nv,
         sum(value_sum) AS total
       FROM score_rollups WHERE project_id = $1::uuid GROUP BY 1, 2, 3, 4, 5, 6)
     SELECT * FROM raw FULL JOIN rolled r USING (grain, bucket, name, source, data_type, string_value)
     -- A group whose scores all went leaves zeros until compaction: the same as no row.
     WHERE COALESCE(raw.n, 0) <> COALESCE(r.n, 0) OR COALESCE(raw.nv, 0) <> COALESCE(r.nv, 0)
       OR COALESCE(raw.total, 0) <> COALESCE(r.total, 0)`,
    [projectId],
  );
}

/** Sketch keys whose counts in the rollups differ from those of the scores' values: none expected. */
async function sketchMismatches() {
  const { signedKeySql } = await import('../src/modules/analytics/sketch');
  return sql(
    `WITH raw AS (
       SELECT g.grain, date_trunc(g.unit, s.scored_at, 'UTC') AS bucket, s.name, s.source, s.data_type,
         COALESCE(s.string_value, '<null>') AS string_value, ${signedKeySql('s.value')} AS k, count(*) AS n
       FROM scores s CROSS JOIN (VALUES ('HOUR'::"RollupGrain", 'hour'), ('DAY'::"RollupGrain", 'day')) g(grain, unit)
       WHERE s.project_id = $1::uuid AND s.value IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7),
     rolled AS (
       SELECT grain, bucket, name, source, data_type, COALESCE(string_value, '<null>') AS string_value, u.k, sum(u.n) AS n
       FROM score_rollups CROSS JOIN LATERAL unnest(value_keys, value_counts) AS u(k, n)
       WHERE project_id = $1::uuid GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(u.n) <> 0)
     SELECT * FROM raw FULL JOIN rolled r USING (grain, bucket, name, source, data_type, string_value, k)
     WHERE raw.n IS DISTINCT FROM r.n`,
    [projectId],
  );
}

const UNIT: Record<Interval, string> = { MINUTE: 'minute', HOUR: 'hour', DAY: 'day', WEEK: 'week' };
const COLUMN: Record<ScoreDimension, string> = {
  NAME: 'name',
  SOURCE: 'source::text',
  DATA_TYPE: 'data_type::text',
  STRING_VALUE: 'string_value',
  PROJECT: 'project_id::text',
};

interface Query {
  from: string;
  to: string;
  interval: Interval | null;
  groupBy: ScoreDimension[];
  names?: string[];
}

/** The same aggregation by hand over the scores. */
async function exact(q: Query) {
  const keys = [
    ...(q.interval ? [`date_trunc('${UNIT[q.interval]}', scored_at, 'UTC')`] : []),
    ...q.groupBy.map((g) => COLUMN[g]),
  ];
  const rows = await sql<Record<string, unknown>>(
    `SELECT ${[...keys.map((k, i) => `${k} AS k${i}`), ''].join(', ')} count(*)::int AS n,
       count(value)::int AS nv, sum(value::numeric)::text AS total,
       COALESCE(array_agg(value ORDER BY value) FILTER (WHERE value IS NOT NULL), '{}') AS vals
     FROM scores WHERE project_id = $1::uuid AND scored_at >= $2::timestamptz AND scored_at < $3::timestamptz
       AND ($4::text[] IS NULL OR name = ANY($4::text[]))
     ${keys.length ? `GROUP BY ${keys.map((_, i) => i + 1).join(', ')}` : ''}`,
    [projectId, q.from, q.to, q.names ?? null],
  );
  return new Map(
    rows.map((r) => [
      JSON.stringify(
        keys.map((_, i) =>
          r[`k${i}`] instanceof Date
            ? (r[`k${i}`] as Date).toISOString()
            : r[`k${i}`] === null
              ? null
              : String(r[`k${i}`]),
        ),
      ),
      r,
    ]),
  );
}

/** A numeric's text without trailing zeros after the point (sums of the same values may differ in scale). */
const plain = (s: string | null) => (s?.includes('.') ? s.replace(/\.?0+$/, '') : s);

/** The exact q-quantile of ascending values (percentile_cont) and how far the sketch may be from it. */
function bound(values: number[], q: number) {
  const rank = q * (values.length - 1);
  const lo = Math.floor(rank);
  const f = rank - lo;
  const low = values[lo];
  const high = values[Math.min(lo + 1, values.length - 1)];
  const value = low + f * (high - low);
  const error = SKETCH_ALPHA * ((1 - f) * Math.abs(low) + f * Math.abs(high));
  return { value, error: error * (1 + 1e-9) + SIGNED_TINY };
}

async function check(q: Query) {
  const expected = await exact(q);
  const rows = await aggregateScores(sql, {
    projectIds: [projectId],
    from: new Date(q.from),
    to: new Date(q.to),
    interval: q.interval,
    groupBy: q.groupBy,
    filter: q.names ? { names: q.names } : null,
    sketch: true,
    maxRows: 100_000,
  });
  expect(rows.length).toBe(expected.size);
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) {
    const key = JSON.stringify([
      ...(q.interval ? [row.time!.toISOString()] : []),
      ...q.groupBy.map((g) => row.keys[g] ?? null),
    ]);
    const want = expected.get(key);
    expect({ key, found: Boolean(want) }).toEqual({ key, found: true });
    expect([key, row.count, row.valueCount, plain(row.valueSum)]).toEqual([
      key,
      want!.n,
      want!.nv,
      plain(want!.total as string | null),
    ]);
    const values = (want!.vals as unknown[]).map(Number);
    if (!values.length) {
      expect([row.mean, row.p50, row.p95]).toEqual([null, null, null]);
      continue;
    }
    const mean = Number(want!.total) / values.length;
    expect(Math.abs(row.mean! - mean)).toBeLessThanOrEqual(Math.abs(mean) * 1e-12 + 1e-300);
    for (const [quantile, got] of [
      [0.5, row.p50],
      [0.95, row.p95],
    ] as const) {
      const { value, error } = bound(values, quantile);
      expect({ key, quantile, off: Math.abs(got! - value) <= error }).toEqual({
        key,
        quantile,
        off: true,
      });
    }
  }
}

const QUERIES: Query[] = [
  // Ragged at both ends: raw edges, hour rows, day rows.
  {
    from: '2026-03-01T05:17:23.456Z',
    to: '2026-03-03T19:42:00.001Z',
    interval: null,
    groupBy: ['NAME', 'SOURCE'],
  },
  {
    from: '2026-03-01T05:17:23.456Z',
    to: '2026-03-03T19:42:00.001Z',
    interval: 'HOUR',
    groupBy: ['NAME', 'SOURCE'],
  },
  {
    from: '2026-03-01T05:17:23.456Z',
    to: '2026-03-03T19:42:00.001Z',
    interval: 'DAY',
    groupBy: ['NAME', 'SOURCE', 'DATA_TYPE', 'STRING_VALUE'],
  },
  { from: '2026-02-20T00:00:00Z', to: '2026-03-10T00:00:00Z', interval: 'WEEK', groupBy: ['NAME'] },
  {
    from: '2026-03-01T00:00:00Z',
    to: '2026-03-04T00:00:00Z',
    interval: 'DAY',
    groupBy: ['NAME', 'SOURCE'],
    names: ['quality', 'delta'],
  },
  {
    from: '2026-03-02T10:00:00Z',
    to: '2026-03-02T13:30:00Z',
    interval: 'MINUTE',
    groupBy: ['NAME'],
  },
  { from: '2026-03-01T00:00:00Z', to: '2026-03-04T00:00:00Z', interval: null, groupBy: [] },
];

it('hold exactly the counts, sums and sketch keys of the stored scores after writes, updates and deletions', async () => {
  expect(await rollupMismatches()).toEqual([]);
  expect(await sketchMismatches()).toEqual([]);
  // The data covers what the test means to: negative, zero, tiny and fractional values, categories.
  const [seen] = await sql<Record<string, number>>(
    `SELECT count(*) FILTER (WHERE value < 0)::int AS negative, count(*) FILTER (WHERE value = 0)::int AS zero,
       count(*) FILTER (WHERE value <> 0 AND abs(value) <= 1e-9)::int AS tiny,
       count(*) FILTER (WHERE value <> trunc(value))::int AS fractional,
       count(*) FILTER (WHERE data_type = 'CATEGORICAL')::int AS categorical,
       count(*) FILTER (WHERE updated_at > created_at)::int AS updated
     FROM scores WHERE project_id = $1::uuid`,
    [projectId],
  );
  for (const n of Object.values(seen)) expect(n).toBeGreaterThan(0);
});

it.each(
  QUERIES.map((q) => [
    `${q.interval ?? 'no'} interval by ${q.groupBy.join(', ') || 'nothing'}${q.names ? ' (names)' : ''}`,
    q,
  ]),
)(
  'aggregateScores: exact counts, sums and means, quantiles within the sketch error (%s)',
  async (_, q) => {
    await check(q as Query);
  },
);

it('compaction merges partial rows and changes no answer', async () => {
  const ask = () =>
    aggregateScores(sql, {
      projectIds: [projectId],
      from: new Date('2026-03-01T05:17:23.456Z'),
      to: new Date('2026-03-03T19:42:00.001Z'),
      interval: 'HOUR',
      groupBy: ['NAME', 'SOURCE', 'STRING_VALUE'],
      sketch: true,
      maxRows: 100_000,
    });
  const before = await ask();
  const count = async () =>
    (
      await sql<{ n: number; partial: number }>(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE NOT compacted)::int AS partial
         FROM score_rollups WHERE project_id = $1::uuid`,
        [projectId],
      )
    )[0];
  const rowsBefore = await count();
  expect(rowsBefore.partial).toBeGreaterThan(0);
  for (;;) {
    const { removed } = await compactRollups(sql, 50, SCORE_ROLLUPS);
    if (removed === 0) break;
  }
  const rowsAfter = await count();
  expect(rowsAfter.partial).toBe(0);
  expect(rowsAfter.n).toBeLessThan(rowsBefore.n);
  expect(await ask()).toEqual(before);
  expect(await rollupMismatches()).toEqual([]);
  expect(await sketchMismatches()).toEqual([]);
  for (const q of QUERIES.slice(0, 3)) await check(q);

  // Writes after compaction add partial rows again, still exact.
  const more = await create(Array.from({ length: 30 }, () => score(null)));
  expect(more.acceptedCount).toBe(30);
  expect(await rollupMismatches()).toEqual([]);
});

it("the migration's backfill builds the same rollups from stored scores", async () => {
  const dir = path.join(__dirname, '..', 'prisma', 'migrations');
  const migration = readdirSync(dir).find((d) => d.endsWith('_score_rollups'))!;
  const text = readFileSync(path.join(dir, migration, 'migration.sql'), 'utf8');
  const backfill = text.slice(text.indexOf('INSERT INTO score_rollups'));
  await sql('DELETE FROM score_rollups');
  await sql(backfill);
  const [{ n }] = await sql<{ n: number }>(
    'SELECT count(*)::int AS n FROM score_rollups WHERE project_id = $1::uuid',
    [projectId],
  );
  expect(n).toBeGreaterThan(0);
  expect(await rollupMismatches()).toEqual([]);
  expect(await sketchMismatches()).toEqual([]);
  await check(QUERIES[2]);
});
