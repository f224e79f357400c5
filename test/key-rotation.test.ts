// rotateApiKey through the real server: the new secret works at once, the old one through its
// overlap (business time, deps.clock) and never after; overlap 0 ends it at once; a key out of
// the caller's reach is NOT_FOUND. Across processes: with Postgres and Redis, a secret rotated
// on one API process is refused by the other once its overlap ends.
import { createTestApp, globalId, type TestApp } from './support/app';
import { subscribeSse, subscribeWs, until, wsClient } from './support/live';
import { createDeployment } from './support/process';

const ROTATE = `mutation($id: ID!, $overlap: Int) {
  rotateApiKey(input: { id: $id, overlapSeconds: $overlap }) {
    key
    apiKey { id role prefix previousSecretExpiresAt project { id } }
  }
}`;
const CREATE = `mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { key apiKey { id } }
}`;

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const viewer = (key: string) => app.gql('{ viewer { id } }', {}, { key });

describe('rotateApiKey', () => {
  it('keeps the old secret for the overlap only, the key itself unchanged', async () => {
    const start = Date.now();
    app.server.deps.clock.now = () => new Date(start);
    try {
      const owner = await app.seedUser({ role: 'DEVELOPER' });
      const project = globalId('Project', app.projectId);
      const created = await app.gql(
        CREATE,
        { input: { projectId: project, role: 'VIEWER', name: 'ci' } },
        { key: owner.key },
      );
      const { key: first, apiKey } = created.body.data.createApiKey;
      expect((await viewer(first)).status).toBe(200);

      const rotated = await app.gql(ROTATE, { id: apiKey.id, overlap: 3600 }, { key: owner.key });
      expect(rotated.body.errors).toBeUndefined();
      const { key: second, apiKey: after } = rotated.body.data.rotateApiKey;
      expect(second).not.toBe(first);
      expect(after).toMatchObject({ id: apiKey.id, role: 'VIEWER', project: { id: project } });
      expect(second.startsWith(after.prefix)).toBe(true);
      expect(after.previousSecretExpiresAt).toBe(new Date(start + 3_600_000).toISOString());

      // Both work during the overlap.
      expect((await viewer(second)).status).toBe(200);
      expect((await viewer(first)).status).toBe(200);
      // A second before its end, still; at its end, refused like any unknown key.
      app.server.deps.clock.now = () => new Date(start + 3_599_000);
      expect((await viewer(first)).status).toBe(200);
      app.server.deps.clock.now = () => new Date(start + 3_600_000);
      const late = await viewer(first);
      expect(late.status).toBe(401);
      expect(late.body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      expect((await viewer(second)).status).toBe(200);
      const listed = await app.gql(
        `query($id: ID!) { node(id: $id) { ... on ApiKey { previousSecretExpiresAt } } }`,
        { id: apiKey.id },
        { key: owner.key },
      );
      expect(listed.body.data.node.previousSecretExpiresAt).toBeNull();

      // Overlap 0 (the default): the secret just replaced is refused at once.
      const again = await app.gql(ROTATE, { id: apiKey.id }, { key: second });
      const third = again.body.data.rotateApiKey.key;
      expect(again.body.data.rotateApiKey.apiKey.previousSecretExpiresAt).toBeNull();
      expect((await viewer(second)).status).toBe(401);
      expect((await viewer(third)).status).toBe(200);
    } finally {
      app.server.deps.clock.now = () => new Date();
    }
  });

  it('a second rotation ends the first one’s overlap', async () => {
    const owner = await app.seedUser({ role: 'DEVELOPER' });
    const created = await app.gql(CREATE, { input: {} }, { key: owner.key });
    const { key: first, apiKey } = created.body.data.createApiKey;
    const r1 = await app.gql(ROTATE, { id: apiKey.id, overlap: 600 }, { key: owner.key });
    const r2 = await app.gql(ROTATE, { id: apiKey.id, overlap: 600 }, { key: owner.key });
    expect((await viewer(first)).status).toBe(401);
    expect((await viewer(r1.body.data.rotateApiKey.key)).status).toBe(200);
    expect((await viewer(r2.body.data.rotateApiKey.key)).status).toBe(200);
  });

  it("a project admin may not rotate another member's key bound to the project: its secret would act as them", async () => {
    const project = await app.seedProject();
    const member = await app.seedUser({
      role: 'DEVELOPER',
      projectId: project,
      tier: 'ENTERPRISE',
    });
    const bound = await app.gql(
      CREATE,
      { input: { projectId: globalId('Project', project) } },
      { key: member.key },
    );
    const { key, apiKey } = bound.body.data.createApiKey;
    const admin = await app.seedUser({ role: 'ADMIN', projectId: project });
    const res = await app.gql(ROTATE, { id: apiKey.id }, { key: admin.key });
    expect(res.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(res.body.data?.rotateApiKey ?? null).toBeNull();
    expect((await viewer(key)).status).toBe(200);
    // Revoking it stays theirs to do; rotating it, the member's own.
    const own = await app.gql(ROTATE, { id: apiKey.id }, { key: member.key });
    expect(own.body.errors).toBeUndefined();
  });

  it('answers NOT_FOUND for a key out of reach, as revokeApiKey does', async () => {
    const owner = await app.seedUser({ role: 'DEVELOPER' });
    const created = await app.gql(CREATE, { input: {} }, { key: owner.key });
    const { key, apiKey } = created.body.data.createApiKey;
    // Another user's key, and a project admin of another project.
    const stranger = await app.seedUser({ role: 'ADMIN' });
    const other = await app.seedProject();
    const elsewhere = await app.seedUser({ role: 'ADMIN', projectId: other, keyProjectId: other });
    for (const caller of [stranger.key, elsewhere.key]) {
      const res = await app.gql(ROTATE, { id: apiKey.id }, { key: caller });
      expect(res.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    }
    const missing = await app.gql(
      ROTATE,
      { id: globalId('ApiKey', '0190a2b4-0000-7000-8000-000000000000') },
      { key: owner.key },
    );
    expect(missing.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await viewer(key)).status).toBe(200);

    const tooLong = await app.gql(ROTATE, { id: apiKey.id, overlap: 604_801 }, { key });
    expect(tooLong.body.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'overlapSeconds'],
    });
    const negative = await app.gql(ROTATE, { id: apiKey.id, overlap: -1 }, { key });
    expect(negative.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect((await viewer(key)).status).toBe(200);

    await app.gql(`mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id } } }`, {
      id: apiKey.id,
    });
    const revoked = await app.gql(ROTATE, { id: apiKey.id });
    expect(revoked.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('streams opened with a secret rotated out', () => {
  const EVENTS = `subscription($p: ID!) { evaluationEvents(projectId: $p) { type } }`;
  const vars = () => ({ p: globalId('Project', app.projectId) });
  const streams = { count: (keyId: string) => app.server.services.subscriptions.openCount(keyId) };
  /** A WebSocket subscription and an SSE one with `key`, and the code its socket closes with. */
  function open(key: string) {
    const socket = { code: null as number | null };
    const client = wsClient(app.url, key, { onClose: (code) => (socket.code = code) });
    const ws = subscribeWs(client, EVENTS, vars());
    const sse = subscribeSse(app.url, key, EVENTS, vars());
    return { socket, client, ws, sse };
  }

  it('end when the rotation leaves no overlap, as a revoked key’s do; the new secret’s stay', async () => {
    const owner = await app.seedUser({ role: 'DEVELOPER' });
    const created = await app.gql(CREATE, { input: {} }, { key: owner.key });
    const { key: first, apiKey } = created.body.data.createApiKey;
    const keyId = Buffer.from(apiKey.id, 'base64').toString().split(':')[1];
    const old = open(first);
    await until(() => streams.count(keyId) === 2, 5_000, 'two streams');
    const rotated = await app.gql(ROTATE, { id: apiKey.id, overlap: 0 }, { key: owner.key });
    expect(rotated.body.errors).toBeUndefined();
    const second = rotated.body.data.rotateApiKey.key;
    await until(() => old.socket.code !== null, 5_000, 'the old secret’s socket to close');
    expect(old.socket.code).toBe(4403);
    await expect(old.ws.done).rejects.toBeDefined();
    await old.sse.done;
    expect(streams.count(keyId)).toBe(0);
    // The new secret opens streams, and a check of the key leaves them open.
    const fresh = open(second);
    await until(() => streams.count(keyId) === 2, 5_000, 'two new streams');
    await app.server.services.subscriptions.recheck();
    expect(streams.count(keyId)).toBe(2);
    expect(fresh.socket.code).toBeNull();
    fresh.ws.stop();
    fresh.sse.dispose();
    await fresh.client.dispose();
    old.sse.dispose();
  });

  it('end once the overlap is over (at the next check of open streams)', async () => {
    const start = Date.now();
    try {
      const owner = await app.seedUser({ role: 'DEVELOPER' });
      const created = await app.gql(CREATE, { input: {} }, { key: owner.key });
      const { key: first, apiKey } = created.body.data.createApiKey;
      const keyId = Buffer.from(apiKey.id, 'base64').toString().split(':')[1];
      app.server.deps.clock.now = () => new Date(start);
      const rotated = await app.gql(ROTATE, { id: apiKey.id, overlap: 60 }, { key: owner.key });
      const second = rotated.body.data.rotateApiKey.key;
      // During the overlap both secrets open streams, and a check keeps them.
      const old = open(first);
      const fresh = open(second);
      await until(() => streams.count(keyId) === 4, 5_000, 'four streams');
      await app.server.services.subscriptions.recheck();
      expect(streams.count(keyId)).toBe(4);
      app.server.deps.clock.now = () => new Date(start + 60_000);
      await app.server.services.subscriptions.recheck();
      await until(() => old.socket.code !== null, 5_000, 'the old secret’s socket to close');
      expect(old.socket.code).toBe(4403);
      await expect(old.ws.done).rejects.toBeDefined();
      await old.sse.done;
      expect(streams.count(keyId)).toBe(2);
      expect(fresh.socket.code).toBeNull();
      fresh.ws.stop();
      fresh.sse.dispose();
      old.sse.dispose();
      await fresh.client.dispose();
    } finally {
      app.server.deps.clock.now = () => new Date();
    }
  });
});

const multi = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);

it(multi
  ? 'two API processes: a secret rotated on one is refused by the other'
  : 'a secret rotated with a real overlap is refused once it ends', async () => {
  // Embedded: one process owns the database, so this test's own server plays both parts.
  const deployment = multi ? await createDeployment({ project: 'rotation', shared: true }) : null;
  try {
    const a = deployment ? await deployment.startApi() : { url: app.url };
    const b = deployment ? await deployment.startApi() : a;
    const admin = deployment?.key ?? app.adminKey;
    const post = async (url: string, query: string, variables: object, key: string) => {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, body: await res.json() };
    };
    const works = async (url: string, key: string) =>
      (await post(url, '{ viewer { id } }', {}, key)).status === 200;
    const created = await post(a.url, CREATE, { input: {} }, admin);
    const { key: first, apiKey } = created.body.data.createApiKey;
    // b has the key's principal in its cache.
    expect(await works(b.url, first)).toBe(true);

    const r1 = await post(a.url, ROTATE, { id: apiKey.id, overlap: 0 }, admin);
    const second = r1.body.data.rotateApiKey.key;
    expect(await works(b.url, second)).toBe(true);
    await until(async () => !(await works(b.url, first)), 10_000, 'the old secret refused on b');

    // A short overlap: the old secret works on b now, and is refused there once it ends.
    const r2 = await post(a.url, ROTATE, { id: apiKey.id, overlap: 3 }, admin);
    const third = r2.body.data.rotateApiKey.key;
    expect(await works(b.url, second)).toBe(true);
    expect(await works(b.url, third)).toBe(true);
    await until(async () => !(await works(b.url, second)), 20_000, 'the overlap to end on b');
    const refused = await post(b.url, '{ viewer { id } }', {}, second);
    expect(refused.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(await works(a.url, second)).toBe(false);
    expect(await works(b.url, third)).toBe(true);
  } finally {
    await deployment?.close();
  }
}, 120_000);
