// A change of membership, role or tier made through one API process holds on every other at
// once (announced through Redis), not after the 5 s for which a process may reuse a key's
// principal. With Postgres and Redis there are two API servers on one database; on the embedded
// database one process owns it, and the same checks run against it alone.
import pino from 'pino';
import { serve } from '../src/serve';
import { createTestApp, globalId, type TestApp } from './support/app';
import { subscribeSse, until } from './support/live';

const multi = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);

let app: TestApp;
let other: Awaited<ReturnType<typeof serve>> | null = null;
/** The second API server's URL (the first's on the embedded database). */
let b: string;

beforeAll(async () => {
  app = await createTestApp();
  if (multi) {
    other = await serve(app.server.deps.config, 'api', {
      log: pino({ level: 'silent' }),
      print: () => {},
    });
    b = other.api!.url;
  } else {
    b = app.url;
  }
});
afterAll(async () => {
  await other?.stop();
  await app.close();
});

async function gqlAt(
  url: string,
  key: string,
  query: string,
  variables: Record<string, unknown> = {},
) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] };
}

const ROLE = 'query($p: ID!) { project(id: $p) { viewerRole } }';
const SET_ROLE =
  'mutation($p: ID!, $email: String!, $role: Role!) { addProjectMember(input: { projectId: $p, email: $email, role: $role }) { membership { role } } }';
const WRITE =
  'mutation($p: ID!) { createDataset(input: { projectId: $p, name: "by a member" }) { dataset { id } } }';

// Within a second: well inside the 5 s a process may otherwise reuse a cached principal.
const soon = (predicate: () => Promise<boolean>, what: string) => until(predicate, 1_000, what);

it('a role raised or lowered through one process holds on the other at once', async () => {
  const p = globalId('Project', app.projectId);
  const member = await app.seedUser({ role: 'VIEWER' });
  // The other process has the member's principal cached as VIEWER.
  expect((await gqlAt(b, member.key, ROLE, { p })).data.project.viewerRole).toBe('VIEWER');
  expect((await gqlAt(b, member.key, WRITE, { p })).errors?.[0].extensions?.code).toBe('FORBIDDEN');

  expect(
    (await app.gql(SET_ROLE, { p, email: member.email, role: 'DEVELOPER' })).body.errors,
  ).toBeUndefined();
  await soon(
    async () => (await gqlAt(b, member.key, ROLE, { p })).data.project.viewerRole === 'DEVELOPER',
    'the raised role on the other process',
  );
  expect((await gqlAt(b, member.key, WRITE, { p })).errors).toBeUndefined();

  // Lowered to BILLING: it no longer reads the project's evaluations, and its open stream ends.
  const stream = subscribeSse(
    b,
    member.key,
    'subscription($p: ID!) { evaluationEvents(projectId: $p) { type } }',
    { p },
  );
  try {
    await new Promise((r) => setTimeout(r, 300));
    expect(
      (await app.gql(SET_ROLE, { p, email: member.email, role: 'BILLING' })).body.errors,
    ).toBeUndefined();
    await soon(
      async () =>
        (await gqlAt(b, member.key, WRITE, { p })).errors?.[0].extensions?.code === 'FORBIDDEN',
      'the lowered role on the other process',
    );
    await expect(
      Promise.race([
        stream.done.then(() => 'ended'),
        new Promise((r) => setTimeout(() => r('still open'), 2_000)),
      ]),
    ).resolves.toBe('ended');
  } finally {
    stream.dispose();
  }
});

it('a tier set through one process is the bucket on the other at once', async () => {
  const user = await app.seedUser({ role: 'VIEWER', tier: 'FREE' });
  const capacity = async () =>
    (await gqlAt(b, user.key, '{ rateLimit { limit } viewer { tier } }')).data;
  const before = await capacity();
  expect(before.viewer.tier).toBe('FREE');
  const set = await app.gql(
    'mutation($id: ID!) { setUserTier(input: { userId: $id, tier: ENTERPRISE }) { user { tier } } }',
    { id: globalId('User', user.userId) },
  );
  expect(set.body.errors).toBeUndefined();
  await soon(
    async () => (await capacity()).viewer.tier === 'ENTERPRISE',
    'the new tier on the other process',
  );
  expect((await capacity()).rateLimit.limit).toBeGreaterThan(before.rateLimit.limit);
});
