import { createTestApp, type TestApp } from './support/app';

describe('health', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('is live and ready, with the parts it checked', async () => {
    expect((await fetch(`${app.url}/health/live`)).status).toBe(200);
    const ready = await fetch(`${app.url}/health/ready`);
    expect(ready.status).toBe(200);
    const body = await ready.json();
    expect(body.status).toBe('ready');
    expect(body.checks.database).toMatchObject({
      ok: true,
      kind: process.env.DATABASE_URL ? 'postgres' : 'pglite',
    });
    if (process.env.REDIS_URL) expect(body.checks.redis.ok).toBe(true);
    expect(body.checks.judge).toMatchObject({ ok: true, circuit: 'closed' });
    expect(body.checks.queues).toMatchObject({
      ok: true,
      evaluation_items: { depth: 0, lagSeconds: 0 },
      webhook_deliveries: { depth: 0, lagSeconds: 0 },
    });
  });

  it('is not ready (503, naming the part) when the database is down, and stays live', async () => {
    const other = await createTestApp();
    try {
      // The database goes away under the running server.
      await other.server.deps.db.close();
      const ready = await fetch(`${other.url}/health/ready`);
      expect(ready.status).toBe(503);
      const body = await ready.json();
      expect(body.status).toBe('unavailable');
      expect(body.checks.database.ok).toBe(false);
      expect(typeof body.checks.database.error).toBe('string');
      expect((await fetch(`${other.url}/health/live`)).status).toBe(200);
      // A query now fails cleanly with a code, and the process stays up.
      const res = await other.gql('{ viewer { id } }');
      expect(res.body.errors?.[0].extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(res.body.errors?.[0].message).not.toMatch(/prisma|pglite|ECONN/i);
    } finally {
      await other.close().catch(() => {});
    }
  });

  it('is not ready when Redis is configured but unreachable', async () => {
    const other = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:1/0' });
    try {
      const ready = await fetch(`${other.url}/health/ready`);
      expect(ready.status).toBe(503);
      const body = await ready.json();
      expect(body.checks.redis.ok).toBe(false);
      expect(body.checks.database.ok).toBe(true);
    } finally {
      await other.close();
    }
  });
});
