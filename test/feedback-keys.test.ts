// A FEEDBACK key ships inside a web app, where anyone can read it: it is bound to one project and
// runs createScore / createScores with source FEEDBACK there, and nothing else.
import { createTestApp, globalId, type TestApp } from './support/app';
import { ingest, span } from './support/spans';

let app: TestApp;
let feedbackKey: string;
let traceId: string;
beforeAll(async () => {
  app = await createTestApp();
  await ingest(app, app.projectId, [
    span({ traceId: 'chat-1', spanId: 'root', input: 'my secret prompt', output: 'an answer' }),
  ]);
  traceId = (await app.server.deps.db.prisma.trace.findFirstOrThrow()).id;
  const dev = await app.seedUser({ role: 'DEVELOPER' });
  const created = await app.gql(
    `mutation($p: ID!) { createApiKey(input: { projectId: $p, role: FEEDBACK, name: "web" }) { key apiKey { role } } }`,
    { p: globalId('Project', app.projectId) },
    { key: dev.key },
  );
  expect(created.body.data.createApiKey.apiKey.role).toBe('FEEDBACK');
  feedbackKey = created.body.data.createApiKey.key;
});
afterAll(() => app.close());

const codes = (body: { errors?: { extensions?: { code?: string } }[] }) =>
  (body.errors ?? []).map((e) => e.extensions?.code);

describe('FEEDBACK keys', () => {
  it('must be bound to a project', async () => {
    const res = await app.gql(`mutation { createApiKey(input: { role: FEEDBACK }) { key } }`);
    expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors![0].extensions!.path).toEqual(['input', 'projectId']);
  });

  it('is a role for keys, not for members', async () => {
    const res = await app.gql(
      `mutation($p: ID!) { addProjectMember(input: { projectId: $p, email: "fb@test.local", role: FEEDBACK }) { membership { role } } }`,
      { p: globalId('Project', app.projectId) },
    );
    expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
  });

  it('reads nothing: not its owner, not the project, not its traces', async () => {
    for (const query of [
      '{ viewer { email name } }',
      `{ project(id: "${globalId('Project', app.projectId)}") { name } }`,
      `{ traces(projectId: "${globalId('Project', app.projectId)}", first: 1) { totalCount } }`,
      '{ __schema { queryType { name } } }',
    ]) {
      const res = await app.gql(query, {}, { key: feedbackKey });
      expect(res.body.data ?? null).toBeNull();
      expect(codes(res.body)).toEqual(['FORBIDDEN']);
      expect(JSON.stringify(res.body)).not.toContain('@test.local');
    }
  });

  it('writes nothing but feedback, over HTTP and OTLP', async () => {
    const mutation = await app.gql(
      `mutation($p: ID!) { createDataset(input: { projectId: $p, name: "x" }) { dataset { id } } }`,
      { p: globalId('Project', app.projectId) },
      { key: feedbackKey },
    );
    expect(codes(mutation.body)).toEqual(['FORBIDDEN']);
    expect(await app.server.deps.db.prisma.dataset.count()).toBe(0);

    const otlp = await fetch(`${app.url}/v1/traces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${feedbackKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ resourceSpans: [] }),
    });
    expect(otlp.status).toBeGreaterThanOrEqual(400);
  });

  const CREATE = `mutation($input: CreateScoreInput!) {
    createScore(input: $input) { score { id name value source userId } } }`;
  const feedback = (over: Record<string, unknown> = {}) => ({
    projectId: globalId('Project', app.projectId),
    traceId: globalId('Trace', traceId),
    name: 'thumbs',
    dataType: 'BOOLEAN',
    value: 1,
    source: 'FEEDBACK',
    userId: 'end-user-7',
    ...over,
  });

  it('creates FEEDBACK scores on its project, rate-limited like any key', async () => {
    const res = await app.gql(CREATE, { input: feedback() }, { key: feedbackKey });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.createScore.score).toMatchObject({
      name: 'thumbs',
      value: 1,
      source: 'FEEDBACK',
      userId: 'end-user-7',
    });
    expect(res.headers.get('x-ratelimit-remaining')).not.toBeNull();
    expect(res.body.extensions.cost.actualQueryCost).toBeGreaterThan(0);
  });

  it('names the trace by the id the web app has for it (its external id), no read needed', async () => {
    const res = await app.gql(
      CREATE,
      { input: feedback({ traceId: undefined, traceExternalId: 'chat-1', name: 'by-own-id' }) },
      { key: feedbackKey },
    );
    expect(res.body.errors).toBeUndefined();
    const stored = await app.server.deps.db.prisma.score.findFirstOrThrow({
      where: { name: 'by-own-id' },
    });
    expect([stored.traceId, stored.source]).toEqual([traceId, 'FEEDBACK']);
    // A trace id it does not have answers as a missing one: it learns nothing of others.
    const missing = await app.gql(
      CREATE,
      { input: feedback({ traceId: undefined, traceExternalId: 'chat-2' }) },
      { key: feedbackKey },
    );
    expect(codes(missing.body)).toEqual(['NOT_FOUND']);
  });

  it("drops the project's cached answers with each score it writes, as any writer's scores do", async () => {
    const p = globalId('Project', app.projectId);
    const READS = [
      `query($p: ID!) { scores(projectId: $p, filter: { name: "fresh" }) { totalCount } }`,
      `query($p: ID!) { scoreSummary(projectId: $p, from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z", filter: { name: "fresh" }) { count } }`,
    ];
    const read = async () => {
      const out = [];
      for (const query of READS) {
        const res = await app.gql(query, { p });
        expect(res.body.errors).toBeUndefined();
        out.push(res.body.data);
      }
      return out;
    };
    await read();
    // Cached now (an answer is stored after it is sent: with Redis, a round trip later).
    const cached = async () =>
      (await Promise.all(READS.map((q) => app.gql(q, { p })))).map((r) => r.headers.get('x-cache'));
    let state = await cached();
    for (let i = 0; i < 20 && state.some((c) => c !== 'HIT'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      state = await cached();
    }
    expect(state).toEqual(['HIT', 'HIT']);
    expect(await read()).toEqual([{ scores: { totalCount: 0 } }, { scoreSummary: [] }]);

    const res = await app.gql(CREATE, { input: feedback({ name: 'fresh' }) }, { key: feedbackKey });
    expect(res.body.errors).toBeUndefined();
    expect(await read()).toEqual([{ scores: { totalCount: 1 } }, { scoreSummary: [{ count: 1 }] }]);
  });

  it('gets back the score, not the trace it is about', async () => {
    const res = await app.gql(
      `mutation($input: CreateScoreInput!) {
        createScore(input: $input) { score { name trace { name spans(first: 5) { edges { node { input } } } } } } }`,
      { input: feedback() },
      { key: feedbackKey },
    );
    expect(res.body.data.createScore.score).toEqual({ name: 'thumbs', trace: null });
    // It cannot see the project: its trace is not there for it.
    expect(codes(res.body)).toEqual(['NOT_FOUND']);
    expect(JSON.stringify(res.body)).not.toContain('secret prompt');
  });

  it('creates no score of another source, nor overwrites one through its client id', async () => {
    const api = await app.gql(CREATE, { input: feedback({ source: 'API' }) }, { key: feedbackKey });
    expect(codes(api.body)).toEqual(['FORBIDDEN']);
    const batch = await app.gql(
      `mutation($input: CreateScoresInput!) { createScores(input: $input) { acceptedCount } }`,
      {
        input: {
          projectId: globalId('Project', app.projectId),
          scores: [
            { ...feedback(), projectId: undefined },
            { ...feedback({ source: 'ANNOTATION' }), projectId: undefined },
          ],
        },
      },
      { key: feedbackKey },
    );
    expect(codes(batch.body)).toEqual(['FORBIDDEN']);

    // The team's own score with a client id: feedback with the same id is refused, not stored over it.
    const own = await app.gql(CREATE, {
      input: feedback({
        source: 'API',
        clientId: 'review-1',
        name: 'quality',
        dataType: 'NUMERIC',
        value: 0.2,
      }),
    });
    expect(own.body.errors).toBeUndefined();
    const overwrite = await app.gql(
      CREATE,
      { input: feedback({ clientId: 'review-1', name: 'quality', dataType: 'NUMERIC', value: 1 }) },
      { key: feedbackKey },
    );
    expect(codes(overwrite.body)).toEqual(['BAD_USER_INPUT']);
    expect(overwrite.body.errors![0].extensions!.path).toEqual(['input', 'clientId']);
    const stored = await app.server.deps.db.prisma.score.findFirstOrThrow({
      where: { clientId: 'review-1' },
    });
    expect([stored.source, stored.value]).toEqual(['API', 0.2]);
  });

  it('reaches no other project', async () => {
    const other = await app.seedProject();
    const res = await app.gql(
      CREATE,
      { input: feedback({ projectId: globalId('Project', other) }) },
      { key: feedbackKey },
    );
    expect(codes(res.body)).toEqual(['NOT_FOUND']);
  });
});

describe("a FEEDBACK key's rate limit", () => {
  // Anyone who loads the web app can take the key and spend what it may spend: that must not be
  // its owner's bucket or daily quota, which their other keys (ingestion, CI) live on.
  it("is its project's feedback allowance, not its owner's bucket and daily requests", async () => {
    const projectId = await app.seedProject();
    const owner = await app.seedUser({ role: 'DEVELOPER', projectId });
    const made = await app.gql(
      `mutation($p: ID!) { createApiKey(input: { projectId: $p, role: FEEDBACK }) { key } }`,
      { p: globalId('Project', projectId) },
      { key: owner.key },
    );
    const key: string = made.body.data.createApiKey.key;
    const SET_LIMITS = `mutation($input: SetUserLimitsInput!) { setUserLimits(input: $input) { user { id } } }`;
    const limit = async (input: Record<string, unknown>) => {
      const res = await app.gql(SET_LIMITS, {
        input: { userId: globalId('User', owner.userId), ...input },
      });
      expect(res.body.errors).toBeUndefined();
    };
    const send = () =>
      app.gql(
        `mutation($input: CreateScoreInput!) { createScore(input: $input) { score { id } } }`,
        {
          input: {
            projectId: globalId('Project', projectId),
            sessionId: 'visitor-1',
            name: 'thumbs',
            value: 1,
            source: 'FEEDBACK',
          },
        },
        { key },
      );
    const ownRequest = async () => {
      const res = await app.gql('{ viewer { email } }', {}, { key: owner.key });
      return res.body.errors?.map((e) => e.extensions?.code) ?? res.body.data.viewer.email;
    };

    // The daily quota: the key's requests run out, the owner's do not.
    await limit({ requestsPerDay: 3, capacity: 10_000 });
    for (let i = 0; i < 3; i++) expect((await send()).body.errors).toBeUndefined();
    expect(codes((await send()).body)).toEqual(['QUOTA_EXCEEDED']);
    expect(await ownRequest()).toBe(owner.email);

    // The bucket: emptied through the key, the owner's stays full.
    await limit({ requestsPerDay: 1_000, capacity: 40, restoreRate: 0.001 });
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(codes((await send()).body)[0] ?? 'OK');
    expect(answers).toContain('RATE_LIMITED');
    expect(await ownRequest()).toBe(owner.email);
  });
});
