// A stream computes its events with the access its key had when it opened (and a group of
// WebSocket subscribers with its first member's). When the key's role in the project changes, the
// stream ends (the guard's access check): no event is computed with a role the key has lost. Before
// this, a member lowered from ADMIN to VIEWER kept receiving events computed as ADMIN (viewerRole
// here; ADMIN-only fields such as evaluationProgress.judgeCost alike).
import { createEvaluation } from './support/evaluations';
import { createTestApp, globalId, type TestApp } from './support/app';
import { until } from './support/live';
import { initialisedSocket } from './support/raw-ws';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const SET_ROLE =
  'mutation($p: ID!, $email: String!, $role: Role!) { addProjectMember(input: { projectId: $p, email: $email, role: $role }) { membership { role } } }';
// viewerRole is computed from the executing context's principal: it shows whose access ran an event.
const WHO = `subscription($p: ID!) { evaluationEvents(projectId: $p) { type evaluation { project { viewerRole } } } }`;

it('computes no event of an open stream with a role its key has lost (ended, or computed anew)', async () => {
  const p = globalId('Project', app.projectId);
  const member = await app.seedUser({ role: 'ADMIN' });
  const keyId = (await app.server.services.auth.authenticate(member.key))!.keyId;
  const conn = await initialisedSocket(`${app.url.replace('http', 'ws')}/graphql`, member.key);
  conn.socket.send(
    JSON.stringify({ id: 'old', type: 'subscribe', payload: { query: WHO, variables: { p } } }),
  );
  await until(() => app.server.services.subscriptions.openCount(keyId) === 1, 5_000, 'the stream');
  expect(
    (await app.gql(SET_ROLE, { p, email: member.email, role: 'VIEWER' })).body.errors,
  ).toBeUndefined();
  await until(
    async () =>
      (
        await app.gql(
          'query($p: ID!) { project(id: $p) { viewerRole } }',
          { p },
          { key: member.key },
        )
      ).body.data.project.viewerRole === 'VIEWER',
    5_000,
    'the lowered role',
  );
  await createEvaluation(
    app,
    [{ type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'a' }],
    [{ input: 1, output: 'a' }],
  );
  // Either the stream ends (the client opens it again with its new access) or its events say
  // VIEWER: read once the evaluation's COMPLETED event has come, or the stream has ended.
  await until(
    () =>
      conn.messages.some(
        (m) =>
          m.id === 'old' &&
          (m.type !== 'next' || m.payload.data?.evaluationEvents?.type === 'COMPLETED'),
      ),
    10_000,
    'the evaluation to complete or the stream to end',
  );
  const roles = conn.messages
    .filter((m) => m.id === 'old' && m.type === 'next')
    .map((m) => m.payload.data?.evaluationEvents?.evaluation?.project?.viewerRole);
  expect(roles.filter((role) => role !== 'VIEWER')).toEqual([]);
  conn.socket.close();
});
