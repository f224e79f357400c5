// The WebSocket endpoint under misuse: missing and revoked keys, other subprotocols, limits per
// connection and per key, the init timeout, oversized messages, hostile upgrades and floods.
import net from 'node:net';
import WebSocket from 'ws';
import { createTestApp, globalId, type TestApp } from './support/app';
import { subscribeSse, subscribeWs, until, wsClient } from './support/live';
import { initialisedSocket, rawSocket } from './support/raw-ws';

let app: TestApp;

beforeAll(async () => {
  app = await createTestApp({
    EVALGRAPH_WS_MAX_SUBSCRIPTIONS: '3',
    EVALGRAPH_SUBSCRIPTIONS_PER_KEY: '5',
    EVALGRAPH_WS_INIT_TIMEOUT_MS: '300',
    EVALGRAPH_WS_MAX_PAYLOAD_BYTES: '4096',
  });
});
afterAll(() => app.close());

const EVENTS = `subscription($p: ID!) { evaluationEvents(projectId: $p) { type } }`;
const vars = () => ({ p: globalId('Project', app.projectId) });
const wsUrl = () => `${app.url.replace('http', 'ws')}/graphql`;

const raw = (protocol?: string | string[]) => rawSocket(wsUrl(), protocol);
const initialised = (key: string) => initialisedSocket(wsUrl(), key);

const alive = async () => (await fetch(`${app.url}/health/live`)).status === 200;

it('closes a connection without a key, or with an unknown one, at connection_init (4403)', async () => {
  for (const payload of [{}, { authorization: 'Bearer evg_nope_000000000000000000000000000000' }]) {
    const conn = raw();
    await conn.opened;
    conn.socket.send(JSON.stringify({ type: 'connection_init', payload }));
    expect((await conn.closed).code).toBe(4403);
  }
});

it('offers only the graphql-transport-ws subprotocol', async () => {
  // The handshake as the server answers it: which subprotocol it picks, then the close code it sends.
  const handshake = (protocols: string) =>
    new Promise<{ head: string; closeCode: number | null }>((resolve) => {
      const socket = net.connect(Number(new URL(app.url).port), '127.0.0.1', () =>
        socket.write(
          `GET /graphql HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: ${protocols}\r\n\r\n`,
        ),
      );
      let data = Buffer.alloc(0);
      const done = () => {
        socket.destroy();
        const end = data.indexOf('\r\n\r\n');
        const head = data.subarray(0, end).toString();
        const frame = data.subarray(end + 4);
        // A server close frame: 0x88, payload length, then the code (big-endian).
        resolve({
          head,
          closeCode: frame[0] === 0x88 && frame.length >= 4 ? frame.readUInt16BE(2) : null,
        });
      };
      socket.on('data', (d) => {
        data = Buffer.concat([data, d]);
        if (data.indexOf('\r\n\r\n') >= 0 && data.length > data.indexOf('\r\n\r\n') + 4) done();
      });
      socket.on('error', done);
      setTimeout(done, 2_000);
    });
  const legacy = await handshake('graphql-ws');
  expect(legacy.head).toMatch(/^HTTP\/1\.1 101/);
  expect(legacy.head.toLowerCase()).not.toContain('sec-websocket-protocol');
  expect(legacy.closeCode).toBe(4406);
  const both = await handshake('graphql-ws, graphql-transport-ws');
  expect(both.head.toLowerCase()).toContain('sec-websocket-protocol: graphql-transport-ws');
  // Accepted: closed only later, for want of a connection_init within 300 ms.
  expect(both.closeCode).toBe(4408);
});

it('closes a connection that sends no connection_init within the timeout (4408)', async () => {
  const conn = raw();
  await conn.opened;
  expect((await conn.closed).code).toBe(4408);
});

it('closes a connection that sends a message over the size limit (1009)', async () => {
  const conn = await initialised(app.adminKey);
  conn.socket.send(
    JSON.stringify({
      id: '1',
      type: 'subscribe',
      payload: { query: `subscription { __typename } # ${'x'.repeat(10_000)}` },
    }),
  );
  expect((await conn.closed).code).toBe(1009);
  expect(await alive()).toBe(true);
});

it('caps operations per connection (RATE_LIMITED) and survives a subscribe flood', async () => {
  const user = await app.seedUser({ role: 'VIEWER' });
  const conn = await initialised(user.key);
  for (let i = 0; i < 2_000; i++)
    conn.socket.send(
      JSON.stringify({
        id: String(i),
        type: 'subscribe',
        payload: { query: EVENTS, variables: vars() },
      }),
    );
  await until(
    () => conn.messages.filter((m) => m.type === 'error').length === 1_997,
    20_000,
    '1,997 refusals',
  );
  const refused = conn.messages.filter((m) => m.type === 'error');
  expect(new Set(refused.map((m) => m.payload[0].extensions.code))).toEqual(
    new Set(['RATE_LIMITED']),
  );
  expect(conn.socket.readyState).toBe(WebSocket.OPEN);
  expect(app.server.services.subscriptions.openCount(await keyIdOf(user.key))).toBe(3);
  conn.socket.close();
  await until(
    async () => app.server.services.subscriptions.openCount(await keyIdOf(user.key)) === 0,
    5_000,
    'streams to end',
  );
  expect(await alive()).toBe(true);
});

it('caps open streams per key across connections and transports (RATE_LIMITED)', async () => {
  const user = await app.seedUser({ role: 'VIEWER' });
  const a = wsClient(app.url, user.key);
  const b = wsClient(app.url, user.key);
  const subs = [
    subscribeWs(a, EVENTS, vars()),
    subscribeWs(a, EVENTS, vars()),
    subscribeWs(b, EVENTS, vars()),
    subscribeWs(b, EVENTS, vars()),
  ];
  const sse = subscribeSse(app.url, user.key, EVENTS, vars());
  const keyId = await keyIdOf(user.key);
  await until(
    () => app.server.services.subscriptions.openCount(keyId) === 5,
    5_000,
    'five streams',
  );
  const sixth = await subscribeWs(b, EVENTS, vars()).done;
  expect(sixth[0].errors.map((e: any) => e.extensions.code)).toEqual(['RATE_LIMITED']);
  subs.forEach((s) => s.stop());
  sse.dispose();
  await a.dispose();
  await b.dispose();
});

it("closes a revoked key's sockets (4403) and ends its SSE streams", async () => {
  const user = await app.seedUser({ role: 'VIEWER' });
  let closedWith: number | null = null;
  const client = wsClient(app.url, user.key, { onClose: (code) => (closedWith = code) });
  const ws = subscribeWs(client, EVENTS, vars());
  const sse = subscribeSse(app.url, user.key, EVENTS, vars());
  const keyId = await keyIdOf(user.key);
  await until(() => app.server.services.subscriptions.openCount(keyId) === 2, 5_000, 'two streams');
  const revoked = await app.gql(
    `mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { revokedAt } } }`,
    { input: { id: globalId('ApiKey', keyId) } },
  );
  expect(revoked.body.errors).toBeUndefined();
  await until(() => closedWith !== null, 5_000, 'the socket to close');
  expect(closedWith).toBe(4403);
  await expect(ws.done).rejects.toBeDefined();
  await sse.done;
  expect(app.server.services.subscriptions.openCount(keyId)).toBe(0);
  // A new connection with the key is refused.
  const again = raw();
  await again.opened;
  again.socket.send(
    JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${user.key}` } }),
  );
  expect((await again.closed).code).toBe(4403);
  sse.dispose();
});

it('ends the streams of a user who loses access to the project (checked every 30 s)', async () => {
  const user = await app.seedUser({ role: 'VIEWER' });
  const client = wsClient(app.url, user.key);
  const sub = subscribeWs(client, EVENTS, vars());
  const keyId = await keyIdOf(user.key);
  await until(() => app.server.services.subscriptions.openCount(keyId) === 1, 5_000, 'the stream');
  await app.server.services.subscriptions.recheck();
  expect(app.server.services.subscriptions.openCount(keyId)).toBe(1);
  await app.server.deps.db.prisma.membership.deleteMany({ where: { userId: user.userId } });
  await app.server.services.subscriptions.recheck();
  await sub.done;
  expect(app.server.services.subscriptions.openCount(keyId)).toBe(0);
  await client.dispose();
});

it('survives hostile upgrades: thousands of headers, bad paths, garbage', async () => {
  const send = (text: string) =>
    new Promise<string>((resolve) => {
      const socket = net.connect(Number(new URL(app.url).port), '127.0.0.1', () =>
        socket.end(text),
      );
      let out = '';
      socket.on('data', (d) => (out += d));
      socket.on('close', () => resolve(out));
      socket.on('error', () => resolve(out));
    });
  const upgrade =
    'GET /graphql HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n';
  const manyHeaders = Array.from({ length: 5_000 }, (_, i) => `X-H${i}: v`).join('\r\n');
  expect(await send(`${upgrade}${manyHeaders}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431/);
  expect(await send(`${upgrade.replace('/graphql', '/elsewhere')}\r\n`)).toMatch(/^HTTP\/1\.1 404/);
  await send(`${upgrade.replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 99')}\r\n`);
  await send('\x00\x01garbage\r\n\r\n');
  await Promise.all(
    Array.from({ length: 200 }, () => send(`${upgrade}\r\n\x88\x80\x00\x00\x00\x00`)),
  );
  // Upgrades to other paths whose client resets the connection at once.
  await Promise.all(
    Array.from(
      { length: 50 },
      () =>
        new Promise<void>((resolve) => {
          const socket = net.connect(Number(new URL(app.url).port), '127.0.0.1', () => {
            socket.write(`${upgrade.replace('/graphql', '/x')}\r\n`);
            socket.resetAndDestroy();
            resolve();
          });
          socket.on('error', () => resolve());
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, 200));
  expect(await alive()).toBe(true);
});

async function keyIdOf(key: string): Promise<string> {
  const principal = await app.server.services.auth.authenticate(key);
  if (!principal) throw new Error('unknown key');
  return principal.keyId;
}

it('pings every socket and cuts one that does not answer by the next ping (one heartbeat, 12 s)', async () => {
  const answering = await initialised(app.adminKey);
  // A client that never answers pings (ws answers them by itself unless told not to).
  const silent = new WebSocket(wsUrl(), 'graphql-transport-ws', { autoPong: false });
  let pings = 0;
  silent.on('ping', () => pings++);
  const cut = new Promise<number>((resolve) => silent.on('close', (code) => resolve(code)));
  await new Promise((resolve) => silent.once('open', resolve));
  silent.send(
    JSON.stringify({
      type: 'connection_init',
      payload: { authorization: `Bearer ${app.adminKey}` },
    }),
  );
  // Pinged once, then cut at the next beat: terminated, so the client sees no close frame (1006).
  expect(await cut).toBe(1006);
  expect(pings).toBeGreaterThanOrEqual(1);
  expect(answering.socket.readyState).toBe(WebSocket.OPEN);
  answering.socket.close();
}, 40_000);
