// A FEEDBACK key ships inside a web app, where anyone can read it: it is bound to one project and
// runs createScore / createScores with source FEEDBACK there, and nothing else.
import { createTestApp, globalId, type TestApp } from './support/app';

let app: TestApp;
let feedbackKey: string;
beforeAll(async () => {
  app = await createTestApp();
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
});
