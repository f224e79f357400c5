// Deletions against the writers that run beside them (issue 21), through the server: deleting
// traces while ingest adds spans to the same traces never deadlocks (both lock traces in external
// id order); two ADMINs removing each other at once leave one ADMIN (the project row is locked
// before the count); an end user's spans in another user's trace are erased too. On Postgres these
// are real races; in embedded mode (one connection) they check the outcomes.
import { globalId, createTestApp, type TestApp } from './support/app';
import { expectRollupsExact } from './support/rollups';
import { ingest, span } from './support/spans';

jest.setTimeout(180_000);

let app: TestApp;
const P = (id: string) => globalId('Project', id);
beforeAll(async () => {
  app = await createTestApp();
}, 60_000);
afterAll(() => app?.close());

it('deleting traces while ingest writes to them never fails either', async () => {
  for (let round = 0; round < 8; round++) {
    const p = await app.seedProject(`race ${round}`);
    const ext = Array.from({ length: 40 }, (_, k) => `t${String(k).padStart(3, '0')}`);
    // Created in reverse external order: id order is the opposite of external id order.
    for (const e of [...ext].reverse())
      expect(
        (await ingest(app, p, [span({ traceId: e, spanId: `${e}-0`, userId: 'u' })])).body.errors,
      ).toBeUndefined();
    const [deleted, ingested] = await Promise.all([
      app.gql(
        'mutation($p: ID!) { deleteTraces(input: { projectId: $p, filter: { userId: "u" } }) { job { status error } } }',
        { p: P(p) },
      ),
      ingest(
        app,
        p,
        ext.map((e) => span({ traceId: e, spanId: `${e}-1`, userId: 'u' })),
      ),
    ]);
    expect(deleted.body.errors).toBeUndefined();
    expect(deleted.body.data.deleteTraces.job).toEqual({ status: 'SUCCEEDED', error: null });
    expect(ingested.body.errors).toBeUndefined();
  }
  await expectRollupsExact(app.server.deps.db.query);
});

it('two ADMINs removing each other at once leave the project one ADMIN', async () => {
  const REMOVE =
    'mutation($p: ID!, $u: ID!) { removeProjectMember(input: { projectId: $p, userId: $u }) { removedUserId } }';
  for (let round = 0; round < 8; round++) {
    const p = await app.seedProject(`admins ${round}`);
    const one = await app.seedUser({ role: 'ADMIN', projectId: p });
    const two = await app.seedUser({ role: 'ADMIN', projectId: p });
    const answers = await Promise.all([
      app.gql(REMOVE, { p: P(p), u: globalId('User', two.userId) }, { key: one.key }),
      app.gql(REMOVE, { p: P(p), u: globalId('User', one.userId) }, { key: two.key }),
    ]);
    const refused = answers.filter((a) => a.body.errors);
    expect(refused).toHaveLength(1);
    expect(refused[0].body.errors?.[0].extensions?.code).toMatch(/BAD_USER_INPUT|NOT_FOUND/);
    expect(
      await app.server.deps.db.prisma.membership.count({ where: { projectId: p, role: 'ADMIN' } }),
    ).toBe(1);
  }
  // Nor can the last ADMIN make themselves something less.
  const p = await app.seedProject('demotion');
  const alone = await app.seedUser({ role: 'ADMIN', projectId: p });
  const demoted = await app.gql(
    'mutation($p: ID!, $e: String!) { addProjectMember(input: { projectId: $p, email: $e, role: VIEWER }) { membership { role } } }',
    { p: P(p), e: alone.email },
    { key: alone.key },
  );
  expect(demoted.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
});

it("erases an end user's spans inside another user's trace, and fixes that trace's totals", async () => {
  const p = await app.seedProject('mixed trace');
  const res = await ingest(app, p, [
    span({
      traceId: 'shared',
      spanId: 'x',
      userId: 'x',
      startTime: '2026-03-01T10:00:00.000Z',
      kind: 'LLM',
      model: 'gpt-4o',
      inputTokens: 5,
    }),
    span({
      traceId: 'shared',
      spanId: 'y',
      userId: 'y',
      startTime: '2026-03-01T10:00:01.000Z',
      input: 'secret of y',
      kind: 'LLM',
      model: 'gpt-4o',
      inputTokens: 7,
    }),
  ]);
  expect(res.body.errors).toBeUndefined();
  const erased = await app.gql(
    'mutation($p: ID!) { deleteEndUserData(input: { projectId: $p, userId: "y" }) { job { status tracesDeleted spansDeleted } } }',
    { p: P(p) },
  );
  expect(erased.body.data.deleteEndUserData.job).toEqual({
    status: 'SUCCEEDED',
    tracesDeleted: 0,
    spansDeleted: 1,
  });
  const [trace] = await app.server.deps.db.query<{
    span_count: number;
    input_tokens: string;
    user_id: string;
  }>(`SELECT span_count, input_tokens::text, user_id FROM traces WHERE project_id = $1::uuid`, [p]);
  expect(trace).toEqual({ span_count: 1, input_tokens: '5', user_id: 'x' });
  const found = await app.gql(
    'query($p: ID!) { traces(projectId: $p, filter: { text: "secret" }) { totalCount } }',
    { p: P(p) },
  );
  expect(found.body.data.traces.totalCount).toBe(0);
  await expectRollupsExact(app.server.deps.db.query);
});
