// Callers without a valid key share a small bucket per client address (EVALGRAPH_ANONYMOUS_RATE_LIMIT):
// a flood of anonymous or bad-key requests gets 429 with Retry-After, without database lookups
// once the bucket is empty, while keyed callers, other addresses, health, metrics and the GraphiQL
// page go on. Requests come from distinct loopback addresses (127.0.0.x) to be distinct clients.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { createTestApp, type TestApp } from './support/app';

let app: TestApp;

beforeAll(async () => {
  // Two requests a second per address, a bucket of two.
  app = await createTestApp({ EVALGRAPH_ANONYMOUS_RATE_LIMIT: '2' });
});
afterAll(() => app.close());

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** An HTTP request from a given local address (fetch cannot choose one). */
function request(
  from: string,
  path: string,
  options: { method?: string; key?: string | null; body?: unknown; accept?: string } = {},
): Promise<Answer> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${app.url}${path}`,
      {
        method: options.method ?? (body ? 'POST' : 'GET'),
        localAddress: from,
        agent: false,
        headers: {
          accept: options.accept ?? 'application/json',
          ...(body
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
            : {}),
          ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const gql = (from: string, key: string | null = null, query = '{ __typename }') =>
  request(from, '/graphql', { key, body: { query } });
const madeUpKey = () => `evg_made_up_${randomBytes(16).toString('hex')}`;

/** Sends requests until one is refused (429); returns it and the statuses before it. */
async function floodUntilRefused(send: () => Promise<Answer>) {
  const before: number[] = [];
  for (let i = 0; i < 50; i++) {
    const res = await send();
    if (res.status === 429) return { refused: res, before };
    before.push(res.status);
  }
  throw new Error(`never refused: ${before.join(', ')}`);
}

/**
 * Sends `n` at once to an empty bucket: at most what it refilled while they were answered (two a
 * second, and two for the rounding and a part-filled point) may get through, however slow the
 * machine; the rest are refused with 429.
 */
async function expectStillEmpty(n: number, send: () => Promise<Answer>) {
  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: n }, send));
  const refilled = Math.ceil((2 * (performance.now() - started)) / 1000) + 2;
  expect(answers.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(n - refilled);
}

function expectThrottled(res: Answer) {
  expect(res.status).toBe(429);
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  const body = JSON.parse(res.body);
  expect(body.errors[0].extensions.code).toBe('RATE_LIMITED');
  expect(body.errors[0].message).toMatch(/without a valid API key/);
}

it('refuses an anonymous flood with 429 and Retry-After once its bucket is empty, and nobody else', async () => {
  const flooder = '127.0.0.2';
  // A keyed client at the same address, working before the flood.
  expect((await gql(flooder, app.adminKey, '{ viewer { id } }')).status).toBe(200);

  const { refused, before } = await floodUntilRefused(() => gql(flooder));
  expectThrottled(refused);
  expect(before.every((s) => s === 200)).toBe(true);
  expect(before.length).toBeLessThanOrEqual(4); // the bucket of 2, and what refilled meanwhile

  // Still empty: more of the same are refused, concurrently too.
  await expectStillEmpty(10, () => gql(flooder));

  // The keyed client at that address, another address, and the non-GraphQL endpoints go on.
  for (let i = 0; i < 5; i++)
    expect((await gql(flooder, app.adminKey, '{ viewer { id } }')).status).toBe(200);
  expect((await gql('127.0.0.3')).status).toBe(200);
  for (const path of ['/health/live', '/health/ready', '/metrics'])
    expect((await request(flooder, path)).status).toBe(200);
  const graphiql = await request(flooder, '/graphql', { accept: 'text/html' });
  expect(graphiql.status).toBe(200);
  expect(graphiql.headers['content-type']).toMatch(/text\/html/);
});

it('puts bad keys in the same bucket: 401 while it lasts, then 429', async () => {
  const flooder = '127.0.0.4';
  const { refused, before } = await floodUntilRefused(() => gql(flooder, madeUpKey()));
  expectThrottled(refused);
  expect(before.every((s) => s === 401)).toBe(true);
  expect(before.length).toBeLessThanOrEqual(4);
  await expectStillEmpty(10, () => gql(flooder, madeUpKey()));
  // Anonymous callers at that address share the empty bucket.
  expect((await gql(flooder)).status).toBe(429);
  // A valid key from that address is not affected.
  expect((await gql(flooder, app.adminKey, '{ viewer { id } }')).status).toBe(200);
});

it('lets in at once a valid key never seen before from an address that flooded (NAT, a load balancer)', async () => {
  const flooder = '127.0.0.5';
  await floodUntilRefused(() => gql(flooder, madeUpKey()));
  expect((await gql(flooder)).status).toBe(429);
  const user = await app.seedUser();
  expect((await gql(flooder, user.key, '{ viewer { id } }')).status).toBe(200);
});

it('closes graphql-ws connections without a valid key from an emptied address with 4429', async () => {
  const flooder = '127.0.0.6';
  const connect = (payload: Record<string, unknown>) =>
    new Promise<{ code: number; reason: string }>((resolve, reject) => {
      const socket = new WebSocket(
        `${app.url.replace('http', 'ws')}/graphql`,
        'graphql-transport-ws',
        { localAddress: flooder },
      );
      socket.on('error', reject);
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload })));
      socket.on('message', (data) => {
        if (JSON.parse(String(data)).type === 'connection_ack') socket.close(1000);
      });
      socket.on('close', (code, reason) => resolve({ code, reason: String(reason) }));
    });
  // Without a key: refused (4403) while the bucket lasts, then 4429.
  const codes: number[] = [];
  for (let i = 0; i < 10 && !codes.includes(4429); i++) codes.push((await connect({})).code);
  expect(codes[0]).toBe(4403);
  expect(codes.at(-1)).toBe(4429);
  const refused = await connect({ authorization: `Bearer ${madeUpKey()}` });
  expect(refused).toEqual({ code: 4429, reason: expect.stringMatching(/retry after \d+ s/) });
  // A valid key still connects.
  expect((await connect({ authorization: `Bearer ${app.adminKey}` })).code).toBe(1000);
});

it('limits OTLP requests without a valid key too, in OTLP form', async () => {
  const flooder = '127.0.0.7';
  const { refused } = await floodUntilRefused(() =>
    request(flooder, '/v1/traces', { body: { resourceSpans: [] } }),
  );
  expect(refused.headers['retry-after']).toBeDefined();
  expect(JSON.parse(refused.body)).toMatchObject({ code: 8 });
});
