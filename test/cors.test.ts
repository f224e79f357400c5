// CORS on /graphql: only the origins of EVALGRAPH_CORS_ORIGINS get CORS headers (a browser refuses
// every other origin); none is given credentials, since keys travel in Authorization.
import { createTestApp, type TestApp } from './support/app';

const ALLOWED = 'https://app.example.com';
let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ EVALGRAPH_CORS_ORIGINS: `${ALLOWED}, http://localhost:5173` });
});
afterAll(() => app.close());

const preflight = (origin: string) =>
  fetch(app.graphqlUrl, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    },
  });

describe('CORS', () => {
  it('answers a preflight from a listed origin with that origin, the headers and no credentials', async () => {
    const res = await preflight(ALLOWED);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain(
      'authorization',
    );
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('vary')).toContain('Origin');
  });

  it('gives an unlisted origin no CORS headers, so a browser refuses it', async () => {
    for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.io']) {
      const res = await preflight(origin);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-methods')).toBeNull();
    }
  });

  it('lets a listed origin read the answer and the rate-limit headers', async () => {
    const res = await fetch(app.graphqlUrl, {
      method: 'POST',
      headers: {
        origin: 'http://localhost:5173',
        authorization: `Bearer ${app.adminKey}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ query: '{ viewer { email } }' }),
    });
    expect((await res.json()).data.viewer.email).toBe('admin@test.local');
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(res.headers.get('access-control-expose-headers')).toContain('X-RateLimit-Remaining');
  });
});

describe('EVALGRAPH_CORS_ORIGINS', () => {
  it('refuses an origin with a path at start, naming the variable', async () => {
    await expect(
      createTestApp({ EVALGRAPH_CORS_ORIGINS: 'https://app.example.com/path' }),
    ).rejects.toThrow(/EVALGRAPH_CORS_ORIGINS/);
  });
});
