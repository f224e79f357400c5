// Retention: setProjectRetention, and the worker's pass deleting by the business clock what is past
// each project's retention (its own, else EVALGRAPH_RETENTION_DAYS), with or without the rollups
// keeping what it deleted.
import { createTestApp, globalId, type TestApp } from './support/app';
import { createEvaluation, waitFor } from './support/evaluations';
import { ingest, span } from './support/spans';

const DAY = 86_400_000;
/** Whole UTC days, so the analytics below read rollups only (raw spans serve ragged edges). */
const TODAY = Math.floor(Date.now() / DAY) * DAY;
const OLD_DAY = TODAY - 10 * DAY;
const OLD = new Date(OLD_DAY + 12 * 3_600_000).toISOString();
const RECENT = new Date(TODAY - DAY + 12 * 3_600_000).toISOString();
/** Ages of OLD and RECENT when the clock is moved ahead by `days` (within a day): OLD ≈ days + 10. */
const ahead = (days: number) => () => new Date(Date.now() + days * DAY);

const SET = `mutation($input: SetProjectRetentionInput!) { setProjectRetention(input: $input) {
  project { retention { traceDays effectiveTraceDays evaluationDays keepAggregates } } } }`;
const COSTS = `query($p: ID!, $from: DateTime!, $to: DateTime!) {
  costSummary(projectId: $p, from: $from, to: $to) { calls cost } }`;
const METRICS = `query($p: ID!, $from: DateTime!, $to: DateTime!) {
  metrics(projectId: $p, from: $from, to: $to, interval: DAY) { totals { calls } } }`;
const SCORE_METRICS = `query($p: ID!, $from: DateTime!, $to: DateTime!) {
  scoreMetrics(projectId: $p, from: $from, to: $to, interval: DAY) { totals { count } } }`;
const SCORE = `mutation($input: CreateScoreInput!) { createScore(input: $input) { score { id } } }`;

let app: TestApp;
const P = (id: string) => globalId('Project', id);

beforeAll(async () => {
  app = await createTestApp({
    EVALGRAPH_RETENTION_DAYS: '60',
    // The worker's own passes rest (their first, at start, finds nothing): the test runs passes.
    EVALGRAPH_RETENTION_MS: '86400000',
  });
});
afterAll(() => app.close());

const set = (input: Record<string, unknown>, key?: string) =>
  app.gql(SET, { input: { keepAggregates: true, ...input } }, { key });

const query = (sql: string, params: unknown[]) => app.server.deps.db.query<any>(sql, params);
const count = async (table: string, projectId: string) =>
  (
    await query(`SELECT count(*)::int AS n FROM ${table} WHERE project_id = $1::uuid`, [projectId])
  )[0].n as number;
const traces = async (projectId: string) =>
  (
    await query(`SELECT external_id FROM traces WHERE project_id = $1::uuid ORDER BY 1`, [
      projectId,
    ])
  ).map((r: { external_id: string }) => r.external_id);

/** An old trace (two priced spans, a score), a recent one, an old and a recent session score. */
async function seed(projectId: string) {
  const priced = (over: Record<string, unknown> & { traceId: string }) =>
    span({ model: 'gpt-4o-mini', inputTokens: 1_000, outputTokens: 100, ...over });
  const res = await ingest(app, projectId, [
    priced({ traceId: 'old', startTime: OLD, totalCost: '1.5' }),
    priced({ traceId: 'old', startTime: OLD, totalCost: '2.25' }),
    priced({ traceId: 'recent', startTime: RECENT, totalCost: '4' }),
  ]);
  expect(res.body.data.ingestSpans.acceptedCount).toBe(3);
  for (const input of [
    { traceExternalId: 'old', name: 'q', value: 1, timestamp: OLD },
    { sessionId: 'sess', name: 'q', value: 0.5, timestamp: OLD },
    { sessionId: 'sess', name: 'q', value: 0.25, timestamp: RECENT },
  ]) {
    const made = await app.gql(SCORE, { input: { projectId: P(projectId), ...input } });
    expect(made.body.errors).toBeUndefined();
  }
}

const analytics = async (projectId: string, from: number, to: number) => {
  const v = { p: P(projectId), from: new Date(from).toISOString(), to: new Date(to).toISOString() };
  const [costs, metrics, scores] = await Promise.all([
    app.gql(COSTS, v),
    app.gql(METRICS, v),
    app.gql(SCORE_METRICS, v),
  ]);
  for (const r of [costs, metrics, scores]) expect(r.body.errors).toBeUndefined();
  const row = costs.body.data.costSummary[0];
  return {
    calls: row?.calls ?? 0,
    cost: row?.cost == null ? null : Number(row.cost),
    metricCalls: metrics.body.data.metrics.reduce(
      (n: number, s: { totals: { calls: number } }) => n + s.totals.calls,
      0,
    ),
    scores: scores.body.data.scoreMetrics.reduce(
      (n: number, s: { totals: { count: number } }) => n + s.totals.count,
      0,
    ),
  };
};

/** Runs one pass to the end with the business clock at `now`. */
async function passAt(now: () => Date) {
  const { deps, services } = app.server;
  const real = deps.clock.now;
  deps.clock.now = now;
  try {
    return await services.retention.pass(Infinity);
  } finally {
    deps.clock.now = real;
  }
}

describe('setProjectRetention', () => {
  it('sets and answers the retention, with the instance default in effect when unset, and audits it', async () => {
    const p = await app.seedProject();
    const before = await app.gql(
      `query($p: ID!) { project(id: $p) { retention { traceDays effectiveTraceDays evaluationDays keepAggregates } } }`,
      { p: P(p) },
    );
    expect(before.body.data.project.retention).toEqual({
      traceDays: null,
      effectiveTraceDays: 60,
      evaluationDays: null,
      keepAggregates: true,
    });
    const res = await set({
      projectId: P(p),
      traceDays: 7,
      evaluationDays: 90,
      keepAggregates: false,
    });
    expect(res.body.data.setProjectRetention.project.retention).toEqual({
      traceDays: 7,
      effectiveTraceDays: 7,
      evaluationDays: 90,
      keepAggregates: false,
    });
    const [entry] = await query(
      `SELECT details FROM audit_entries WHERE project_id = $1::uuid AND action = 'project.retention'`,
      [p],
    );
    expect(entry.details).toEqual({
      before: {
        traceDays: null,
        effectiveTraceDays: 60,
        evaluationDays: null,
        keepAggregates: true,
      },
      after: { traceDays: 7, effectiveTraceDays: 7, evaluationDays: 90, keepAggregates: false },
    });
    // Null puts a field back to its default.
    const back = await set({ projectId: P(p), traceDays: null });
    expect(back.body.data.setProjectRetention.project.retention).toEqual({
      traceDays: null,
      effectiveTraceDays: 60,
      evaluationDays: null,
      keepAggregates: true,
    });
  });

  it('refuses 0 and more than 36500 days with BAD_USER_INPUT naming the field', async () => {
    const p = await app.seedProject();
    for (const [field, value] of [
      ['traceDays', 0],
      ['traceDays', 36_501],
      ['evaluationDays', 0],
      ['evaluationDays', 36_501],
    ] as const) {
      const res = await set({ projectId: P(p), [field]: value });
      expect([
        field,
        value,
        res.body.errors?.[0].extensions?.code,
        res.body.errors?.[0].extensions?.path,
      ]).toEqual([field, value, 'BAD_USER_INPUT', ['input', field]]);
    }
    const ok = await set({ projectId: P(p), traceDays: 36_500, evaluationDays: 1 });
    expect(ok.body.errors).toBeUndefined();
  });

  it("needs the project's ADMIN role: a VIEWER is FORBIDDEN, another project's admin NOT_FOUND", async () => {
    const p = await app.seedProject();
    const other = await app.seedProject();
    const viewer = await app.seedUser({ role: 'VIEWER', projectId: p });
    const stranger = await app.seedUser({ role: 'ADMIN', projectId: other });
    const code = async (key: string) =>
      (await set({ projectId: P(p), traceDays: 1 }, key)).body.errors?.[0].extensions?.code;
    expect(await code(viewer.key)).toBe('FORBIDDEN');
    expect(await code(stranger.key)).toBe('NOT_FOUND');
    const [row] = await query(`SELECT trace_retention_days FROM projects WHERE id = $1::uuid`, [p]);
    expect(row.trace_retention_days).toBeNull();
  });
});

describe('the retention pass', () => {
  let kept: string;
  let dropped: string;
  let byDefault: string;
  let deleted: string;
  let evaluations: string;
  const window = [OLD_DAY, TODAY] as const;

  beforeAll(async () => {
    kept = await app.seedProject('keeps aggregates');
    dropped = await app.seedProject('drops aggregates');
    byDefault = await app.seedProject('instance default');
    deleted = await app.seedProject('deleted');
    evaluations = await app.seedProject('evaluations');
    for (const p of [kept, dropped, byDefault, deleted]) await seed(p);
    for (const p of [kept, deleted])
      expect((await set({ projectId: P(p), traceDays: 30 })).body.errors).toBeUndefined();
    expect(
      (await set({ projectId: P(dropped), traceDays: 30, keepAggregates: false })).body.errors,
    ).toBeUndefined();
    expect(
      (await set({ projectId: P(evaluations), evaluationDays: 30 })).body.errors,
    ).toBeUndefined();
    await query(`UPDATE projects SET deleted_at = now() WHERE id = $1::uuid`, [deleted]);
  });

  it('deletes nothing while nothing is past its retention', async () => {
    expect(await passAt(ahead(0))).toBe(0);
    expect(await traces(kept)).toEqual(['old', 'recent']);
  });

  it('keepAggregates: the old traces, spans and scores go, the analytics of their days stay', async () => {
    const before = await analytics(kept, ...window);
    expect(before).toEqual({ calls: 3, cost: 7.75, metricCalls: 3, scores: 3 });
    expect(await passAt(ahead(25))).toBeGreaterThan(0);
    expect(await traces(kept)).toEqual(['recent']);
    expect(await count('spans', kept)).toBe(1);
    const scores = await query(
      `SELECT value FROM scores WHERE project_id = $1::uuid ORDER BY value`,
      [kept],
    );
    expect(scores.map((s: { value: number }) => s.value)).toEqual([0.25]);
    expect(await analytics(kept, ...window)).toEqual(before);
  });

  it("keepAggregates false: the analytics drop by exactly the deleted spans' and scores' amounts", async () => {
    // The pass above ran over every project: this one's old rows went with it.
    expect(await traces(dropped)).toEqual(['recent']);
    expect(await count('spans', dropped)).toBe(1);
    expect(await analytics(dropped, ...window)).toEqual({
      calls: 1,
      cost: 4,
      metricCalls: 1,
      scores: 1,
    });
    expect(await analytics(dropped, OLD_DAY, OLD_DAY + DAY)).toEqual({
      calls: 0,
      cost: null,
      metricCalls: 0,
      scores: 0,
    });
  });

  it('the instance default applies to a project without its own; a deleted project is skipped', async () => {
    // 35 days on: within the default of 60.
    expect(await traces(byDefault)).toEqual(['old', 'recent']);
    expect(await count('scores', byDefault)).toBe(3);
    await passAt(ahead(55));
    expect(await traces(byDefault)).toEqual(['recent']);
    expect(await count('scores', byDefault)).toBe(1);
    // Its deleted_at set: left to the project's deletion, whatever its age.
    expect(await traces(deleted)).toEqual(['old', 'recent']);
    expect(await count('spans', deleted)).toBe(3);
    expect(await count('scores', deleted)).toBe(3);
  });

  it('deletes finished evaluations past evaluationDays with their items, results and item scores', async () => {
    const criteria = [{ type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'a' }];
    const ids: string[] = [];
    for (const name of ['old', 'new']) {
      const id = await createEvaluation(app, criteria, [{ input: 'q', output: 'a' }], {
        projectId: evaluations,
        name,
      });
      await waitFor(app, id);
      ids.push(Buffer.from(id, 'base64').toString().split(':')[1]);
    }
    for (const id of ids) {
      const [item] = await query(
        `SELECT id::text FROM evaluation_items WHERE evaluation_id = $1::uuid`,
        [id],
      );
      const made = await app.gql(SCORE, {
        input: { projectId: P(evaluations), evaluationItemId: item.id, name: 'reviewed', value: 1 },
      });
      expect(made.body.errors).toBeUndefined();
    }
    await query(
      `UPDATE evaluations SET created_at = created_at - interval '10 days' WHERE id = $1::uuid`,
      [ids[0]],
    );
    // Whole days around now (the scores were given now), across a midnight too.
    const scoreWindow = [TODAY - DAY, TODAY + 2 * DAY] as const;
    expect((await analytics(evaluations, ...scoreWindow)).scores).toBe(2);
    // 25 days on: the old one is 35 days old, the new one 25.
    expect(await passAt(ahead(25))).toBeGreaterThan(0);
    const left = await query(`SELECT name FROM evaluations WHERE project_id = $1::uuid`, [
      evaluations,
    ]);
    expect(left).toEqual([{ name: 'new' }]);
    const [gone] = await query(
      `SELECT (SELECT count(*)::int FROM evaluation_items WHERE evaluation_id = $1::uuid) AS items,
         (SELECT count(*)::int FROM evaluation_results WHERE evaluation_id = $1::uuid) AS results`,
      [ids[0]],
    );
    expect(gone).toEqual({ items: 0, results: 0 });
    expect(await count('scores', evaluations)).toBe(1);
    // keepAggregates (the default) keeps the old evaluation's item score in the score rollups.
    expect((await analytics(evaluations, ...scoreWindow)).scores).toBe(2);
  });
});
