import { createTestApp, globalId, type TestApp } from './support/app';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const addMember = `mutation($input: AddProjectMemberInput!) { addProjectMember(input: $input) { membership { role user { email } } } }`;

describe('roles are enforced in the schema', () => {
  it('lets only instance admins create users, projects and set tiers', async () => {
    const projectAdmin = await app.seedUser({ role: 'ADMIN' });
    for (const [query, variables] of [
      ['mutation { createUser(input: { email: "x@test.local" }) { user { id } } }', {}],
      ['mutation { createProject(input: { name: "nope" }) { project { id } } }', {}],
      [
        'mutation($id: ID!) { setUserTier(input: { userId: $id, tier: PREMIUM }) { user { tier } } }',
        { id: globalId('User', projectAdmin.userId) },
      ],
    ] as const) {
      const res = await app.gql(query, variables, { key: projectAdmin.key });
      expect(res.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }

    const created = await app.gql(
      'mutation { createUser(input: { email: "New@Test.local", tier: BASIC }) { user { id email tier isAdmin } } }',
    );
    expect(created.body.data.createUser.user).toMatchObject({
      email: 'new@test.local',
      tier: 'BASIC',
      isAdmin: false,
    });
    const tier = await app.gql(
      'mutation($id: ID!) { setUserTier(input: { userId: $id, tier: PREMIUM }) { user { tier } } }',
      {
        id: created.body.data.createUser.user.id,
      },
    );
    expect(tier.body.data.setUserTier.user.tier).toBe('PREMIUM');
    const project = await app.gql(
      'mutation { createProject(input: { name: "made by admin" }) { project { name viewerRole } } }',
    );
    expect(project.body.data.createProject.project).toEqual({
      name: 'made by admin',
      viewerRole: 'ADMIN',
    });
  });

  it.each(['DEVELOPER', 'VIEWER', 'BILLING'] as const)(
    'refuses member management to %s and allows it to ADMIN',
    async (role) => {
      const member = await app.seedUser({ role });
      const newcomer = await app.seedUser();
      const input = {
        projectId: globalId('Project', app.projectId),
        email: newcomer.email,
        role: 'VIEWER',
      };
      const refused = await app.gql(addMember, { input }, { key: member.key });
      expect(refused.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');

      const admin = await app.seedUser({ role: 'ADMIN' });
      const done = await app.gql(addMember, { input }, { key: admin.key });
      expect(done.body.data.addProjectMember.membership).toEqual({
        role: 'VIEWER',
        user: { email: newcomer.email },
      });
    },
  );

  it("shows each role its own role, narrowed by the key's role", async () => {
    for (const role of ['ADMIN', 'DEVELOPER', 'VIEWER', 'BILLING'] as const) {
      const user = await app.seedUser({ role });
      const res = await app.gql(
        'query($id: ID!) { project(id: $id) { name viewerRole } }',
        { id: globalId('Project', app.projectId) },
        { key: user.key },
      );
      expect(res.body.data.project).toEqual({ name: 'test project', viewerRole: role });
    }
    const narrowed = await app.seedUser({ role: 'ADMIN', keyRole: 'BILLING' });
    const res = await app.gql(
      'query($id: ID!) { project(id: $id) { viewerRole } }',
      { id: globalId('Project', app.projectId) },
      { key: narrowed.key },
    );
    expect(res.body.data.project.viewerRole).toBe('BILLING');
  });

  it('answers a bad role value and a bad email with BAD_USER_INPUT naming the input', async () => {
    const badEmail = await app.gql(
      'mutation { createUser(input: { email: "not-an-email" }) { user { id } } }',
    );
    expect(badEmail.body.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'email'],
    });
    const badEnum = await app.gql(addMember, {
      input: {
        projectId: globalId('Project', app.projectId),
        email: 'x@test.local',
        role: 'OWNER',
      },
    });
    expect(badEnum.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const badMemberEmail = await app.gql(addMember, {
      input: { projectId: globalId('Project', app.projectId), email: 'nobody', role: 'VIEWER' },
    });
    expect(badMemberEmail.body.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'email'],
    });
    const wrongType = await app.gql(addMember, {
      input: { projectId: globalId('User', app.projectId), email: 'x@test.local', role: 'VIEWER' },
    });
    expect(wrongType.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const duplicate = await app.gql(
      'mutation { createUser(input: { email: "admin@test.local" }) { user { id } } }',
    );
    expect(duplicate.body.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'email'],
    });
  });
});
