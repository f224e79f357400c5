// Scores keep to their project: a key of project B (one bound to B whose user is also ADMIN of A,
// and a plain member of B) gets NOT_FOUND for project A's ids in every argument and input of
// every score root (project, trace, span, evaluation item, score, config), exactly as for ids
// that do not exist, and changes nothing of A's.
import { createTestApp, globalId, type TestApp } from './support/app';
import { createEvaluation, waitFor } from './support/evaluations';
import { ingest, span } from './support/spans';

let app: TestApp;
const a: Record<string, string> = {};
const b: Record<string, string> = {};
const keys: Record<string, string> = {};
const MISSING = '0190c7d4-0000-7000-8000-00000000dead';

beforeAll(async () => {
  app = await createTestApp();
  const projectA = app.projectId;
  const projectB = await app.seedProject('b');
  a.p = globalId('Project', projectA);
  b.p = globalId('Project', projectB);
  const bound = await app.seedUser({ role: 'ADMIN', projectId: projectB, keyProjectId: projectB });
  await app.server.services.projects.addMember({
    projectId: projectA,
    email: bound.email,
    role: 'ADMIN',
  });
  keys.bound = bound.key;
  keys.member = (await app.seedUser({ role: 'ADMIN', projectId: projectB })).key;

  const prisma = app.server.deps.db.prisma;
  for (const [projectId, ids] of [
    [projectA, a],
    [projectB, b],
  ] as const) {
    await ingest(app, projectId, [span({ traceId: 't', spanId: 's', name: 'root' })]);
    const trace = await prisma.trace.findFirstOrThrow({
      where: { projectId },
      include: { spans: true },
    });
    ids.trace = globalId('Trace', trace.id);
    ids.span = globalId('Span', trace.spans[0].id);
  }
  const evaluation = await createEvaluation(
    app,
    [{ type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'a' }],
    [{ input: 'q', output: 'a' }],
  );
  await waitFor(app, evaluation);
  a.item = (await prisma.evaluationItem.findFirstOrThrow()).id;
  const score = await app.gql(
    `mutation($input: CreateScoreInput!) { createScore(input: $input) { score { id } } }`,
    { input: { projectId: a.p, traceId: a.trace, name: 'secret', value: 1, clientId: 'a-1' } },
  );
  a.score = score.body.data.createScore.score.id;
  const config = await app.gql(
    `mutation($input: CreateScoreConfigInput!) { createScoreConfig(input: $input) { scoreConfig { id } } }`,
    { input: { projectId: a.p, name: 'secret', dataType: 'NUMERIC', maxValue: 10 } },
  );
  a.config = config.body.data.createScoreConfig.scoreConfig.id;
});
afterAll(() => app.close());

type Answer = { code: unknown; path: unknown; message: unknown; data: unknown[] };
async function answer(
  query: string,
  variables: Record<string, unknown>,
  key?: string,
): Promise<Answer> {
  const res = await app.gql(query, variables, { key });
  const error = res.body.errors?.[0];
  return {
    code: error?.extensions?.code,
    path: error?.extensions?.path,
    message: error?.message,
    data: Object.values(res.body.data ?? {}).filter((v) => v !== null),
  };
}

/** For every intruding key: NOT_FOUND, no data, and the answer a missing id gets. */
async function refused(
  query: string,
  foreign: Record<string, unknown>,
  missing: Record<string, unknown>,
  path?: (string | number)[],
) {
  for (const [who, key] of Object.entries(keys)) {
    const got = await answer(query, foreign, key);
    expect([who, query, got.code, got.data]).toEqual([who, query, 'NOT_FOUND', []]);
    if (path) expect([who, got.path]).toEqual([who, path]);
    const absent = await answer(query, missing, key);
    expect([who, got.message, got.path]).toEqual([who, absent.message, absent.path]);
  }
}

const CREATE = `mutation($input: CreateScoreInput!) { createScore(input: $input) { score { id } } }`;
const CREATE_MANY = `mutation($input: CreateScoresInput!) { createScores(input: $input) { acceptedCount rejectedCount errors { index field code } } }`;
const missingTrace = () => globalId('Trace', MISSING);
const missingSpan = () => globalId('Span', MISSING);

describe('queries', () => {
  it('scores: project, and the trace and span of its filter', async () => {
    const q = `query($p: ID!, $filter: ScoreFilter) { scores(projectId: $p, filter: $filter) { totalCount } }`;
    await refused(q, { p: a.p }, { p: globalId('Project', MISSING) });
    await refused(
      q,
      { p: b.p, filter: { traceId: a.trace } },
      { p: b.p, filter: { traceId: missingTrace() } },
      ['filter', 'traceId'],
    );
    await refused(
      q,
      { p: b.p, filter: { spanId: a.span } },
      { p: b.p, filter: { spanId: missingSpan() } },
      ['filter', 'spanId'],
    );
  });

  it('scoreSummary: project, and the trace of its filter', async () => {
    const q = `query($p: ID!, $filter: ScoreFilter) { scoreSummary(projectId: $p, from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z", filter: $filter) { count } }`;
    await refused(q, { p: a.p }, { p: globalId('Project', MISSING) });
    await refused(
      q,
      { p: b.p, filter: { traceId: a.trace } },
      { p: b.p, filter: { traceId: missingTrace() } },
      ['filter', 'traceId'],
    );
  });

  it('scoreConfigs, and a score or a config by node id', async () => {
    await refused(
      `query($p: ID!) { scoreConfigs(projectId: $p) { totalCount } }`,
      { p: a.p },
      { p: globalId('Project', MISSING) },
    );
    const node = `query($id: ID!) { node(id: $id) { id } }`;
    await refused(node, { id: a.score }, { id: globalId('Score', MISSING) });
    await refused(node, { id: a.config }, { id: globalId('ScoreConfig', MISSING) });
    // Trace.scores is reached through the trace, which is refused.
    await refused(
      `query($id: ID!) { trace(id: $id) { scores { totalCount } } }`,
      { id: a.trace },
      { id: missingTrace() },
    );
  });
});

describe('mutations', () => {
  it('createScore: the project, and a trace, span or evaluation item of another project', async () => {
    await refused(
      CREATE,
      { input: { projectId: a.p, traceId: a.trace, name: 'x', value: 1 } },
      { input: { projectId: globalId('Project', MISSING), traceId: a.trace, name: 'x', value: 1 } },
    );
    for (const [field, foreign, missing] of [
      ['traceId', a.trace, missingTrace()],
      ['spanId', a.span, missingSpan()],
      ['evaluationItemId', a.item, MISSING],
    ]) {
      await refused(
        CREATE,
        { input: { projectId: b.p, [field]: foreign, name: 'x', value: 1 } },
        { input: { projectId: b.p, [field]: missing, name: 'x', value: 1 } },
        ['input', field],
      );
    }
  });

  it('createScores: a foreign target at its index, all-or-nothing and partial', async () => {
    const batch = (target: string) => ({
      input: {
        projectId: b.p,
        scores: [
          { traceId: b.trace, name: 'batch', value: 1 },
          { traceId: target, name: 'batch', value: 1 },
        ],
      },
    });
    await refused(CREATE_MANY, batch(a.trace), batch(missingTrace()), [
      'input',
      'scores',
      1,
      'traceId',
    ]);
    for (const key of Object.values(keys)) {
      const partial = await app.gql(
        CREATE_MANY,
        { input: { ...batch(a.trace).input, partial: true } },
        { key },
      );
      expect(partial.body.data.createScores).toEqual({
        acceptedCount: 1,
        rejectedCount: 1,
        errors: [{ index: 1, field: 'traceId', code: 'NOT_FOUND' }],
      });
    }
  });

  it("createScore with another project's client id makes a score of its own", async () => {
    for (const key of Object.values(keys)) {
      const res = await app.gql(
        CREATE,
        { input: { projectId: b.p, traceId: b.trace, name: 'secret', value: 5, clientId: 'a-1' } },
        { key },
      );
      expect(res.body.data.createScore.score.id).not.toBe(a.score);
    }
    const own = await app.gql(`query($id: ID!) { node(id: $id) { ... on Score { value } } }`, {
      id: a.score,
    });
    expect(own.body.data.node).toEqual({ value: 1 });
  });

  it('deleteScore, createScoreConfig and updateScoreConfig: nothing of the other project', async () => {
    await refused(
      `mutation($id: ID!) { deleteScore(input: { id: $id }) { deletedScoreId } }`,
      { id: a.score },
      { id: globalId('Score', MISSING) },
      ['input', 'id'],
    );
    await refused(
      `mutation($p: ID!) { createScoreConfig(input: { projectId: $p, name: "x", dataType: NUMERIC }) { scoreConfig { id } } }`,
      { p: a.p },
      { p: globalId('Project', MISSING) },
    );
    await refused(
      `mutation($id: ID!) { updateScoreConfig(input: { id: $id, archived: true, maxValue: 1 }) { scoreConfig { id } } }`,
      { id: a.config },
      { id: globalId('ScoreConfig', MISSING) },
      ['input', 'id'],
    );
    const prisma = app.server.deps.db.prisma;
    expect(await prisma.score.count({ where: { projectId: app.projectId } })).toBe(1);
    expect(
      await prisma.scoreConfig.findFirstOrThrow({ where: { projectId: app.projectId } }),
    ).toMatchObject({ archived: false, maxValue: 10 });
  });
});
