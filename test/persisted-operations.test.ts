// Trusted documents: the operations in schema/operations, hashed by codegen into a manifest the
// server loads, plus operations registered per project. With PERSISTED_QUERY_ONLY a non-admin
// key runs nothing else over any transport; an admin key runs anything.
import { createHash } from 'node:crypto';
import manifest from '../schema/operations/generated/persisted-documents.json';
import { createTestApp, globalId, type TestApp } from './support/app';
import { subscribeSse, subscribeWs, wsClient } from './support/live';

let app: TestApp;
let developer: string; // DEVELOPER of the test project
let outsider: string; // DEVELOPER of another project
let projectAdmin: string; // ADMIN of the test project, with a key of the user (not bound: no bypass)
let evaluationId: string;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const idOf = (name: string) => {
  const entry = Object.entries(manifest).find(
    ([, doc]) => doc.includes(` ${name}`) && doc.split('{')[0].includes(name),
  );
  if (!entry) throw new Error(`no ${name} in the manifest`);
  return { documentId: entry[0], hash: entry[0].slice('sha256:'.length), text: entry[1] };
};

beforeAll(async () => {
  app = await createTestApp({ PERSISTED_QUERY_ONLY: 'true', EVALGRAPH_MAX_QUERY_COST: '3000' });
  developer = (await app.seedUser({ role: 'DEVELOPER' })).key;
  const other = await app.seedProject('other');
  outsider = (await app.seedUser({ role: 'DEVELOPER', projectId: other })).key;
  projectAdmin = (await app.seedUser({ role: 'ADMIN' })).key;
});
afterAll(() => app.close());

const post = (key: string, body: unknown) =>
  fetch(app.graphqlUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${key}`,
    },
    body: JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));
const get = (key: string, params: Record<string, string>) =>
  fetch(`${app.graphqlUrl}?${new URLSearchParams(params)}`, {
    headers: { accept: 'application/graphql-response+json', authorization: `Bearer ${key}` },
  }).then(async (r) => ({ status: r.status, body: await r.json() }));

describe('a non-admin key', () => {
  it('runs manifest documents by documentId (POST and GET), by APQ hash, and as their exact text', async () => {
    const rateLimit = idOf('RateLimit');
    for (const res of [
      await post(developer, { documentId: rateLimit.documentId }),
      await get(developer, { documentId: rateLimit.documentId }),
      await post(developer, {
        extensions: { persistedQuery: { version: 1, sha256Hash: rateLimit.hash } },
      }),
      await post(developer, { query: rateLimit.text }),
    ]) {
      expect(res.status).toBe(200);
      expect(res.body.data.rateLimit.limit).toBeGreaterThan(0);
    }
  });

  it('is refused any other document, over POST, GET and APQ registration, with 403 PERSISTED_QUERY_ONLY', async () => {
    const query = '{ viewer { email } }';
    for (const res of [
      await post(developer, { query }),
      await get(developer, { query }),
      await post(developer, {
        query,
        extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } },
      }),
      // The manifest text reformatted is another document.
      await post(developer, {
        query: idOf('RateLimit').text.replace('{ rateLimit', '{\n  rateLimit'),
      }),
    ]) {
      expect(res.status).toBe(403);
      expect(res.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_ONLY');
    }
    // The APQ registration did not store it.
    const byHash = await post(developer, {
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } },
    });
    expect(byHash.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    // Batches are not served at all.
    const batch = await fetch(app.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${developer}` },
      body: JSON.stringify([{ documentId: idOf('RateLimit').documentId }, { query }]),
    });
    expect(batch.status).toBe(400);
  });

  it('is refused arbitrary subscriptions over graphql-ws and SSE, and runs the trusted one by hash', async () => {
    const created = await app.gql(
      'mutation($input: CreateEvaluationInput!) { createEvaluation(input: $input) { evaluation { id } } }',
      {
        input: {
          projectId: globalId('Project', app.projectId),
          name: 'persisted',
          testingCriteria: [
            {
              type: 'string_check',
              name: 'exact',
              operation: 'eq',
              input: '{{sample.output_text}}',
              reference: '{{item.expected_output}}',
            },
          ],
          dataSource: { items: [{ input: 'a', output: 'b', expectedOutput: 'b' }] },
        },
      },
    );
    const id = created.body.data.createEvaluation.evaluation.id;
    evaluationId = id;
    const arbitrary = 'subscription($id: ID!) { evaluationProgress(id: $id) { status } }';

    const client = wsClient(app.url, developer);
    try {
      const refused = subscribeWs(client, arbitrary, { id });
      await expect(refused.done).rejects.toEqual([
        expect.objectContaining({
          extensions: expect.objectContaining({ code: 'PERSISTED_QUERY_ONLY' }),
        }),
      ]);
      // graphql-ws needs a string query: the hash travels with an empty one.
      const progress = idOf('EvaluationProgress');
      const events: any[] = [];
      const done = new Promise<void>((resolve, reject) =>
        client.subscribe(
          {
            query: '',
            variables: { id },
            extensions: { persistedQuery: { version: 1, sha256Hash: progress.hash } },
          },
          { next: (v) => events.push(v), error: reject, complete: resolve },
        ),
      );
      await done;
      expect(events.at(-1).data.evaluationProgress.status).toBe('COMPLETED');
    } finally {
      await client.dispose();
    }

    const sse = subscribeSse(app.url, developer, arbitrary, { id });
    await expect(sse.done).rejects.toBeDefined();
    sse.dispose();
    const res = await fetch(app.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${developer}`,
      },
      body: JSON.stringify({ query: arbitrary, variables: { id } }),
    });
    expect(await res.text()).toContain('PERSISTED_QUERY_ONLY');
    const trusted = await fetch(app.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${developer}`,
      },
      body: JSON.stringify({
        documentId: idOf('EvaluationProgress').documentId,
        variables: { id },
      }),
    });
    const stream = await trusted.text();
    expect(stream).toContain('"status":"COMPLETED"');
  });
});

/** registerPersistedOperations, itself a trusted document. */
const register = (input: Record<string, unknown>, key: string) =>
  post(key, { documentId: idOf('RegisterPersistedOperations').documentId, variables: { input } });

describe('registered operations', () => {
  const doc = 'query Mine($projectId: ID!) { project(id: $projectId) { name } }';

  it('extend the allow-list of their project only, and are still validated and costed', async () => {
    const projectId = globalId('Project', app.projectId);
    const registered = await register(
      { projectId, clientName: 'dashboard@1', operations: [doc] },
      projectAdmin,
    );
    expect(registered.body.data.registerPersistedOperations.operations).toEqual([
      { hash: `sha256:${sha256(doc)}`, operationNames: ['Mine'], created: true },
    ]);

    const byText = await post(developer, { query: doc, variables: { projectId } });
    expect(byText.body.data.project.name).toBe('test project');
    const byId = await get(developer, {
      documentId: `sha256:${sha256(doc)}`,
      variables: JSON.stringify({ projectId }),
    });
    expect(byId.body.data.project.name).toBe('test project');
    expect(byId.body.extensions.cost.requestedQueryCost).toBe(1);
    // A key of another project cannot use it.
    const other = await post(outsider, {
      documentId: `sha256:${sha256(doc)}`,
      variables: { projectId },
    });
    expect(other.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');

    // Costed at every run: a registered document over the single-query maximum is refused.
    const costly =
      'query Costly($p: ID!) { traces(projectId: $p, first: 100) { edges { node { spans(first: 100) { edges { node { id } } } } } } }';
    expect(
      (await register({ projectId, operations: [costly] }, projectAdmin)).body.errors,
    ).toBeUndefined();
    const refused = await post(developer, {
      documentId: `sha256:${sha256(costly)}`,
      variables: { p: projectId },
    });
    expect(refused.body.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  it("run only in the projects that registered them: another project's allow-list is not widened", async () => {
    // A user who is DEVELOPER of the test project and ADMIN of their own project B.
    const b = await app.seedProject('B of a developer');
    const both = await app.seedUser({ role: 'DEVELOPER' });
    await app.server.services.projects.addMember({
      projectId: b,
      email: both.email,
      role: 'ADMIN',
    });
    const evil = 'query Evil($p: ID!) { traces(projectId: $p) { totalCount } }';
    const write =
      'mutation Write($p: ID!) { createDataset(input: { projectId: $p, name: "through B" }) { dataset { id } } }';
    const home = globalId('Project', app.projectId);
    expect(
      (await post(both.key, { query: evil, variables: { p: home } })).body.errors[0].extensions
        .code,
    ).toBe('PERSISTED_QUERY_ONLY');
    expect(
      (await register({ projectId: globalId('Project', b), operations: [evil, write] }, both.key))
        .body.errors,
    ).toBeUndefined();
    for (const body of [
      { query: evil, variables: { p: home } },
      { documentId: `sha256:${sha256(evil)}`, variables: { p: home } },
      { query: write, variables: { p: home } },
    ]) {
      const res = await post(both.key, body);
      expect(res.body.errors?.map((e: any) => e.extensions.code)).toEqual(['NOT_FOUND']);
    }
    expect(await app.server.deps.db.prisma.dataset.count({ where: { name: 'through B' } })).toBe(0);
    // Over graphql-ws too.
    const client = wsClient(app.url, both.key);
    const overWs = await subscribeWs(client, evil, { p: home }).done.catch((errors) => errors);
    expect(JSON.stringify(overWs)).toContain('NOT_FOUND');
    await client.dispose();
    // In B itself the document runs.
    expect(
      (await post(both.key, { query: evil, variables: { p: globalId('Project', b) } })).body.data
        .traces.totalCount,
    ).toBe(0);
  });

  it('are checked before they are stored, and need the project ADMIN role', async () => {
    const projectId = globalId('Project', app.projectId);
    const registerAll = (operations: string[], key = projectAdmin) =>
      register({ projectId, operations }, key);
    const invalid = await registerAll(['{ viewer { email } }', 'query { nope }']);
    expect(invalid.body.errors[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'operations', 1],
    });
    expect((await registerAll(['fragment F on User { id }'])).body.errors[0].extensions.code).toBe(
      'BAD_USER_INPUT',
    );
    expect((await registerAll(['{ viewer {'])).body.errors[0].extensions.code).toBe(
      'BAD_USER_INPUT',
    );
    // Nothing of the refused call was stored.
    expect(
      (await post(developer, { query: '{ viewer { email } }' })).body.errors[0].extensions.code,
    ).toBe('PERSISTED_QUERY_ONLY');
    // A developer may not extend the allow-list (else PERSISTED_QUERY_ONLY would not bind them).
    expect(
      (await registerAll(['{ viewer { id } }'], developer)).body.errors[0].extensions.code,
    ).toBe('FORBIDDEN');
    expect(
      (await post(developer, { query: '{ viewer { id } }' })).body.errors[0].extensions.code,
    ).toBe('PERSISTED_QUERY_ONLY');
    // Registering for every project is for instance admins.
    const global = await register({ operations: ['{ viewer { id } }'] }, projectAdmin);
    expect(global.body.errors[0].extensions.code).toBe('FORBIDDEN');
  });
});

describe('admin keys', () => {
  it('run any document: the instance admin, and a key with the ADMIN role of its project', async () => {
    const query = '{ viewer { email } }';
    expect((await post(app.adminKey, { query })).body.data.viewer.email).toBe('admin@test.local');
    const projectAdmin = (await app.seedUser({ role: 'ADMIN', keyProjectId: app.projectId })).key;
    expect((await post(projectAdmin, { query })).status).toBe(200);
    // ADMIN in the project but a key narrowed to VIEWER: no bypass.
    const narrowed = (
      await app.seedUser({ role: 'ADMIN', keyProjectId: app.projectId, keyRole: 'VIEWER' })
    ).key;
    expect((await post(narrowed, { query })).status).toBe(403);
    // And over graphql-ws.
    const client = wsClient(app.url, app.adminKey);
    try {
      const any = subscribeWs(
        client,
        'subscription($id: ID!) { evaluationProgress(id: $id) { status percentDone } }',
        { id: evaluationId },
      );
      const events = await any.done;
      expect(events.at(-1).data.evaluationProgress).toEqual({
        status: 'COMPLETED',
        percentDone: 100,
      });
    } finally {
      await client.dispose();
    }
  });
});
