// Per-key address allowlists (allowedCidrs) through the real server: a key used from an address
// outside its list is refused with FORBIDDEN over HTTP, graphql-ws, SSE and OTLP; the client
// address is the TCP peer, X-Forwarded-For only behind EVALGRAPH_TRUSTED_PROXIES.
import WebSocket from 'ws';
import { createTestApp, globalId, type TestApp } from './support/app';

const CREATE = `mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { key apiKey { id allowedCidrs } }
}`;
const UPDATE = `mutation($input: UpdateApiKeyInput!) {
  updateApiKey(input: $input) { apiKey { id name allowedCidrs } }
}`;

let app: TestApp;
let proxied: TestApp;
beforeAll(async () => {
  app = await createTestApp();
  proxied = await createTestApp({ EVALGRAPH_TRUSTED_PROXIES: '127.0.0.1/32' });
});
afterAll(async () => {
  await app?.close();
  await proxied?.close();
});

const viewer = (on: TestApp, key: string, headers: Record<string, string> = {}) =>
  on.gql('{ viewer { id } }', {}, { key, headers });

async function keyWith(on: TestApp, allowedCidrs: string[] | null) {
  const owner = await on.seedUser({ role: 'DEVELOPER' });
  const res = await on.gql(CREATE, { input: { allowedCidrs } }, { key: owner.key });
  expect(res.body.errors).toBeUndefined();
  return { owner, ...res.body.data.createApiKey } as {
    owner: { key: string };
    key: string;
    apiKey: { id: string; allowedCidrs: string[] | null };
  };
}

/** The close code of a graphql-ws connection_init with this key. */
function wsInit(on: TestApp, key: string) {
  const socket = new WebSocket(`${on.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
  socket.on('error', () => {});
  return new Promise<number | 'ack'>((resolve) => {
    socket.on('open', () =>
      socket.send(
        JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } }),
      ),
    );
    socket.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'connection_ack') {
        resolve('ack');
        socket.close();
      }
    });
    socket.on('close', (code) => resolve(code));
  });
}

const otlp = (on: TestApp, key: string) =>
  fetch(`${on.url}/v1/traces`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${key}`,
      'x-evalgraph-project': globalId('Project', on.projectId),
    },
    body: JSON.stringify({ resourceSpans: [] }),
  });

describe('allowedCidrs', () => {
  it('refuses a key outside its list on every transport, and lets it in once listed', async () => {
    const { key, apiKey, owner } = await keyWith(app, ['10.0.0.0/8']);
    expect(apiKey.allowedCidrs).toEqual(['10.0.0.0/8']);
    const refused = await viewer(app, key);
    expect(refused.status).toBe(403);
    expect(refused.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(refused.body.data ?? null).toBeNull();
    expect(await wsInit(app, key)).toBe(4403);
    expect((await otlp(app, key)).status).toBe(403);
    const sse = await fetch(`${app.url}/graphql?query=${encodeURIComponent('{ viewer { id } }')}`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${key}` },
    });
    expect(await sse.text()).toMatch(/FORBIDDEN/);

    // Listed: allowed at once (the cached principal is dropped), on every transport.
    const updated = await app.gql(
      UPDATE,
      { input: { id: apiKey.id, allowedCidrs: ['10.0.0.0/8', '127.0.0.1'] } },
      { key: owner.key },
    );
    expect(updated.body.data.updateApiKey.apiKey.allowedCidrs).toEqual([
      '10.0.0.0/8',
      '127.0.0.1/32',
    ]);
    expect((await viewer(app, key)).status).toBe(200);
    expect(await wsInit(app, key)).toBe('ack');
    expect((await otlp(app, key)).status).toBe(200);

    // Null: any address again; the name left as it was.
    const cleared = await app.gql(
      UPDATE,
      { input: { id: apiKey.id, allowedCidrs: null } },
      { key: owner.key },
    );
    expect(cleared.body.data.updateApiKey.apiKey).toMatchObject({ allowedCidrs: null });
  });

  it('refuses bad entries, naming them, and too many', async () => {
    const owner = await app.seedUser({ role: 'DEVELOPER' });
    const bad = await app.gql(
      CREATE,
      { input: { allowedCidrs: ['10.0.0.0/8', '10.0.0.0/33'] } },
      { key: owner.key },
    );
    expect(bad.body.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'allowedCidrs', 1],
    });
    expect(bad.body.errors?.[0].message).toMatch(/10\.0\.0\.0\/33/);
    const many = Array.from({ length: 33 }, (_, i) => `10.0.${i}.0/24`);
    const tooMany = await app.gql(CREATE, { input: { allowedCidrs: many } }, { key: owner.key });
    expect(tooMany.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const mine = await keyWith(app, null);
    const update = await app.gql(
      UPDATE,
      { input: { id: mine.apiKey.id, allowedCidrs: ['not-an-address'] } },
      { key: mine.owner.key },
    );
    expect(update.body.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'allowedCidrs', 0],
    });
  });

  it('answers NOT_FOUND for updating a key out of reach', async () => {
    const { apiKey } = await keyWith(app, null);
    const other = await app.seedProject();
    for (const caller of [
      await app.seedUser({ role: 'ADMIN' }),
      await app.seedUser({ role: 'ADMIN', projectId: other, keyProjectId: other }),
    ]) {
      const res = await app.gql(
        UPDATE,
        { input: { id: apiKey.id, allowedCidrs: ['0.0.0.0/0'] } },
        { key: caller.key },
      );
      expect(res.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    }
  });

  it('ignores X-Forwarded-For without trusted proxies', async () => {
    const { key } = await keyWith(app, ['203.0.113.7/32']);
    const res = await viewer(app, key, { 'x-forwarded-for': '203.0.113.7' });
    expect(res.status).toBe(403);
  });

  it('believes X-Forwarded-For from a trusted proxy: its rightmost untrusted address', async () => {
    const { key } = await keyWith(proxied, ['203.0.113.7/32']);
    expect((await viewer(proxied, key, { 'x-forwarded-for': '203.0.113.7' })).status).toBe(200);
    // The client may write anything left of what the proxy appended.
    expect(
      (await viewer(proxied, key, { 'x-forwarded-for': '203.0.113.7, 198.51.100.1' })).status,
    ).toBe(403);
    expect(
      (await viewer(proxied, key, { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' })).status,
    ).toBe(200);
    // Without the header, the peer (the proxy itself) is the client.
    expect((await viewer(proxied, key)).status).toBe(403);
  });
});

describe('a key limited to addresses', () => {
  const ROTATE = `mutation($id: ID!) { rotateApiKey(input: { id: $id }) { key apiKey { id } } }`;
  const from = { 'x-forwarded-for': '203.0.113.7' };

  it('cannot mint, widen or rotate its way to a key usable from anywhere', async () => {
    const { key, apiKey, owner } = await keyWith(proxied, ['203.0.113.0/24']);
    // The user's other key, usable from any address.
    const open = await proxied.gql(CREATE, { input: {} }, { key: owner.key });
    const openId = open.body.data.createApiKey.apiKey.id;

    // A key it creates has its list by default; a list within it is fine; a wider one is refused.
    const minted = await proxied.gql(CREATE, { input: {} }, { key, headers: from });
    expect(minted.body.data.createApiKey.apiKey.allowedCidrs).toEqual(['203.0.113.0/24']);
    expect((await viewer(proxied, minted.body.data.createApiKey.key)).status).toBe(403);
    const narrower = await proxied.gql(
      CREATE,
      { input: { allowedCidrs: ['203.0.113.7'] } },
      { key, headers: from },
    );
    expect(narrower.body.data.createApiKey.apiKey.allowedCidrs).toEqual(['203.0.113.7/32']);
    for (const allowedCidrs of [['0.0.0.0/0'], ['203.0.112.0/23', '::/0']]) {
      const wider = await proxied.gql(CREATE, { input: { allowedCidrs } }, { key, headers: from });
      expect(wider.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }

    // Nor can it lift or widen its own list, or another key's.
    for (const id of [apiKey.id, narrower.body.data.createApiKey.apiKey.id]) {
      for (const allowedCidrs of [null, [], ['0.0.0.0/0']]) {
        const res = await proxied.gql(
          UPDATE,
          { input: { id, allowedCidrs } },
          { key, headers: from },
        );
        expect(res.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      }
    }
    const narrowed = await proxied.gql(
      UPDATE,
      { input: { id: apiKey.id, allowedCidrs: ['203.0.113.0/25'] } },
      { key, headers: from },
    );
    expect(narrowed.body.data.updateApiKey.apiKey.allowedCidrs).toEqual(['203.0.113.0/25']);

    // Rotating the user's unlimited key would hand it that key's secret: refused, nothing changed.
    const rotated = await proxied.gql(ROTATE, { id: openId }, { key, headers: from });
    expect(rotated.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await viewer(proxied, open.body.data.createApiKey.key)).status).toBe(200);
    // Its own key it may rotate (same list).
    const own = await proxied.gql(ROTATE, { id: apiKey.id }, { key, headers: from });
    expect(own.body.errors).toBeUndefined();
  });
});
