// Postgres that stops answering without closing anything (every process of a Postgres of this
// test's own stopped with SIGSTOP: as a hung host, a hung disk or a network partition look to a
// client; the kernel still accepts connections to its port): requests get 503
// SERVICE_UNAVAILABLE instead of hanging, readiness says so, the process stays up, and once
// Postgres answers again (SIGCONT) requests are served without a restart. Then the same through
// `createDb`: a slow but healthy statement is not cut off, a hung COMMIT does not keep its
// connection, a Prisma query is cut too.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { isDatabaseUnavailable } from '../src/storage/db-errors';
import { createDb, type Db } from '../src/storage/db';
import { until } from './support/live';
import { createPrivatePostgres, type PrivatePostgres } from './support/private-postgres';
import type { ServeProcess } from './support/process';
import { serveOnPrivatePostgres, type PrivateDeployment } from './support/serve-private';

jest.setTimeout(240_000);

const KEY = 'postgres-frozen-test-key-0123456789-abcdefghij';
// Generous: the promise is "within seconds" (3 s before the database is checked, at most 3 s for
// the check); the bound only tells an answer from a hang on a slow, shared machine.
const ANSWER_WITHIN_MS = 15_000;
const PROJECTS = '{ projects(first: 5) { edges { node { name } } } }';

let postgres: PrivatePostgres | null = null;
let server: ServeProcess | null = null;
let deployment: PrivateDeployment | null = null;

beforeAll(async () => {
  deployment = await serveOnPrivatePostgres('pgfrozen', KEY);
  ({ postgres, server } = deployment);
});

// A failed assertion must not leave the server stopped for the tests after it.
afterEach(() => postgres?.thaw());

afterAll(async () => {
  await deployment?.close();
});

/** The same evalgraph process, still running (its output says why when it is not). */
const expectAlive = () => deployment!.expectAlive();

/** A GraphQL answer, or 'no answer' when there was none within ANSWER_WITHIN_MS. */
async function gql(query: string) {
  try {
    const res = await fetch(`${server!.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ query }),
      signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
    });
    const body = (await res.json()) as {
      data?: unknown;
      errors?: { extensions?: { code?: string } }[];
    };
    return { status: res.status, code: body.errors?.[0]?.extensions?.code ?? null };
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') return 'no answer';
    throw error;
  }
}

async function ready() {
  try {
    const res = await fetch(`${server!.url}/health/ready`, {
      signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
    });
    const body = (await res.json()) as { checks: { database: { ok: boolean } } };
    return { status: res.status, database: body.checks.database.ok };
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') return 'no answer';
    throw error;
  }
}

const unavailable = { status: 503, code: 'SERVICE_UNAVAILABLE' };

it('answers 503 while Postgres is frozen, stays up, and serves again once it is thawed', async () => {
  expect(await gql(PROJECTS)).toEqual({ status: 200, code: null });

  await postgres!.freeze();
  // Several at once: each holds a pooled connection that will never be answered.
  const during = await Promise.all([gql(PROJECTS), gql(PROJECTS), gql(PROJECTS)]);
  expect(during).toEqual([unavailable, unavailable, unavailable]);
  // And after: the pool knows the database is down.
  expect(await gql(PROJECTS)).toEqual(unavailable);
  expect(await ready()).toEqual({ status: 503, database: false });
  expectAlive();

  await postgres!.thaw();
  await until(
    async () => JSON.stringify(await gql(PROJECTS)) === JSON.stringify({ status: 200, code: null }),
    ANSWER_WITHIN_MS,
    'queries to be served again',
  );
  expect(await ready()).toEqual({ status: 200, database: true });
  expectAlive();
  expect(await server!.stop('SIGTERM')).toBe(0);
});

describe('createDb against a frozen Postgres', () => {
  let db: Db | null = null;
  beforeAll(async () => {
    // One connection: a connection kept by a cut statement would wedge every query after it.
    db = await createDb({ kind: 'postgres', url: postgres!.url(), poolSize: 1, probeAfterMs: 300 });
  });
  afterAll(() => db?.close());

  const rejection = (promise: Promise<unknown>) =>
    promise.then(
      () => null,
      (error: unknown) => error,
    );

  it('leaves a slow statement running while the database answers', async () => {
    // The database is checked every 300 ms meanwhile, and answers each time.
    const rows = await db!.query<{ slept: string }>('SELECT pg_sleep(3)::text AS slept');
    expect(rows).toEqual([{ slept: '' }]);
  });

  const back = () =>
    until(
      () => rejection(db!.query('SELECT 1')).then((e) => e === null),
      ANSWER_WITHIN_MS,
      'the pool to be back',
    );

  it('cuts a Prisma query that the database does not answer', async () => {
    // The pool's connection open and idle: the query goes out on it and is never answered.
    await db!.query('SELECT 1');
    await postgres!.freeze();
    const error = await rejection(db!.prisma.$queryRaw`SELECT 1`);
    expect(isDatabaseUnavailable(error)).toBe(true);
    await postgres!.thaw();
    await back();
    expect(await db!.prisma.$queryRaw`SELECT 1 AS one`).toEqual([{ one: 1 }]);
  });

  it('cuts a COMMIT that the database does not answer, and does not keep its connection', async () => {
    const error = await rejection(
      db!.transaction(async (sql) => {
        await sql('SELECT 1');
        await postgres!.freeze();
      }),
    );
    expect(isDatabaseUnavailable(error)).toBe(true);
    await postgres!.thaw();
    // The pool has one connection: had the cut transaction kept it, this would wait for ever.
    await back();
  });
});
