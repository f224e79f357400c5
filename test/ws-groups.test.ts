// Review of the WebSocket push path: subscriptions of one key, document and variables share one
// execution per event (a group run with its first member's context). A group must never carry
// another project's events, must go on for its other members when its first one leaves, and must
// give its slot back; the protocol must answer as graphql-ws's own server does.
import { emitAlert } from '../src/modules/alerts/events';
import { createEvaluation } from './support/evaluations';
import { createTestApp, globalId, type TestApp } from './support/app';
import { subscribeWs, until, wsClient } from './support/live';
import { initialisedSocket, rawSocket } from './support/raw-ws';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ EVALGRAPH_SUBSCRIPTIONS_PER_KEY: '3' });
});
afterAll(() => app.close());

const ALERTS = `subscription($p: ID!) { alertFired(projectId: $p) { ruleName value } }`;
const wsUrl = () => `${app.url.replace('http', 'ws')}/graphql`;
let seq = 0;

async function keyIdOf(key: string): Promise<string> {
  const principal = await app.server.services.auth.authenticate(key);
  if (!principal) throw new Error('unknown key');
  return principal.keyId;
}

/**
 * Waits until none of the key's streams is open, here and (with Redis) in its cluster-wide slots,
 * whose release follows the stream's end.
 */
async function released(keyId: string) {
  const { redis, config } = app.server.deps;
  await until(
    async () =>
      app.server.services.subscriptions.openCount(keyId) === 0 &&
      (!redis || (await redis.zcard(`${config.redis?.keyPrefix ?? ''}subs:${keyId}`)) === 0),
    5_000,
    'the key to hold no stream',
  );
}

/** Fires an alert of `projectId` named `ruleName`. */
async function fire(projectId: string, ruleName: string) {
  const n = String(++seq).padStart(12, '0');
  await app.server.services.events.transaction(async (_sql, emit) =>
    emitAlert(emit, {
      eventId: `0190c7d4-0000-7000-8000-${n}`,
      ruleId: '0190c7d4-0000-7000-8000-000000000001',
      ruleName,
      metric: 'COST',
      projectId,
      fromState: 'OK',
      state: 'FIRING',
      value: seq,
      threshold: 10,
      windowSeconds: 300,
      at: new Date().toISOString(),
    }),
  );
}

const subscribeMessage = (id: string, projectId: string) =>
  JSON.stringify({
    id,
    type: 'subscribe',
    payload: { query: ALERTS, variables: { p: globalId('Project', projectId) } },
  });
const namesOf = (messages: any[], id: string) =>
  messages
    .filter((m) => m.id === id && m.type === 'next')
    .map((m) => m.payload.data?.alertFired?.ruleName ?? m.payload.errors?.[0]?.extensions?.code);

it('never gives a key of another project the events of a group it asks to join (NOT_FOUND)', async () => {
  const other = await app.seedProject();
  const outsider = await app.seedUser({ role: 'ADMIN', projectId: other });
  const admin = wsClient(app.url, app.adminKey);
  const mine = subscribeWs(admin, ALERTS, { p: globalId('Project', app.projectId) });
  await until(
    async () => app.server.services.subscriptions.openCount(await keyIdOf(app.adminKey)) === 1,
    5_000,
    "the admin's subscription",
  );
  const intruder = wsClient(app.url, outsider.key);
  const theirs = subscribeWs(intruder, ALERTS, { p: globalId('Project', app.projectId) });
  const refused = await theirs.done;
  expect(refused).toHaveLength(1);
  expect(refused[0].errors.map((e: any) => e.extensions.code)).toEqual(['NOT_FOUND']);
  await fire(app.projectId, 'for A only');
  await until(() => mine.events.length === 1, 5_000, 'the alert');
  expect(theirs.events).toHaveLength(1);
  expect(app.server.services.subscriptions.openCount(await keyIdOf(outsider.key))).toBe(0);
  await admin.dispose();
  await intruder.dispose();
});

it("goes on for the group's other members when its first member completes, and frees each slot", async () => {
  const user = await app.seedUser({ role: 'VIEWER' });
  const keyId = await keyIdOf(user.key);
  const first = await initialisedSocket(wsUrl(), user.key);
  const second = await initialisedSocket(wsUrl(), user.key);
  first.socket.send(subscribeMessage('a', app.projectId));
  await until(() => app.server.services.subscriptions.openCount(keyId) === 1, 5_000, 'first');
  second.socket.send(subscribeMessage('b', app.projectId));
  await until(() => app.server.services.subscriptions.openCount(keyId) === 2, 5_000, 'second');
  await fire(app.projectId, 'both');
  await until(
    () => namesOf(first.messages, 'a').length === 1 && namesOf(second.messages, 'b').length === 1,
    5_000,
    'both to get the first alert',
  );
  // The first member (whose context runs the group) leaves.
  first.socket.send(JSON.stringify({ id: 'a', type: 'complete' }));
  await until(() => app.server.services.subscriptions.openCount(keyId) === 1, 5_000, 'a slot back');
  await fire(app.projectId, 'second only');
  await until(() => namesOf(second.messages, 'b').length === 2, 5_000, 'the second alert');
  expect(namesOf(second.messages, 'b')).toEqual(['both', 'second only']);
  expect(namesOf(first.messages, 'a')).toEqual(['both']);
  // The same id may be used again once completed; the slots of the key (3) are all free again
  // after every member completes, however often it joined and left.
  for (let round = 0; round < 5; round++) {
    first.socket.send(subscribeMessage('a', app.projectId));
    await until(() => app.server.services.subscriptions.openCount(keyId) === 2, 5_000, 'rejoin');
    first.socket.send(JSON.stringify({ id: 'a', type: 'complete' }));
    await until(() => app.server.services.subscriptions.openCount(keyId) === 1, 5_000, 'leave');
  }
  second.socket.close();
  await released(keyId);
  for (const id of ['x', 'y', 'z']) first.socket.send(subscribeMessage(id, app.projectId));
  await until(() => app.server.services.subscriptions.openCount(keyId) === 3, 5_000, 'three');
  await fire(app.projectId, 'three');
  await until(
    () => ['x', 'y', 'z'].every((id) => namesOf(first.messages, id).length === 1),
    5_000,
    'three alerts',
  );
  expect(first.messages.filter((m) => m.type === 'error')).toEqual([]);
  first.socket.close();
});

it('answers as graphql-ws does: 4401 before init, 4409 for a running id, 4400 for a bad subscribe', async () => {
  const early = rawSocket(wsUrl());
  await early.opened;
  early.socket.send(subscribeMessage('1', app.projectId));
  expect((await early.closed).code).toBe(4401);

  const dup = await initialisedSocket(wsUrl(), app.adminKey);
  dup.socket.send(subscribeMessage('1', app.projectId));
  dup.socket.send(subscribeMessage('1', app.projectId));
  expect((await dup.closed).code).toBe(4409);
  const keyId = await keyIdOf(app.adminKey);
  await until(() => app.server.services.subscriptions.openCount(keyId) === 0, 5_000, 'released');

  const bad = await initialisedSocket(wsUrl(), app.adminKey);
  bad.socket.send(JSON.stringify({ type: 'subscribe', payload: { query: ALERTS } }));
  expect((await bad.closed).code).toBe(4400);

  const badPayload = await initialisedSocket(wsUrl(), app.adminKey);
  badPayload.socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 42 } }));
  expect((await badPayload.closed).code).toBe(4400);
});

it("stops a revoked key's members at once while another key's member of the same document goes on", async () => {
  const kept = await app.seedUser({ role: 'VIEWER' });
  const revoked = await app.seedUser({ role: 'VIEWER' });
  const keptSocket = await initialisedSocket(wsUrl(), kept.key);
  const revokedSocket = await initialisedSocket(wsUrl(), revoked.key);
  revokedSocket.socket.send(subscribeMessage('r', app.projectId));
  keptSocket.socket.send(subscribeMessage('k', app.projectId));
  const revokedId = await keyIdOf(revoked.key);
  const keptId = await keyIdOf(kept.key);
  await until(
    () =>
      app.server.services.subscriptions.openCount(revokedId) === 1 &&
      app.server.services.subscriptions.openCount(keptId) === 1,
    5_000,
    'both subscriptions',
  );
  const answer = await app.gql(
    `mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { revokedAt } } }`,
    { input: { id: globalId('ApiKey', revokedId) } },
  );
  expect(answer.body.errors).toBeUndefined();
  expect((await revokedSocket.closed).code).toBe(4403);
  await fire(app.projectId, 'after revocation');
  await until(() => namesOf(keptSocket.messages, 'k').length === 1, 5_000, 'the alert');
  expect(namesOf(revokedSocket.messages, 'r')).toEqual([]);
  expect(app.server.services.subscriptions.openCount(revokedId)).toBe(0);
  keptSocket.socket.close();
});

it('ends a stream when its role is lowered; one opened after it sees only the new role', async () => {
  const p = globalId('Project', app.projectId);
  const SET_ROLE =
    'mutation($p: ID!, $email: String!, $role: Role!) { addProjectMember(input: { projectId: $p, email: $email, role: $role }) { membership { role } } }';
  const member = await app.seedUser({ role: 'ADMIN' });
  const keyId = await keyIdOf(member.key);
  // viewerRole is computed from the executing context's principal: it shows whose access ran it.
  const WHO = `subscription($p: ID!) { evaluationEvents(projectId: $p) { type evaluation { project { viewerRole } } } }`;
  const before = await initialisedSocket(wsUrl(), member.key);
  before.socket.send(
    JSON.stringify({ id: 'old', type: 'subscribe', payload: { query: WHO, variables: { p } } }),
  );
  await until(() => app.server.services.subscriptions.openCount(keyId) === 1, 5_000, 'first');
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
  // The stream opened as ADMIN ends once the role is lowered (the guard's access check).
  await until(() => app.server.services.subscriptions.openCount(keyId) === 0, 5_000, 'old ended');
  const after = await initialisedSocket(wsUrl(), member.key);
  after.socket.send(
    JSON.stringify({ id: 'new', type: 'subscribe', payload: { query: WHO, variables: { p } } }),
  );
  await until(() => app.server.services.subscriptions.openCount(keyId) === 1, 5_000, 'second');
  await createEvaluation(
    app,
    [{ type: 'regex', name: 'r', input: '{{sample.output_text}}', pattern: 'a' }],
    [{ input: 1, output: 'a' }],
  );
  const roles = (messages: any[], id: string) =>
    messages
      .filter((m) => m.id === id && m.type === 'next')
      .map((m) => m.payload.data?.evaluationEvents?.evaluation?.project?.viewerRole);
  await until(() => roles(after.messages, 'new').length > 0, 5_000, 'an event');
  expect(new Set(roles(after.messages, 'new'))).toEqual(new Set(['VIEWER']));
  // The old stream was completed, and computed no event with the role its key lost.
  expect(before.messages.some((m) => m.id === 'old' && m.type === 'complete')).toBe(true);
  expect(roles(before.messages, 'old').filter((role) => role !== 'VIEWER')).toEqual([]);
  before.socket.close();
  after.socket.close();
  await until(() => app.server.services.subscriptions.openCount(keyId) === 0, 5_000, 'released');
});

it('gives the slot back when a subscription is completed, or its socket closed, while it is being set up', async () => {
  const user = await app.seedUser({ role: 'VIEWER' });
  const keyId = await keyIdOf(user.key);
  const conn = await initialisedSocket(wsUrl(), user.key);
  // Completed in the same breath as the subscribe: the server is still checking the key.
  for (let round = 0; round < 6; round++) {
    conn.socket.send(subscribeMessage(`s${round}`, app.projectId));
    conn.socket.send(JSON.stringify({ id: `s${round}`, type: 'complete' }));
  }
  for (let round = 0; round < 6; round++) {
    const gone = await initialisedSocket(wsUrl(), user.key);
    gone.socket.send(subscribeMessage('g', app.projectId));
    gone.socket.close();
    await gone.closed;
  }
  await released(keyId);
  // All three of the key's slots are free: three subscriptions open and get the next alert.
  for (const id of ['x', 'y', 'z']) conn.socket.send(subscribeMessage(id, app.projectId));
  await until(() => app.server.services.subscriptions.openCount(keyId) === 3, 5_000, 'three');
  await fire(app.projectId, 'after the churn');
  await until(
    () => ['x', 'y', 'z'].every((id) => namesOf(conn.messages, id).length === 1),
    5_000,
    'three alerts',
  );
  expect(conn.messages.filter((m) => m.type === 'error')).toEqual([]);
  // Nothing was sent for the operations completed during their setup.
  expect(conn.messages.filter((m) => /^s\d$/.test(m.id))).toEqual([]);
  conn.socket.close();
});
