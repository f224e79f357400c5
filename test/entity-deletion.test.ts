// Deleting whole entities through the API: a dataset, an evaluation (its scores out of the score
// rollups, its webhook messages gone), a project (gone for every reader at once, its keys refused,
// its rows removed by a data job the workers finish) and a user (keys refused at once, what they
// created still naming them).
import { createTestApp, globalId, type TestApp } from './support/app';
import { readUntilCached } from './support/cache';
import { createEvaluation, waitFor } from './support/evaluations';
import { ingest, span } from './support/spans';

jest.setTimeout(120_000);

let app: TestApp;
let sql: TestApp['server']['deps']['db']['query'];

beforeAll(async () => {
  // The calls hand their jobs to the workers at once: the worker is what finishes a project.
  app = await createTestApp({
    EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    EVALGRAPH_DELETE_INLINE_MS: '0',
    EVALGRAPH_DATA_JOB_POLL_MS: '100',
  });
  sql = app.server.deps.db.query;
});
afterAll(() => app.close());

const codeOf = (res: { body: { errors?: { extensions?: Record<string, any> }[] } }) =>
  res.body.errors?.[0]?.extensions?.code;
const count = async (query: string, params: unknown[]) =>
  (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${query}`, params))[0].n;

const criteria = [{ type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'a' }];

const DELETE_DATASET = `mutation($id: ID!) { deleteDataset(input: { id: $id }) { deletedDatasetId } }`;
const DELETE_EVALUATION = `mutation($id: ID!) { deleteEvaluation(input: { id: $id }) { deletedEvaluationId } }`;
const DELETE_PROJECT = `mutation($id: ID!) { deleteProject(input: { id: $id }) { job { id kind status } } }`;
const DELETE_USER = `mutation($id: ID!) { deleteUser(input: { id: $id }) { user { id email name deletedAt } } }`;
const JOB = `query($id: ID!) { node(id: $id) { ... on DataJob { status kind tracesDeleted otherDeleted } } }`;

/** score_rollups of a project, per name, against its scores: equal when the rollups are exact. */
async function scoreTotals(projectId: string) {
  const rolled = await sql<{ name: string; n: number; s: number }>(
    `SELECT name, sum(scores)::int AS n, sum(value_sum)::float8 AS s FROM score_rollups
      WHERE project_id = $1::uuid AND grain = 'DAY' GROUP BY name HAVING sum(scores) <> 0 ORDER BY name`,
    [projectId],
  );
  const raw = await sql<{ name: string; n: number; s: number }>(
    `SELECT name, count(*)::int AS n, COALESCE(sum(value::numeric), 0)::float8 AS s FROM scores
      WHERE project_id = $1::uuid GROUP BY name ORDER BY name`,
    [projectId],
  );
  return { rolled, raw };
}

async function createDataset(projectId = app.projectId) {
  const res = await app.gql(
    `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { dataset { id } } }`,
    {
      input: {
        projectId: globalId('Project', projectId),
        name: `ds ${Math.random()}`,
        items: [
          { input: 'q1', output: 'a' },
          { input: 'q2', output: 'b' },
        ],
      },
    },
  );
  expect(res.body.errors).toBeUndefined();
  return res.body.data.createDataset.dataset.id as string;
}

const rawId = (gid: string) => Buffer.from(gid, 'base64').toString().split(':')[1];

describe('deleteDataset', () => {
  it('deletes the dataset, its versions and items; evaluations that ran on it stay', async () => {
    const datasetId = await createDataset();
    const evaluationId = await createEvaluation(app, criteria, { datasetId });
    await waitFor(app, evaluationId);
    const raw = rawId(datasetId);

    const res = await app.gql(DELETE_DATASET, { id: datasetId });
    expect(res.body.data).toEqual({ deleteDataset: { deletedDatasetId: datasetId } });
    expect(
      codeOf(await app.gql(`query($id: ID!) { node(id: $id) { id } }`, { id: datasetId })),
    ).toBe('NOT_FOUND');
    for (const table of ['dataset_items', 'dataset_versions', 'dataset_item_versions'])
      expect([table, await count(`${table} WHERE dataset_id = $1::uuid`, [raw])]).toEqual([
        table,
        0,
      ]);
    const evaluation = await app.gql(
      `query($id: ID!) { evaluation(id: $id) { id status resultCounts { total } } }`,
      { id: evaluationId },
    );
    expect(evaluation.body.data.evaluation).toMatchObject({
      status: 'COMPLETED',
      resultCounts: { total: 2 },
    });
    expect(
      await count('evaluations WHERE id = $1::uuid AND dataset_id IS NULL', [rawId(evaluationId)]),
    ).toBe(1);
    // Gone: a second deletion finds nothing.
    expect(codeOf(await app.gql(DELETE_DATASET, { id: datasetId }))).toBe('NOT_FOUND');
  });

  it('answers NOT_FOUND for a missing id and FORBIDDEN to a reader of its project', async () => {
    expect(
      codeOf(
        await app.gql(DELETE_DATASET, {
          id: globalId('Dataset', '0190f1a0-0000-7000-8000-000000000000'),
        }),
      ),
    ).toBe('NOT_FOUND');
    const viewer = await app.seedUser({ role: 'VIEWER' });
    const datasetId = await createDataset();
    expect(codeOf(await app.gql(DELETE_DATASET, { id: datasetId }, { key: viewer.key }))).toBe(
      'FORBIDDEN',
    );
    expect(await count('datasets WHERE id = $1::uuid', [rawId(datasetId)])).toBe(1);
  });
});

describe('deleteEvaluation', () => {
  it('deletes it with its items, results, webhook messages and scores, keeping score rollups exact', async () => {
    await app.gql(
      'mutation($p: ID!, $url: String!) { createWebhookEndpoint(input: { projectId: $p, url: $url, events: ["evaluation.created", "evaluation.completed"] }) { webhookEndpoint { id } } }',
      { p: globalId('Project', app.projectId), url: 'http://127.0.0.1:9/hook' },
    );
    const kept = await createEvaluation(app, criteria, [{ input: 'q', output: 'a' }]);
    const gone = await createEvaluation(app, criteria, [
      { input: 'q1', output: 'a' },
      { input: 'q2', output: 'b' },
    ]);
    await waitFor(app, kept);
    await waitFor(app, gone);
    const goneId = rawId(gone);
    // Scores on its items, and one on the kept evaluation's.
    const items = await sql<{ id: string; evaluationId: string }>(
      `SELECT id::text, evaluation_id::text AS "evaluationId" FROM evaluation_items WHERE evaluation_id = ANY($1::uuid[])`,
      [[goneId, rawId(kept)]],
    );
    for (const [i, item] of items.entries()) {
      const res = await app.gql(
        `mutation($input: CreateScoreInput!) { createScore(input: $input) { score { id } } }`,
        {
          input: {
            projectId: globalId('Project', app.projectId),
            evaluationItemId: globalId('EvaluationItem', item.id),
            name: 'reviewed',
            value: i + 0.5,
          },
        },
      );
      expect(res.body.errors).toBeUndefined();
    }
    // The outbox names each message's subject: the evaluation's are found by it.
    expect(await count('webhook_messages WHERE subject_id = $1::uuid', [goneId])).toBeGreaterThan(
      0,
    );
    const keptMessages = await count('webhook_messages WHERE subject_id = $1::uuid', [rawId(kept)]);
    expect(keptMessages).toBeGreaterThan(0);
    const before = await scoreTotals(app.projectId);
    expect(before.rolled).toEqual(before.raw);

    const res = await app.gql(DELETE_EVALUATION, { id: gone });
    expect(res.body.data).toEqual({ deleteEvaluation: { deletedEvaluationId: gone } });

    expect(
      codeOf(await app.gql(`query($id: ID!) { evaluation(id: $id) { id } }`, { id: gone })),
    ).toBe('NOT_FOUND');
    for (const table of ['evaluation_items', 'evaluation_results', 'scores'])
      expect([table, await count(`${table} WHERE evaluation_id = $1::uuid`, [goneId])]).toEqual([
        table,
        0,
      ]);
    expect(
      await count('scores WHERE evaluation_item_id = ANY($1::uuid[])', [
        items.filter((i) => i.evaluationId === goneId).map((i) => i.id),
      ]),
    ).toBe(0);
    expect(await count('webhook_messages WHERE subject_id = $1::uuid', [goneId])).toBe(0);
    expect(await count('webhook_messages WHERE subject_id = $1::uuid', [rawId(kept)])).toBe(
      keptMessages,
    );
    const after = await scoreTotals(app.projectId);
    expect(after.rolled).toEqual(after.raw);
    // Its scores left: the kept evaluation's one is what remains of "reviewed".
    expect(after.raw.find((r) => r.name === 'reviewed')?.n).toBe(
      before.raw.find((r) => r.name === 'reviewed')!.n - 2,
    );
    expect(
      (await app.gql(`query($id: ID!) { evaluation(id: $id) { id } }`, { id: kept })).body.data,
    ).toEqual({ evaluation: { id: kept } });
  });

  it('refuses one still queued or running until it is canceled', async () => {
    const waiting = await app.server.deps.db.prisma.evaluation.create({
      data: {
        projectId: app.projectId,
        name: 'waiting',
        testingCriteria: criteria,
        dataSource: {},
        outputs: 'SUPPLIED',
        totalCount: 1,
        status: 'RUNNING',
        items: { create: [{ position: 0, input: 'q', state: 'AWAITING_OUTPUT' }] },
      },
    });
    const id = globalId('Evaluation', waiting.id);
    const refused = await app.gql(DELETE_EVALUATION, { id });
    expect(refused.body.errors?.[0]).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', path: ['input', 'id'] },
    });
    expect(await count('evaluations WHERE id = $1::uuid', [waiting.id])).toBe(1);
    const canceled = await app.gql(
      `mutation($id: ID!) { cancelEvaluation(input: { id: $id }) { evaluation { status } } }`,
      { id },
    );
    expect(canceled.body.data.cancelEvaluation.evaluation.status).toBe('CANCELED');
    expect((await app.gql(DELETE_EVALUATION, { id })).body.errors).toBeUndefined();
    expect(await count('evaluations WHERE id = $1::uuid', [waiting.id])).toBe(0);
  });
});

describe('deleteProject', () => {
  it('is gone at once for every reader, its keys refused; the worker removes its rows', async () => {
    const doomed = await app.seedProject('doomed');
    const member = await app.seedUser({ role: 'DEVELOPER', projectId: doomed });
    const bound = await app.seedUser({
      role: 'ADMIN',
      projectId: doomed,
      keyProjectId: doomed,
    });
    const spans = Array.from({ length: 5 }, (_, i) => span({ traceId: `doomed-${i}` }));
    expect((await ingest(app, doomed, spans)).body.errors).toBeUndefined();
    expect(
      (await ingest(app, app.projectId, [span({ traceId: 'survivor' })])).body.errors,
    ).toBeUndefined();
    const otherTraces = await count('traces WHERE project_id = $1::uuid', [app.projectId]);
    const otherSpanRollups = await count('span_rollups WHERE project_id = $1::uuid', [
      app.projectId,
    ]);
    const datasetId = await createDataset(doomed);
    expect(datasetId).toBeTruthy();
    const TRACES = `query($p: ID!) { traces(projectId: $p, first: 10) { edges { node { id } } } }`;
    const p = globalId('Project', doomed);
    // A cached answer, for the member and for the admin.
    for (const key of [member.key, app.adminKey]) {
      const again = await readUntilCached(() => app.gql(TRACES, { p }, { key }));
      expect(again.body.data.traces.edges).toHaveLength(5);
      expect(again.headers.get('x-cache')).toBe('HIT');
    }
    // Only an instance admin deletes a project: not its own ADMIN.
    expect(codeOf(await app.gql(DELETE_PROJECT, { id: p }, { key: bound.key }))).toBe('FORBIDDEN');
    const owner = await app.seedUser({ role: 'ADMIN', projectId: doomed });
    expect(codeOf(await app.gql(DELETE_PROJECT, { id: p }, { key: owner.key }))).toBe('FORBIDDEN');

    const res = await app.gql(DELETE_PROJECT, { id: p });
    expect(res.body.errors).toBeUndefined();
    const job = res.body.data.deleteProject.job;
    expect(job.kind).toBe('PROJECT');

    // At once: the bound key is refused, the member sees nothing, the admin finds nothing.
    const viewer = await app.gql('{ viewer { id } }', {}, { key: bound.key });
    expect([viewer.status, codeOf(viewer)]).toEqual([401, 'UNAUTHENTICATED']);
    for (const key of [member.key, app.adminKey]) {
      expect(codeOf(await app.gql(TRACES, { p }, { key }))).toBe('NOT_FOUND');
      expect(
        codeOf(await app.gql(`query($p: ID!) { project(id: $p) { id } }`, { p }, { key })),
      ).toBe('NOT_FOUND');
      const list = await app.gql(
        '{ projects(first: 100) { totalCount edges { node { id } } } }',
        {},
        { key },
      );
      expect(list.body.data.projects.edges.map((e: any) => e.node.id)).not.toContain(p);
    }
    expect(
      codeOf(await app.gql(`query($id: ID!) { node(id: $id) { id } }`, { id: datasetId })),
    ).toBe('NOT_FOUND');
    // Nothing more gets in: GraphQL and OTLP ingest answer it as a missing project.
    expect(codeOf(await ingest(app, doomed, [span({ traceId: 'late' })]))).toBe('NOT_FOUND');
    const otlp = await fetch(`${app.url}/v1/traces`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${app.adminKey}`,
        'x-evalgraph-project': doomed,
      },
      body: JSON.stringify({ resourceSpans: [] }),
    });
    expect(otlp.status).toBe(404);
    // Deleting it again finds nothing.
    expect(codeOf(await app.gql(DELETE_PROJECT, { id: p }))).toBe('NOT_FOUND');

    // Its job: the workers finish it; instance admins read it, nobody else.
    let status = job.status;
    for (let i = 0; i < 600 && status !== 'SUCCEEDED' && status !== 'FAILED'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const read = await app.gql(JOB, { id: job.id });
      expect(read.body.errors).toBeUndefined();
      status = read.body.data.node.status;
    }
    expect(status).toBe('SUCCEEDED');
    const done = (await app.gql(JOB, { id: job.id })).body.data.node;
    expect(done).toMatchObject({ kind: 'PROJECT', tracesDeleted: 5 });
    const stranger = await app.seedUser({ role: 'ADMIN' });
    expect(codeOf(await app.gql(JOB, { id: job.id }, { key: stranger.key }))).toBe('NOT_FOUND');

    for (const table of [
      'projects WHERE id = $1::uuid',
      'traces WHERE project_id = $1::uuid',
      'spans WHERE project_id = $1::uuid',
      'span_rollups WHERE project_id = $1::uuid',
      'score_rollups WHERE project_id = $1::uuid',
      'datasets WHERE project_id = $1::uuid',
      'api_keys WHERE project_id = $1::uuid',
      'memberships WHERE project_id = $1::uuid',
    ])
      expect([table, await count(table, [doomed])]).toEqual([table, 0]);
    // Another project's data is untouched.
    expect(await count('traces WHERE project_id = $1::uuid', [app.projectId])).toBe(otherTraces);
    expect(await count('span_rollups WHERE project_id = $1::uuid', [app.projectId])).toBe(
      otherSpanRollups,
    );
    // The member's own key still works elsewhere; they just lost the project.
    expect((await app.gql('{ viewer { id } }', {}, { key: member.key })).status).toBe(200);
  });

  it('answers NOT_FOUND for a missing project', async () => {
    expect(
      codeOf(
        await app.gql(DELETE_PROJECT, {
          id: globalId('Project', '0190f1a0-0000-7000-8000-000000000000'),
        }),
      ),
    ).toBe('NOT_FOUND');
  });
});

describe('deleteUser', () => {
  it('refuses their keys at once; what they created names the deleted user', async () => {
    const leaver = await app.seedUser({ role: 'DEVELOPER' });
    const teammate = await app.seedUser({ role: 'DEVELOPER' });
    const evaluationId = await createEvaluation(app, criteria, [{ input: 'q', output: 'a' }], {
      key: leaver.key,
    });
    await waitFor(app, evaluationId);
    const [item] = await sql<{ id: string }>(
      'SELECT id::text FROM evaluation_items WHERE evaluation_id = $1::uuid',
      [rawId(evaluationId)],
    );
    const scored = await app.gql(
      `mutation($input: CreateScoreInput!) { createScore(input: $input) { score { id } } }`,
      {
        input: {
          projectId: globalId('Project', app.projectId),
          evaluationItemId: globalId('EvaluationItem', item.id),
          name: 'leaver-review',
          value: 1,
        },
      },
      { key: leaver.key },
    );
    const scoreId = rawId(scored.body.data.createScore.score.id);
    expect((await app.gql('{ viewer { id } }', {}, { key: leaver.key })).status).toBe(200);

    const id = globalId('User', leaver.userId);
    const res = await app.gql(DELETE_USER, { id });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.deleteUser.user).toMatchObject({
      id,
      email: `deleted-${leaver.userId}@deleted.invalid`,
      name: null,
    });
    expect(res.body.data.deleteUser.user.deletedAt).not.toBeNull();

    const refused = await app.gql('{ viewer { id } }', {}, { key: leaver.key });
    expect([refused.status, codeOf(refused)]).toEqual([401, 'UNAUTHENTICATED']);
    expect(await count('memberships WHERE user_id = $1::uuid', [leaver.userId])).toBe(0);
    // Their evaluation still names them, for the admin and for a teammate.
    for (const key of [app.adminKey, teammate.key]) {
      const read = await app.gql(
        `query($id: ID!) { evaluation(id: $id) { creator { id deletedAt } } }`,
        { id: evaluationId },
        { key },
      );
      expect(read.body.errors).toBeUndefined();
      expect(read.body.data.evaluation.creator.id).toBe(id);
      expect(read.body.data.evaluation.creator.deletedAt).not.toBeNull();
    }
    const [score] = await sql<{ author: string }>(
      'SELECT author_user_id::text AS author FROM scores WHERE id = $1::uuid',
      [scoreId],
    );
    expect(score.author).toBe(leaver.userId);
    // No key is made for them again, and they are not deleted twice.
    const key = await app.gql(`mutation($u: ID!) { createApiKey(input: { userId: $u }) { key } }`, {
      u: id,
    });
    expect(codeOf(key)).toBe('NOT_FOUND');
    expect(codeOf(await app.gql(DELETE_USER, { id }))).toBe('NOT_FOUND');
    // Nor do they join a project again by their scrubbed email.
    const added = await app.gql(
      `mutation($p: ID!, $email: String!) { addProjectMember(input: { projectId: $p, email: $email, role: VIEWER }) { membership { role } } }`,
      { p: globalId('Project', app.projectId), email: `deleted-${leaver.userId}@deleted.invalid` },
    );
    expect(added.body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'email'],
    });
    expect(await count('memberships WHERE user_id = $1::uuid', [leaver.userId])).toBe(0);
  });

  it('is for instance admins, never on themselves', async () => {
    const admin = await app.server.deps.db.prisma.user.findFirstOrThrow({
      where: { email: 'admin@test.local' },
    });
    const self = await app.gql(DELETE_USER, { id: globalId('User', admin.id) });
    expect(self.body.errors?.[0]).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', path: ['input', 'id'] },
    });
    const projectAdmin = await app.seedUser({ role: 'ADMIN' });
    const other = await app.seedUser({ role: 'VIEWER' });
    expect(
      codeOf(
        await app.gql(
          DELETE_USER,
          { id: globalId('User', other.userId) },
          { key: projectAdmin.key },
        ),
      ),
    ).toBe('FORBIDDEN');
    expect(
      codeOf(
        await app.gql(DELETE_USER, {
          id: globalId('User', '0190f1a0-0000-4000-8000-000000000000'),
        }),
      ),
    ).toBe('NOT_FOUND');
    expect((await app.gql('{ viewer { id } }', {}, { key: other.key })).status).toBe(200);
  });
});
