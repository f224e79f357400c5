// Deleting trace data (issue 21): deleteTraces by ids and by filter, deleteEndUserData (GDPR
// erasure), and the data job behind both. What a call deleted is gone from queries, cached
// answers, rollups and exports when it answers; a job taken over from a holder whose lease
// expired finishes, and the late holder writes nothing.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { expectRollupsExact } from './support/rollups';
import { ingest, span } from './support/spans';
import { createTestApp, globalId, type TestApp } from './support/app';
import { readUntilCached } from './support/cache';

let app: TestApp;
let sql: TestApp['server']['deps']['db']['query'];
const P = (id: string) => globalId('Project', id);
const T = '2026-03-01T10:00:00.000Z';

beforeAll(async () => {
  app = await createTestApp();
  sql = app.server.deps.db.query;
}, 60_000);
afterAll(() => app?.close());

async function ok(query: string, variables: Record<string, unknown> = {}, key = app.adminKey) {
  const res = await app.gql(query, variables, { key });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data;
}

/** Three traces per end user (u1, u2), each a priced LLM span and a tool span, in session s-<user>. */
async function seed(projectId: string) {
  const spans = [];
  for (const user of ['u1', 'u2'])
    for (let i = 0; i < 3; i++) {
      const traceId = `${user}-t${i}`;
      spans.push(
        span({
          traceId,
          spanId: `${traceId}-llm`,
          kind: 'LLM',
          model: 'gpt-4o',
          startTime: T,
          endTime: '2026-03-01T10:00:01.000Z',
          userId: user,
          sessionId: `s-${user}`,
          input: `question of ${user}`,
          output: 'answer',
          inputTokens: 100,
          outputTokens: 20,
        }),
        span({
          traceId,
          spanId: `${traceId}-tool`,
          kind: 'TOOL',
          startTime: T,
          userId: user,
          sessionId: `s-${user}`,
        }),
      );
    }
  const res = await ingest(app, projectId, spans);
  expect(res.body.errors).toBeUndefined();
  const traces = await sql<{ id: string; external_id: string }>(
    'SELECT id::text, external_id FROM traces WHERE project_id = $1::uuid',
    [projectId],
  );
  const ids = Object.fromEntries(traces.map((t) => [t.external_id, t.id]));
  const [llm] = await sql<{ id: string }>(
    `SELECT s.id::text FROM spans s WHERE s.project_id = $1::uuid AND s.external_id = 'u1-t0-llm'`,
    [projectId],
  );
  // Scores: on a trace, on a span, on a session, and feedback given by the end user elsewhere.
  const score = (input: Record<string, unknown>) =>
    ok(`mutation($i: CreateScoreInput!) { createScore(input: $i) { score { id } } }`, {
      i: { projectId: P(projectId), name: 'quality', value: 1, ...input },
    });
  await score({ traceId: globalId('Trace', ids['u1-t0']) });
  await score({ spanId: globalId('Span', llm.id) });
  await score({ sessionId: 's-u1' });
  await score({ traceId: globalId('Trace', ids['u2-t0']), userId: 'u1', source: 'FEEDBACK' });
  await score({ traceId: globalId('Trace', ids['u2-t1']), value: 0.5 });
  return { ids, llmSpan: llm.id };
}

/** The data job's status once it has succeeded, or its last status after about 20 s. */
async function settledStatus(id: string): Promise<string> {
  let status = '';
  for (let i = 0; i < 200 && status !== 'SUCCEEDED'; i++) {
    status = (await ok(`query($id: ID!) { node(id: $id) { ... on DataJob { status } } }`, { id }))
      .node.status;
    if (status !== 'SUCCEEDED') await new Promise((r) => setTimeout(r, 100));
  }
  return status;
}

const count = async (table: string, projectId: string, where = 'true') =>
  (
    await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${table} WHERE project_id = $1::uuid AND (${where})`,
      [projectId],
    )
  )[0].n;

/** score_rollups summed per project and name equal the scores they hold. */
async function expectScoreRollupsExact() {
  const rolled = await sql<{ k: string; n: string; v: string }>(
    `SELECT project_id::text || '/' || name AS k, sum(scores)::text AS n, sum(value_sum)::float8::text AS v
     FROM score_rollups WHERE grain = 'DAY' GROUP BY 1 HAVING sum(scores) <> 0 ORDER BY 1`,
  );
  const raw = await sql<{ k: string; n: string; v: string }>(
    `SELECT project_id::text || '/' || name AS k, count(*)::text AS n, COALESCE(sum(value::numeric), 0)::float8::text AS v
     FROM scores GROUP BY 1 ORDER BY 1`,
  );
  expect(rolled).toEqual(raw);
}

const COST = `query($p: ID!) { costSummary(projectId: $p, from: "2026-03-01T00:00:00Z", to: "2026-03-02T00:00:00Z") { calls totalTokens } }`;
const TRACE = `query($id: ID!) { trace(id: $id) { id } }`;
const DELETE_TRACES = `mutation($i: DeleteTracesInput!) { deleteTraces(input: $i) {
  job { id status kind tracesMatched tracesDeleted spansDeleted scoresDeleted otherDeleted progress error finishedAt } } }`;
const ERASE = `mutation($i: DeleteEndUserDataInput!) { deleteEndUserData(input: $i) {
  job { id status kind tracesMatched tracesDeleted spansDeleted scoresDeleted otherDeleted progress } } }`;

describe('deleteTraces', () => {
  let projectId: string;
  let ids: Record<string, string>;
  beforeAll(async () => {
    projectId = await app.seedProject('delete traces');
    ({ ids } = await seed(projectId));
  });

  it('deletes named traces with their spans and scores, gone from queries, cache and rollups when it answers', async () => {
    const before = await ok(COST, { p: P(projectId) });
    expect(before.costSummary[0].calls).toBe(6);
    // The answer is cached: a later read is a hit.
    const again = await readUntilCached(() => app.gql(COST, { p: P(projectId) }));
    expect(again.headers.get('x-cache')).toBe('HIT');

    const data = await ok(DELETE_TRACES, {
      i: {
        projectId: P(projectId),
        traceIds: [globalId('Trace', ids['u1-t0']), globalId('Trace', ids['u1-t1'])],
      },
    });
    expect(data.deleteTraces.job).toMatchObject({
      status: 'SUCCEEDED',
      kind: 'TRACES',
      tracesMatched: 2,
      tracesDeleted: 2,
      spansDeleted: 4,
      scoresDeleted: 2,
      progress: 1,
      error: null,
    });
    expect(data.deleteTraces.job.finishedAt).not.toBeNull();
    // Gone from reads, the cached costSummary included.
    const gone = await app.gql(TRACE, { id: globalId('Trace', ids['u1-t0']) });
    expect(gone.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const after = await app.gql(COST, { p: P(projectId) });
    expect(after.headers.get('x-cache')).not.toBe('HIT');
    expect(after.body.data.costSummary[0].calls).toBe(4);
    expect(await count('spans', projectId, `external_id LIKE 'u1-t0%'`)).toBe(0);
    expect(await count('scores', projectId, 'trace_id IS NOT NULL')).toBe(2);
    // Gone from exports.
    const res = await fetch(`${app.url}/v1/export/traces?projectId=${projectId}`, {
      headers: { authorization: `Bearer ${app.adminKey}` },
    });
    const text = await res.text();
    expect(text).not.toContain('u1-t0');
    expect(text).toContain('u1-t2');
    // Rollups: exactly the spans and scores that remain.
    await expectRollupsExact(sql);
    await expectScoreRollupsExact();
    // Recorded in the audit log, and listed among the project's jobs.
    const [entry] = await sql<{ action: string; target_id: string }>(
      `SELECT action, target_id FROM audit_entries WHERE project_id = $1::uuid AND action = 'traces.delete'`,
      [projectId],
    );
    expect(entry.target_id).toBe(
      Buffer.from(data.deleteTraces.job.id, 'base64').toString().split(':')[1],
    );
    const jobs = await ok(
      `query($p: ID!) { dataJobs(projectId: $p) { edges { node { id status } } } }`,
      {
        p: P(projectId),
      },
    );
    expect(jobs.dataJobs.edges.map((e: any) => e.node.id)).toContain(data.deleteTraces.job.id);
    const node = await ok(
      `query($id: ID!) { node(id: $id) { ... on DataJob { status tracesDeleted } } }`,
      {
        id: data.deleteTraces.job.id,
      },
    );
    expect(node.node).toEqual({ status: 'SUCCEEDED', tracesDeleted: 2 });
  });

  it('deletes what a filter matches and nothing else', async () => {
    const data = await ok(DELETE_TRACES, {
      i: { projectId: P(projectId), filter: { userId: 'u2', name: 'no such name' } },
    });
    expect(data.deleteTraces.job).toMatchObject({
      status: 'SUCCEEDED',
      tracesMatched: 0,
      tracesDeleted: 0,
    });
    const all = await ok(DELETE_TRACES, {
      i: { projectId: P(projectId), filter: { userId: 'u2' } },
    });
    expect(all.deleteTraces.job).toMatchObject({
      status: 'SUCCEEDED',
      tracesMatched: 3,
      tracesDeleted: 3,
      spansDeleted: 6,
      scoresDeleted: 2,
    });
    expect(await count('traces', projectId)).toBe(1);
    await expectRollupsExact(sql);
    await expectScoreRollupsExact();
  });

  it('refuses bad input and answers foreign or missing traces NOT_FOUND, deleting nothing', async () => {
    const other = await app.seedProject('delete traces, other');
    const theirs = await seed(other);
    const mine = (
      await sql<{ id: string }>('SELECT id::text FROM traces WHERE project_id = $1::uuid', [
        projectId,
      ])
    )[0].id;
    for (const traceIds of [
      [globalId('Trace', mine), globalId('Trace', theirs.ids['u1-t0'])],
      [globalId('Trace', '00000000-0000-7000-8000-000000000000')],
    ]) {
      const res = await app.gql(DELETE_TRACES, { i: { projectId: P(projectId), traceIds } });
      expect(res.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    }
    expect(await count('traces', projectId)).toBe(1);
    expect(await count('traces', other)).toBe(6);
    const both = await app.gql(DELETE_TRACES, {
      i: { projectId: P(projectId), traceIds: [globalId('Trace', mine)], filter: { userId: 'u1' } },
    });
    expect(both.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const everything = await app.gql(DELETE_TRACES, { i: { projectId: P(projectId), filter: {} } });
    expect(everything.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    // A key of the other project: the project is not found, whatever its role.
    const stranger = await app.seedUser({ role: 'ADMIN', projectId: other });
    const foreign = await app.gql(
      DELETE_TRACES,
      { i: { projectId: P(projectId), filter: { userId: 'u1' } } },
      { key: stranger.key },
    );
    expect(foreign.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    // A viewer of the project may not delete.
    const viewer = await app.seedUser({ role: 'VIEWER', projectId });
    const refused = await app.gql(
      DELETE_TRACES,
      { i: { projectId: P(projectId), traceIds: [globalId('Trace', mine)] } },
      { key: viewer.key },
    );
    expect(refused.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(await count('traces', projectId)).toBe(1);
  });
});

describe('deleteEndUserData', () => {
  it("erases one end user's traces, spans, scores, sessions' scores, feedback and dataset items, and their rollup contribution", async () => {
    const projectId = await app.seedProject('erasure');
    const { llmSpan } = await seed(projectId);
    const dataset = await ok(
      `mutation($i: CreateDatasetInput!) { createDataset(input: $i) { dataset { id } } }`,
      { i: { projectId: P(projectId), name: 'from spans' } },
    );
    const other = (
      await sql<{ id: string }>(
        `SELECT id::text FROM spans WHERE project_id = $1::uuid AND external_id = 'u2-t0-llm'`,
        [projectId],
      )
    )[0].id;
    await ok(
      `mutation($i: AddDatasetItemsFromSpansInput!) { addDatasetItemsFromSpans(input: $i) { addedCount } }`,
      {
        i: {
          datasetId: dataset.createDataset.dataset.id,
          spanIds: [globalId('Span', llmSpan), globalId('Span', other)],
          outputAs: 'EXPECTED_OUTPUT',
        },
      },
    );
    // A run on the dataset copies the items' text into its own items.
    const run = await ok(
      `mutation($p: ID!, $c: [JSON!]!, $d: ID!) { createEvaluation(input: { projectId: $p, name: "on d", testingCriteria: $c, dataSource: { datasetId: $d } }) { evaluation { id } } }`,
      {
        p: P(projectId),
        d: dataset.createDataset.dataset.id,
        c: [
          {
            type: 'string_check',
            name: 'exact',
            operation: 'eq',
            input: 'x',
            reference: '{{item.expected_output}}',
          },
        ],
      },
    );
    const runId = Buffer.from(run.createEvaluation.evaluation.id, 'base64')
      .toString()
      .split(':')[1];
    const data = await ok(ERASE, { i: { projectId: P(projectId), userId: 'u1' } });
    expect(data.deleteEndUserData.job).toMatchObject({
      status: 'SUCCEEDED',
      kind: 'END_USER',
      tracesMatched: 3,
      tracesDeleted: 3,
      spansDeleted: 6,
      // trace and span scores of their traces, their session's, and the feedback they gave
      scoresDeleted: 4,
      // the dataset item, and the run's item made from it (emptied)
      otherDeleted: 2,
      progress: 1,
    });
    expect(await count('traces', projectId, `user_id = 'u1'`)).toBe(0);
    expect(await count('spans', projectId, `user_id = 'u1'`)).toBe(0);
    expect(await count('scores', projectId, `user_id = 'u1' OR session_id = 's-u1'`)).toBe(0);
    // u2's data stays: their traces and the score on their trace that u1 did not give.
    expect(await count('traces', projectId, `user_id = 'u2'`)).toBe(3);
    expect(await count('scores', projectId)).toBe(1);
    const items = await sql<{ source_span_id: string }>(
      `SELECT source_span_id::text FROM dataset_items WHERE dataset_id = $1::uuid`,
      [Buffer.from(dataset.createDataset.dataset.id, 'base64').toString().split(':')[1]],
    );
    expect(items.map((i) => i.source_span_id)).toEqual([other]);
    // The run keeps both items; the one made from u1's span holds none of its text.
    const runItems = await sql<{ input: unknown; expected: unknown }>(
      `SELECT input, expected_output AS expected FROM evaluation_items WHERE evaluation_id = $1::uuid ORDER BY position`,
      [runId],
    );
    expect(runItems).toHaveLength(2);
    expect(JSON.stringify(runItems)).not.toContain('question of u1');
    expect(JSON.stringify(runItems)).toContain('question of u2');
    // Analytics by end user (day rows of the rollups) know only u2 now.
    const users = await ok(
      `query($p: ID!) { metrics(projectId: $p, from: "2026-03-01T00:00:00Z", to: "2026-03-02T00:00:00Z", interval: DAY, groupBy: [USER]) { keys { userId } totals { calls } } }`,
      { p: P(projectId) },
    );
    expect(users.metrics).toEqual([{ keys: { userId: 'u2' }, totals: { calls: 6 } }]);
    await expectRollupsExact(sql);
    await expectScoreRollupsExact();
  });

  it("shows the erased end user's id to the project's ADMINs only: other readers see a null target", async () => {
    const projectId = await app.seedProject('erasure privacy');
    const userId = 'erased-person@example.com';
    await ingest(app, projectId, [span({ traceId: 'private-t', userId })]);
    const admin = await app.seedUser({ role: 'ADMIN', projectId });
    const developer = await app.seedUser({ role: 'DEVELOPER', projectId });
    const viewer = await app.seedUser({ role: 'VIEWER', projectId });
    const erased = await ok(
      `mutation($i: DeleteEndUserDataInput!) { deleteEndUserData(input: $i) { job { id target } } }`,
      { i: { projectId: P(projectId), userId } },
      admin.key,
    );
    const { id } = erased.deleteEndUserData.job;
    expect(erased.deleteEndUserData.job.target).toMatchObject({ userId });
    const READ = `query($id: ID!, $p: ID!) {
      node(id: $id) { ... on DataJob { status kind target } }
      dataJobs(projectId: $p, first: 10) { edges { node { id status target } } } }`;
    const read = (key: string) => ok(READ, { id, p: P(projectId) }, key);
    for (const key of [viewer.key, developer.key]) {
      const data = await read(key);
      expect(data.node).toEqual({ status: 'SUCCEEDED', kind: 'END_USER', target: null });
      expect(data.dataJobs.edges).toEqual([{ node: { id, status: 'SUCCEEDED', target: null } }]);
      expect(JSON.stringify(data)).not.toContain('erased-person');
    }
    expect((await read(admin.key)).node.target).toMatchObject({ userId });
    // A deletion of traces by filter shows its filter to whoever may delete traces, not to a VIEWER.
    await ingest(app, projectId, [span({ traceId: 'other-t', userId: 'someone' })]);
    const byFilter = await ok(
      `mutation($i: DeleteTracesInput!) { deleteTraces(input: $i) { job { id } } }`,
      { i: { projectId: P(projectId), filter: { userId: 'someone' } } },
      developer.key,
    );
    const traceJob = byFilter.deleteTraces.job.id;
    const ONE = `query($id: ID!) { node(id: $id) { ... on DataJob { target } } }`;
    expect((await ok(ONE, { id: traceJob }, developer.key)).node.target).toMatchObject({
      filter: { userId: 'someone' },
    });
    expect((await ok(ONE, { id: traceJob }, viewer.key)).node.target).toBeNull();
  });

  it('needs the project ADMIN role', async () => {
    const projectId = await app.seedProject('erasure rights');
    const developer = await app.seedUser({ role: 'DEVELOPER', projectId });
    const res = await app.gql(
      ERASE,
      { i: { projectId: P(projectId), userId: 'u1' } },
      { key: developer.key },
    );
    expect(res.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});

describe('a data job outlives its holder', () => {
  it('is taken over by a worker when the lease expires, and the late holder writes nothing', async () => {
    const projectId = await app.seedProject('takeover');
    await seed(projectId);
    const jobs = app.server.services.dataJobs;
    // A holder that made the job and died before its first batch.
    const held = await app.server.deps.db.transaction((tx) =>
      jobs.create(tx, { projectId, kind: 'END_USER', target: { userId: 'u2' }, requestedBy: null }),
    );
    expect(held.job).toMatchObject({ status: 'RUNNING', tracesMatched: 3 });
    await sql(
      `UPDATE data_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1::uuid`,
      [held.job.id],
    );
    app.server.deps.pubsub.publish('data-jobs:work', {});
    const id = encodeGlobalID('DataJob', held.job.id);
    expect(await settledStatus(id)).toBe('SUCCEEDED');
    expect(await count('traces', projectId, `user_id = 'u2'`)).toBe(0);
    // The first holder wakes up: its token is no longer the job's, so it changes nothing.
    const late = await jobs.run(held);
    expect(late.status).toBe('RUNNING');
    const [row] = await sql<{ status: string; traces_deleted: number }>(
      'SELECT status, traces_deleted FROM data_jobs WHERE id = $1::uuid',
      [held.job.id],
    );
    expect(row).toEqual({ status: 'SUCCEEDED', traces_deleted: 3 });
    await expectRollupsExact(sql);
  });
});

describe('a data job of more traces than a batch', () => {
  const at = (i: number) => new Date(Date.parse(T) + i * 1_000).toISOString();
  /**
   * 250 one-span traces of end user "many", a second apart (m-0 oldest), and `others`; a job
   * deleting the user's traces, held by the test.
   */
  async function manyTraces(projectId: string, others: ReturnType<typeof span>[] = []) {
    const spans = Array.from({ length: 250 }, (_, i) =>
      span({ traceId: `m-${i}`, spanId: `m-${i}-s`, startTime: at(i), userId: 'many' }),
    );
    expect((await ingest(app, projectId, [...spans, ...others])).body.errors).toBeUndefined();
    const jobs = app.server.services.dataJobs;
    const held = await app.server.deps.db.transaction((tx) =>
      jobs.create(tx, {
        projectId,
        kind: 'TRACES',
        target: { filter: { userId: 'many' } },
        requestedBy: null,
      }),
    );
    return { jobs, held };
  }

  it('deletes them newest first, each batch from where the last ended; its target shows only what was named', async () => {
    const projectId = await app.seedProject('batches');
    const { jobs, held } = await manyTraces(projectId, [
      span({ traceId: 'other', spanId: 'other-s', startTime: T, userId: 'other' }),
    ]);
    // One batch (its deadline already passed): the 200 newest, and the keyset at the last of them.
    const first = await jobs.run(held, 0);
    expect(first.tracesDeleted).toBe(200);
    const left = await sql<{ external_id: string }>(
      `SELECT external_id FROM traces WHERE project_id = $1::uuid AND user_id = 'many' ORDER BY start_time`,
      [projectId],
    );
    expect(left.map((t) => t.external_id)).toEqual(Array.from({ length: 50 }, (_, i) => `m-${i}`));
    expect(first.target.after?.startTime).toBe('2026-03-01T10:00:50.000000Z');
    const done = await jobs.run(held);
    expect(done).toMatchObject({ status: 'SUCCEEDED', tracesMatched: 250, tracesDeleted: 250 });
    expect(await count('traces', projectId)).toBe(1);
    const { node } = await ok(`query($id: ID!) { node(id: $id) { ... on DataJob { target } } }`, {
      id: encodeGlobalID('DataJob', held.job.id),
    });
    expect(node.target).toEqual({ filter: { userId: 'many' } });
  });

  it('deletes a trace whose start moved past the batches already done (a span sent again, later)', async () => {
    const projectId = await app.seedProject('batches moved');
    const { jobs, held } = await manyTraces(projectId);
    expect((await jobs.run(held, 0)).tracesDeleted).toBe(200);
    // m-10, not deleted yet, now starts after every trace the first batch deleted.
    const resent = span({
      traceId: 'm-10',
      spanId: 'm-10-s',
      startTime: at(1_000),
      userId: 'many',
    });
    expect((await ingest(app, projectId, [resent])).body.errors).toBeUndefined();
    const done = await jobs.run(held);
    expect(done).toMatchObject({ status: 'SUCCEEDED', tracesDeleted: 250 });
    expect(await count('traces', projectId)).toBe(0);
  });
});

describe('retryDataJob', () => {
  const RETRY = `mutation($id: ID!) { retryDataJob(input: { id: $id }) { job { id status error } } }`;
  const codeOf = (res: Awaited<ReturnType<TestApp['gql']>>) =>
    res.body.errors?.[0]?.extensions?.code;

  it('requeues a FAILED job once, which resumes and finishes; refused for others, NOT_FOUND outside', async () => {
    const projectId = await app.seedProject('retry');
    await seed(projectId);
    const jobs = app.server.services.dataJobs;
    // A job whose batches failed: made, and given up on as the fifth failure leaves it.
    const held = await app.server.deps.db.transaction((tx) =>
      jobs.create(tx, { projectId, kind: 'END_USER', target: { userId: 'u1' }, requestedBy: null }),
    );
    await sql(
      `UPDATE data_jobs SET status = 'FAILED', error = 'batch failed', failures = 5, finished_at = now(),
         lease_token = NULL, lease_expires_at = NULL WHERE id = $1::uuid`,
      [held.job.id],
    );
    const id = encodeGlobalID('DataJob', held.job.id);
    const developer = await app.seedUser({ role: 'DEVELOPER', projectId });
    const stranger = await app.seedUser({ role: 'ADMIN' });
    expect(codeOf(await app.gql(RETRY, { id }, { key: developer.key }))).toBe('FORBIDDEN');
    expect(codeOf(await app.gql(RETRY, { id }, { key: stranger.key }))).toBe('NOT_FOUND');
    const missing = encodeGlobalID('DataJob', '0190f1a0-0000-7000-8000-000000000000');
    expect(codeOf(await app.gql(RETRY, { id: missing }))).toBe('NOT_FOUND');
    expect(await count('traces', projectId, `user_id = 'u1'`)).toBe(3);

    // Three at once: one requeues it, the others are refused; the workers finish it.
    const answers = await Promise.all([1, 2, 3].map(() => app.gql(RETRY, { id })));
    const requeued = answers.filter((a) => !a.body.errors);
    expect(requeued).toHaveLength(1);
    expect(requeued[0].body.data.retryDataJob.job).toMatchObject({ id, error: null });
    expect(answers.filter((a) => a.body.errors).map(codeOf)).toEqual([
      'BAD_USER_INPUT',
      'BAD_USER_INPUT',
    ]);
    expect(await settledStatus(id)).toBe('SUCCEEDED');
    expect(await count('traces', projectId, `user_id = 'u1'`)).toBe(0);
    const [row] = await sql<{ traces_deleted: number; attempts: number }>(
      'SELECT traces_deleted, attempts FROM data_jobs WHERE id = $1::uuid',
      [held.job.id],
    );
    // Claimed once after the retry: concurrent calls did not queue it twice.
    expect(row).toEqual({ traces_deleted: 3, attempts: 2 });
    await expectRollupsExact(sql);
    // Not FAILED (any more): refused.
    expect(codeOf(await app.gql(RETRY, { id }))).toBe('BAD_USER_INPUT');
  });
});
