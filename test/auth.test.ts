import { createTestApp, globalId, type TestApp } from './support/app';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

describe('authentication', () => {
  it('answers a request without a key with 401 UNAUTHENTICATED', async () => {
    const res = await app.gql('{ viewer { id } }', {}, { key: null });
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('refuses an unknown key and a malformed header with 401', async () => {
    const unknown = await app.gql(
      '{ viewer { id } }',
      {},
      { key: 'evg_this-key-does-not-exist-at-all' },
    );
    expect(unknown.status).toBe(401);
    expect(unknown.body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(unknown.body.data).toBeUndefined();

    const malformed = await app.gql(
      '{ viewer { id } }',
      {},
      { key: null, headers: { authorization: 'Basic abc' } },
    );
    expect(malformed.status).toBe(401);
    expect(malformed.body.errors?.[0].message).toMatch(/Malformed Authorization/);
  });

  it('lets introspection through without a key (GraphiQL explores the schema)', async () => {
    const res = await app.gql('{ __schema { queryType { name } } }', {}, { key: null });
    expect(res.status).toBe(200);
    expect(res.body.data.__schema.queryType.name).toBe('Query');
  });

  it('answers viewer with the key owner', async () => {
    const res = await app.gql('{ viewer { email isAdmin tier } }');
    expect(res.body.data.viewer).toEqual({
      email: 'admin@test.local',
      isAdmin: true,
      tier: 'ENTERPRISE',
    });
  });
});

describe('API keys', () => {
  const create = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { id prefix role lastUsedAt revokedAt project { id } } } }`;

  it('shows a new key once, stores only its hash, and records its last use', async () => {
    const user = await app.seedUser({ role: 'DEVELOPER' });
    const res = await app.gql(create, { input: { name: 'ci' } }, { key: user.key });
    expect(res.body.errors).toBeUndefined();
    const { key, apiKey } = res.body.data.createApiKey;
    expect(key).toMatch(/^evg_[A-Za-z0-9_-]{40}$/);
    expect(key.startsWith(apiKey.prefix)).toBe(true);
    expect(apiKey.lastUsedAt).toBeNull();

    const stored = await app.server.deps.db.prisma.apiKey.findFirstOrThrow({
      where: { prefix: apiKey.prefix },
    });
    expect(stored.hash).not.toContain(key.slice(4));
    expect(JSON.stringify(stored)).not.toContain(key);

    const viewer = await app.gql(
      '{ viewer { email apiKeys { edges { node { prefix lastUsedAt } } } } }',
      {},
      { key },
    );
    expect(viewer.body.data.viewer.email).toBe(user.email);
    const used = viewer.body.data.viewer.apiKeys.edges.find(
      (e: any) => e.node.prefix === apiKey.prefix,
    );
    // last use is written after the key is read, so it shows on a later read
    const again = await app.server.deps.db.prisma.apiKey.findFirstOrThrow({
      where: { prefix: apiKey.prefix },
    });
    expect(used).toBeDefined();
    expect(again.lastUsedAt).not.toBeNull();
  });

  it('stops a revoked key at once', async () => {
    const user = await app.seedUser({ role: 'VIEWER' });
    const created = await app.gql(create, { input: {} }, { key: user.key });
    const { key, apiKey } = created.body.data.createApiKey;
    expect((await app.gql('{ viewer { id } }', {}, { key })).status).toBe(200);

    const revoked = await app.gql(
      'mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { revokedAt } } }',
      { id: apiKey.id },
      { key: user.key },
    );
    expect(revoked.body.data.revokeApiKey.apiKey.revokedAt).not.toBeNull();
    const after = await app.gql('{ viewer { id } }', {}, { key });
    expect(after.status).toBe(401);
    expect(after.body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it("does not let a user revoke someone else's key, and does not say whether it exists", async () => {
    const owner = await app.seedUser({ role: 'DEVELOPER' });
    const other = await app.seedUser({ role: 'DEVELOPER' });
    const created = await app.gql(create, { input: {} }, { key: owner.key });
    const res = await app.gql(
      'mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id } } }',
      { id: created.body.data.createApiKey.apiKey.id },
      { key: other.key },
    );
    expect(res.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(
      (await app.gql('{ viewer { id } }', {}, { key: created.body.data.createApiKey.key })).status,
    ).toBe(200);
  });

  it('a key narrowed to a role revokes only keys narrowed within it', async () => {
    const user = await app.seedUser({ role: 'ADMIN' });
    const viewerKey = (await app.gql(create, { input: { role: 'VIEWER' } }, { key: user.key })).body
      .data.createApiKey;
    const fullKeyId = globalId(
      'ApiKey',
      (
        await app.server.deps.db.prisma.apiKey.findFirstOrThrow({
          where: { userId: user.userId, role: null },
        })
      ).id,
    );
    const res = await app.gql(
      'mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id } } }',
      { id: fullKeyId },
      { key: viewerKey.key },
    );
    expect(res.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await app.gql('{ viewer { id } }', {}, { key: user.key })).status).toBe(200);
    const self = await app.gql(
      'mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { revokedAt } } }',
      { id: viewerKey.apiKey.id },
      { key: viewerKey.key },
    );
    expect(self.body.data.revokeApiKey.apiKey.revokedAt).not.toBeNull();
  });

  it('never creates a key with more rights than its creator', async () => {
    const viewer = await app.seedUser({ role: 'VIEWER' });
    const res = await app.gql(
      create,
      { input: { projectId: globalId('Project', app.projectId), role: 'ADMIN' } },
      { key: viewer.key },
    );
    expect(res.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.body.errors?.[0].extensions?.path).toEqual(['input', 'role']);

    const narrowKey = await app.seedUser({ role: 'ADMIN', keyRole: 'VIEWER' });
    const escalate = await app.gql(create, { input: { role: 'ADMIN' } }, { key: narrowKey.key });
    expect(escalate.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('binds a key to one project and narrows it to a role', async () => {
    const other = await app.seedProject('other');
    const admin = await app.seedUser({ role: 'ADMIN' });
    await app.server.services.projects.addMember({
      projectId: other,
      email: admin.email,
      role: 'ADMIN',
    });
    const res = await app.gql(
      create,
      { input: { projectId: globalId('Project', app.projectId), role: 'VIEWER' } },
      { key: admin.key },
    );
    const bound = res.body.data.createApiKey;
    expect(bound.apiKey.role).toBe('VIEWER');
    const projects = await app.gql(
      '{ projects { totalCount edges { node { name viewerRole } } } }',
      {},
      { key: bound.key },
    );
    expect(projects.body.data.projects).toEqual({
      totalCount: 1,
      edges: [{ node: { name: 'test project', viewerRole: 'VIEWER' } }],
    });
    const otherProject = await app.gql(
      'query($id: ID!) { project(id: $id) { name } }',
      { id: globalId('Project', other) },
      { key: bound.key },
    );
    expect(otherProject.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });
});
