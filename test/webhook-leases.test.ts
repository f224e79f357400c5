// The worker renews the leases of the deliveries it holds (and of their endpoints) every 2 s, beside
// its claims and its records. The renewal writes only leases in the second half of their term, and
// never waits for a row lock: it ran beside the record, updating the same deliveries in another
// order, and the two deadlocked (Postgres broke it after a second: a second with nothing sent, and
// a group of outcomes lost to be sent again); and a claim skips the endpoints it finds locked.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { claimDeliveries, recordOutcomes, renewLeases } from '../src/modules/webhooks/delivery-sql';
import { createTestApp, type TestApp } from './support/app';
import { createEndpoint } from './support/webhooks';

jest.setTimeout(60_000);

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ EVALGRAPH_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' });
});
afterAll(async () => {
  await app?.close();
});

const LEASE_MS = 200_000;

/**
 * An endpoint and `leases.length` deliveries to it, held by `owner` (as a worker's claim leaves
 * them), each lease ending in the given ms; the endpoint's lease ends with the first.
 */
async function held(owner: string, leases: number[]) {
  const id = await createEndpoint(app, 'http://127.0.0.1:9/hook');
  const endpointId = Buffer.from(id, 'base64').toString().split(':')[1];
  const sql = app.server.deps.db.query;
  await sql(
    `UPDATE webhook_endpoints SET lease_token = $2::uuid, lease_expires_at = now() + $3 * interval '1 millisecond' WHERE id = $1::uuid`,
    [endpointId, owner, leases[0]],
  );
  const deliveries: { id: string; attempts: number; endpoint_id: string }[] = [];
  for (const ms of leases) {
    const messageId = `msg_${randomUUID().replace(/-/g, '')}`;
    await sql(
      `INSERT INTO webhook_messages (id, project_id, event_type, payload) VALUES ($1, $2::uuid, 'webhook.test', '{}')`,
      [messageId, app.projectId],
    );
    const [row] = await sql<{ id: string }>(
      `INSERT INTO webhook_deliveries (id, message_id, endpoint_id, attempts, lease_token, lease_expires_at)
       VALUES (evalgraph_uuid7(), $1, $2::uuid, 1, $3::uuid, now() + $4 * interval '1 millisecond') RETURNING id::text`,
      [messageId, endpointId, owner, ms],
    );
    deliveries.push({ id: row.id, attempts: 1, endpoint_id: endpointId });
  }
  return { endpointId, deliveries };
}

/** Seconds left of each lease: the deliveries' in order, then the endpoint's. */
async function secondsLeft(h: Awaited<ReturnType<typeof held>>) {
  const sql = app.server.deps.db.query;
  const rows = await sql<{ left: number }>(
    `SELECT extract(epoch FROM lease_expires_at - now())::float AS left FROM webhook_deliveries d
       JOIN unnest($1::uuid[]) WITH ORDINALITY AS o(id, n) ON o.id = d.id ORDER BY o.n`,
    [h.deliveries.map((d) => d.id)],
  );
  const [endpoint] = await sql<{ left: number }>(
    `SELECT extract(epoch FROM lease_expires_at - now())::float AS left FROM webhook_endpoints WHERE id = $1::uuid`,
    [h.endpointId],
  );
  return [...rows.map((r) => Math.round(r.left)), Math.round(endpoint.left)];
}

it('renews only the leases in the second half of their term, and names the endpoints no longer held', async () => {
  const owner = randomUUID();
  // Of a 200 s lease: 60 s left (renewed), 150 s left (not yet).
  const h = await held(owner, [60_000, 150_000]);
  const lost = await renewLeases(app.server.deps.db.query, owner, LEASE_MS, h.deliveries);
  expect(lost.size).toBe(0);
  const [first, second, endpoint] = await secondsLeft(h);
  expect(first).toBeGreaterThan(190);
  expect(second).toBeLessThan(155);
  expect(endpoint).toBeGreaterThan(190);

  // Disabled: no longer this worker's to send to.
  await app.server.deps.db.query(
    `UPDATE webhook_endpoints SET enabled = false WHERE id = $1::uuid`,
    [h.endpointId],
  );
  const after = await renewLeases(app.server.deps.db.query, owner, LEASE_MS, h.deliveries);
  expect([...after]).toEqual([h.endpointId]);
});

// Embedded mode runs one statement at a time (one session): a transaction holding a lock holds
// every connection, so waiting is not this statement's to avoid there.
if (process.env.DATABASE_URL)
  it('does not wait for rows another statement has locked: it renews them at its next run', async () => {
    const owner = randomUUID();
    const h = await held(owner, [60_000, 60_000]);
    const config = app.server.deps.config;
    if (config.database.kind !== 'postgres') throw new Error('expected Postgres');
    const other = new pg.Client({ connectionString: config.database.url });
    await other.connect();
    try {
      // A record of the first delivery (and of its endpoint's failure) in progress.
      await other.query('BEGIN');
      await other.query(`SELECT 1 FROM webhook_deliveries WHERE id = $1::uuid FOR UPDATE`, [
        h.deliveries[0].id,
      ]);
      await other.query(`SELECT 1 FROM webhook_endpoints WHERE id = $1::uuid FOR UPDATE`, [
        h.endpointId,
      ]);
      // The lock is let go of only after the renewal answered: a renewal that waited for it would
      // never answer (the test's timeout).
      const lost = await renewLeases(app.server.deps.db.query, owner, LEASE_MS, h.deliveries);
      expect(lost.size).toBe(0);
      await other.query('ROLLBACK');
      const [first, second, endpoint] = await secondsLeft(h);
      expect(first).toBeLessThan(65);
      expect(second).toBeGreaterThan(190);
      expect(endpoint).toBeLessThan(65);
      await renewLeases(app.server.deps.db.query, owner, LEASE_MS, h.deliveries);
      expect((await secondsLeft(h)).every((left) => left > 190)).toBe(true);
    } finally {
      await other.end();
    }
  });

/**
 * An event's transaction writing a delivery to the endpoint, left open (its KEY SHARE lock on the
 * endpoint's row held): the caller rolls it back and ends the connection.
 */
async function writingDeliveries(endpointId: string) {
  const config = app.server.deps.config;
  if (config.database.kind !== 'postgres') throw new Error('expected Postgres');
  const other = new pg.Client({ connectionString: config.database.url });
  await other.connect();
  await other.query('BEGIN');
  const messageId = `msg_${randomUUID().replace(/-/g, '')}`;
  await other.query(
    `INSERT INTO webhook_messages (id, project_id, event_type, payload) VALUES ($1, $2::uuid, 'webhook.test', '{}')`,
    [messageId, app.projectId],
  );
  await other.query(
    `INSERT INTO webhook_deliveries (id, message_id, endpoint_id, next_attempt_at)
     VALUES (evalgraph_uuid7(), $1, $2::uuid, now() + interval '1 day')`,
    [messageId, endpointId],
  );
  return other;
}

/** Whether `work` is still waiting after 3 s. */
async function waits(work: Promise<unknown>) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = await Promise.race([
    work.then(() => false),
    new Promise((resolve) => (timer = setTimeout(() => resolve(true), 3_000))),
  ]);
  clearTimeout(timer);
  return waited;
}

// An event's transaction writes deliveries to an endpoint (the outbox, just before its commit): the
// foreign key holds a KEY SHARE lock on the endpoint's row until the commit. Neither the renewal nor
// the letting go of endpoints (at the start of every claim) changes the endpoint's key: neither may
// conflict with that lock (FOR UPDATE does; FOR NO KEY UPDATE, as a plain UPDATE takes, does not).
if (process.env.DATABASE_URL)
  describe('beside an event transaction writing deliveries to the endpoint', () => {
    it("renews the endpoint's lease", async () => {
      const owner = randomUUID();
      const h = await held(owner, [60_000]);
      const other = await writingDeliveries(h.endpointId);
      try {
        await renewLeases(app.server.deps.db.query, owner, LEASE_MS, h.deliveries);
        const [delivery, endpoint] = await secondsLeft(h);
        expect(delivery).toBeGreaterThan(190);
        expect(endpoint).toBeGreaterThan(190);
      } finally {
        await other.query('ROLLBACK');
        await other.end();
      }
    });

    it('lets go of the endpoint without waiting for that transaction', async () => {
      const owner = randomUUID();
      const h = await held(owner, [60_000]);
      const other = await writingDeliveries(h.endpointId);
      let letGo: Promise<unknown> | undefined;
      try {
        letGo = claimDeliveries(
          app.server.deps.db.query,
          { owner, leaseMs: LEASE_MS, limit: 0, perClaim: 0 },
          { full: [], idle: [h.endpointId] },
        );
        expect(await waits(letGo)).toBe(false);
        const [endpoint] = await app.server.deps.db.query<{ lease_token: string | null }>(
          `SELECT lease_token::text FROM webhook_endpoints WHERE id = $1::uuid`,
          [h.endpointId],
        );
        expect(endpoint.lease_token).toBeNull();
      } finally {
        await other.query('ROLLBACK');
        await other.end();
        await letGo;
      }
    });
  });

// The same of the record and the claim: the record locks an endpoint whose failure record changes,
// the claim the endpoints it takes deliveries of; neither changes the endpoint's key.
if (process.env.DATABASE_URL)
  describe('beside an event transaction writing deliveries to the endpoint: the record and the claim', () => {
    beforeAll(async () => {
      // This file's worker would claim the due deliveries made here before the test does.
      await app.server.worker?.stop();
    });

    it("records a failure (the endpoint's failure record) without waiting for that transaction", async () => {
      const owner = randomUUID();
      const h = await held(owner, [60_000]);
      const other = await writingDeliveries(h.endpointId);
      let recording: Promise<Set<string>> | undefined;
      try {
        recording = recordOutcomes(
          app.server.deps.db.query,
          [
            {
              deliveryId: h.deliveries[0].id,
              token: owner,
              attempts: 1,
              endpointId: h.endpointId,
              statusCode: 500,
              latencyMs: 5,
              error: 'HTTP 500',
              snippet: null,
              status: 'PENDING',
              retryAt: new Date(Date.now() + 60_000),
              disable: null,
            },
          ],
          3_600_000,
        );
        expect(await waits(recording)).toBe(false);
        expect([...(await recording)]).toEqual([h.deliveries[0].id]);
      } finally {
        await other.query('ROLLBACK');
        await other.end();
        await recording;
      }
    });

    it("claims the endpoint's due deliveries", async () => {
      const owner = randomUUID();
      // Held by a worker whose lease lapsed: due and free.
      const h = await held(randomUUID(), [-1_000]);
      const other = await writingDeliveries(h.endpointId);
      try {
        const claimed = await claimDeliveries(
          app.server.deps.db.query,
          { owner, leaseMs: LEASE_MS, limit: 10, perClaim: 10 },
          { full: [], idle: [] },
        );
        expect(claimed.map((d) => d.id)).toEqual([h.deliveries[0].id]);
      } finally {
        await other.query('ROLLBACK');
        await other.end();
      }
    });
  });
