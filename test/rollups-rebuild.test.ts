// `evalgraph rollups rebuild` (analytics/rebuild.ts): wrong or missing rollup rows are recomputed
// from the spans, one day per transaction, while ingest goes on; and EVALGRAPH_ROLLUPS=false, where
// ingest writes none and costSummary reads the spans. costSummary is checked against the same
// aggregation written by hand over the raw spans.
import pg from 'pg';
import { rebuildRollups } from '../src/modules/analytics/rebuild';
import { compactRollups, isCallSql } from '../src/modules/analytics/rollup-sql';
import { createTestApp, globalId, type TestApp } from './support/app';
import { ingest, span } from './support/spans';

jest.setTimeout(120_000);

const MODELS = ['gpt-4o-mini', 'claude-3-5-haiku-20241022', 'mystery-model-x'];

/** Spans over three days (2025-09-01 to 03), several hours, models, users and statuses. */
function spansOf(prefix: string, count: number, seed = 1) {
  let x = seed;
  const rnd = (n: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return Math.floor((x / 2147483648) * n);
  };
  return Array.from({ length: count }, (_, i) => {
    const start = Date.UTC(2025, 8, 1 + rnd(3), rnd(24), rnd(60), rnd(60));
    return span({
      traceId: `${prefix}-t${i % 7}`,
      spanId: `${prefix}-${i}`,
      model: MODELS[rnd(MODELS.length)],
      userId: rnd(4) === 0 ? undefined : `user-${rnd(3)}`,
      status: rnd(5) === 0 ? 'ERROR' : 'OK',
      startTime: new Date(start).toISOString(),
      endTime: new Date(start + 100 + rnd(5_000)).toISOString(),
      inputTokens: rnd(5_000),
      outputTokens: rnd(2_000),
    });
  });
}

const FIELDS =
  'keys { model userId day hour } inputTokens outputTokens cost calls unpricedCalls errorRate';

/** What a query groups by beside its time: the rows without the end user, or those by user. */
type By = 'MODEL' | 'USER';

/** costSummary grouped by model or end user and `time` (DAY or HOUR), as the server answers. */
async function summary(
  app: TestApp,
  project: string,
  from: string,
  to: string,
  time: string,
  by: By = 'MODEL',
) {
  const res = await app.gql(
    `query($p: ID!, $from: DateTime!, $to: DateTime!, $g: [CostGroupBy!]) {
      costSummary(projectId: $p, from: $from, to: $to, groupBy: $g) { ${FIELDS} } }`,
    { p: globalId('Project', project), from, to, g: [by, time] },
  );
  expect(res.body.errors).toBeUndefined();
  return sorted(res.body.data.costSummary);
}

/** The same by hand over the raw spans. */
async function raw(
  app: TestApp,
  project: string,
  from: string,
  to: string,
  time: string,
  by: By = 'MODEL',
) {
  const unit = time === 'DAY' ? 'day' : 'hour';
  const rows = await app.server.deps.db.query<Record<string, any>>(
    `SELECT ${by === 'MODEL' ? 's.normalized_model' : 'NULL'} AS model, ${by === 'USER' ? 's.user_id' : 'NULL'} AS "userId",
       date_trunc('${unit}', s.start_time, 'UTC') AS t,
       sum(s.input_tokens)::int AS "inputTokens", sum(s.output_tokens)::int AS "outputTokens",
       CASE WHEN count(s.total_cost) = 0 THEN NULL ELSE trim_scale(sum(s.total_cost))::text END AS cost,
       count(*)::int AS calls, count(*) FILTER (WHERE s.total_cost IS NULL)::int AS "unpricedCalls",
       count(*) FILTER (WHERE s.status = 'ERROR')::int AS errors
     FROM spans s
     WHERE s.project_id = $1::uuid AND s.start_time >= $2::timestamptz AND s.start_time < $3::timestamptz
       AND ${isCallSql('s')}
     GROUP BY 1, 2, 3`,
    [project, from, to],
  );
  return sorted(
    rows.map(({ model, userId, t, errors, ...rest }) => {
      const iso = new Date(t).toISOString();
      return {
        keys: {
          model,
          userId,
          day: time === 'DAY' ? iso.slice(0, 10) : null,
          hour: time === 'HOUR' ? iso : null,
        },
        ...rest,
        errorRate: errors / rest.calls,
      };
    }),
  );
}

const sorted = (rows: any[]) =>
  [...rows].sort((a, b) => JSON.stringify(a.keys).localeCompare(JSON.stringify(b.keys)));

/** Whole days (day rows) and a range of whole hours (hour rows and day rows). */
async function expectExact(app: TestApp, project: string) {
  const days = ['2025-09-01T00:00:00.000Z', '2025-09-04T00:00:00.000Z', 'DAY'] as const;
  const hours = ['2025-09-01T05:00:00.000Z', '2025-09-03T07:00:00.000Z', 'HOUR'] as const;
  for (const by of ['MODEL', 'USER'] as const)
    for (const [from, to, time] of [days, hours]) {
      const ours = await summary(app, project, from, to, time, by);
      expect(ours.length).toBeGreaterThan(5);
      expect(ours).toEqual(await raw(app, project, from, to, time, by));
    }
}

const rollupRows = async (app: TestApp, project: string) =>
  (
    await app.server.deps.db.query<{ n: number; spans: string | null }>(
      `SELECT count(*)::int AS n, sum(spans) FILTER (WHERE grain = 'DAY' AND NOT by_user)::text AS spans
       FROM span_rollups WHERE project_id = $1::uuid`,
      [project],
    )
  )[0];

describe('evalgraph rollups rebuild', () => {
  let app: TestApp;
  let project: string;
  let other: string;

  beforeAll(async () => {
    // Without the response cache: the rows are damaged behind the server's back. The worker's
    // compactor waits an hour: the tests compact when they mean to.
    app = await createTestApp({
      EVALGRAPH_RESPONSE_CACHE: 'false',
      EVALGRAPH_ROLLUP_COMPACT_MS: '3600000',
    });
    project = await app.seedProject('rebuild');
    other = await app.seedProject('left alone');
    for (const [p, name] of [
      [project, 'a'],
      [other, 'o'],
    ]) {
      const res = await ingest(app, p, spansOf(name, 300));
      expect(res.body.errors).toBeUndefined();
    }
  });
  afterAll(() => app.close());

  it('recomputes deleted, altered and stray rows from the spans; other projects keep theirs', async () => {
    await expectExact(app, project);
    const sql = app.server.deps.db.query;
    // Damage of every kind: a day's rows gone, hour rows altered, a row for a day without spans.
    await sql(
      `DELETE FROM span_rollups WHERE project_id = $1::uuid AND grain = 'DAY' AND bucket = '2025-09-02'`,
      [project],
    );
    await sql(
      `UPDATE span_rollups SET cost = cost + 1, spans = spans + 2, input_tokens = input_tokens + 3
       WHERE project_id = $1::uuid AND grain = 'HOUR' AND bucket >= '2025-09-01T05:00:00Z' AND bucket < '2025-09-01T09:00:00Z'`,
      [project],
    );
    await sql(
      `INSERT INTO span_rollups (project_id, by_user, grain, bucket, is_call, model, kind, status, spans, errors,
         input_tokens, output_tokens, cached_input_tokens, total_tokens, cost, priced, unpriced, default_priced)
       VALUES ($1::uuid, false, 'DAY', '2025-09-09', true, 'gpt-4o-mini', 'LLM', 'OK', 5, 0, 1, 1, 0, 2, 1, 5, 0, 0)`,
      [project],
    );
    const before = await summary(
      app,
      project,
      '2025-09-01T00:00:00.000Z',
      '2025-09-04T00:00:00.000Z',
      'DAY',
    );
    expect(before).not.toEqual(
      await raw(app, project, '2025-09-01T00:00:00.000Z', '2025-09-04T00:00:00.000Z', 'DAY'),
    );
    const otherRows = await rollupRows(app, other);

    const result = await rebuildRollups(app.server.deps.db, { projectId: project });
    // 2025-09-01 to 03 and the stray 09: empty days between are visited but not counted.
    expect(result).toMatchObject({ projects: 1, days: 4 });
    expect(result.written).toBeGreaterThan(0);
    await expectExact(app, project);
    expect(
      await sql(
        `SELECT 1 FROM span_rollups WHERE project_id = $1::uuid AND bucket >= '2025-09-04'`,
        [project],
      ),
    ).toEqual([]);
    expect(await rollupRows(app, other)).toEqual(otherRows);
  });

  it('is exact while ingest adds and updates spans of the days it rebuilds', async () => {
    const more = spansOf('b', 400, 7);
    // Re-sent spans of the first batch with other tokens: their contribution moves.
    const resent = spansOf('a', 300)
      .slice(0, 50)
      .map((s) => ({ ...s, inputTokens: 7, outputTokens: 9 }));
    const batches = [more.slice(0, 100), resent, more.slice(100, 250), more.slice(250)];
    const [rebuilt, ...answers] = await Promise.all([
      rebuildRollups(app.server.deps.db, { projectId: project }),
      ...batches.map((b) => ingest(app, project, b)),
    ]);
    for (const res of answers) expect(res.body.errors).toBeUndefined();
    expect(rebuilt).toMatchObject({ projects: 1, days: 3 });
    await expectExact(app, project);
    const { spans } = await rollupRows(app, project);
    const [{ n }] = await app.server.deps.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM spans WHERE project_id = $1::uuid',
      [project],
    );
    expect(Number(spans)).toBe(n);
  });

  it('a compaction that commits while a day is rebuilt makes the day start again, not count twice', async () => {
    expect((await ingest(app, project, spansOf('d', 200, 11))).body.errors).toBeUndefined();
    const { config } = app.server.deps;
    if (config.database.kind !== 'postgres') {
      // One connection: nothing runs beside the rebuild. Compacted rows are rebuilt all the same.
      expect((await compactRollups(app.server.deps.db.query, 1000)).removed).toBeGreaterThan(0);
      await rebuildRollups(app.server.deps.db, { projectId: project });
      return expectExact(app, project);
    }
    // The compactor's statement in a transaction of its own, held open: it has deleted the
    // partial rows of every bucket and written their merge.
    const compactor = new pg.Client({ connectionString: config.database.url });
    await compactor.connect();
    try {
      await compactor.query('BEGIN');
      const sql = async (text: string, params?: unknown[]) =>
        (await compactor.query(text, params)).rows as never;
      expect((await compactRollups(sql, 1000)).removed).toBeGreaterThan(0);
      // The rebuild's snapshot has the partial rows; its DELETE waits for the compactor's.
      const rebuilt = rebuildRollups(app.server.deps.db, { projectId: project });
      for (let waiting = false; !waiting; ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const [row] = await app.server.deps.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%DELETE FROM span_rollups%'`,
        );
        waiting = row.n > 0;
      }
      await compactor.query('COMMIT');
      // The merged rows were not in the rebuild's snapshot: counted again, they would double the day.
      await rebuilt;
    } finally {
      await compactor.end();
    }
    await expectExact(app, project);
  });
});

describe('EVALGRAPH_ROLLUPS=false', () => {
  let app: TestApp;
  afterAll(() => app?.close());

  it('ingest writes no rollups and costSummary reads the spans; a rebuild then fills them', async () => {
    app = await createTestApp({ EVALGRAPH_ROLLUPS: 'false', EVALGRAPH_RESPONSE_CACHE: 'false' });
    const project = await app.seedProject('no rollups');
    const res = await ingest(app, project, spansOf('c', 300, 3));
    expect(res.body.errors).toBeUndefined();
    // Re-sent spans take the update path (upsertSpans) without rollups too.
    const resent = spansOf('c', 300, 3)
      .slice(0, 40)
      .map((s) => ({ ...s, inputTokens: 11, status: 'ERROR' }));
    expect((await ingest(app, project, resent)).body.errors).toBeUndefined();
    expect(await rollupRows(app, project)).toEqual({ n: 0, spans: null });
    await expectExact(app, project);

    const result = await rebuildRollups(app.server.deps.db);
    expect(result.projects).toBeGreaterThanOrEqual(2); // the init project has no spans
    expect(result.days).toBe(3);
    expect(Number((await rollupRows(app, project)).spans)).toBe(300);
  });
});
