// Several pg connections share PGlite's one session through the socket: each gets its own answers,
// a transaction keeps the session to itself, and a connection that goes away is rolled back.
import pg from 'pg';
import { startPgliteServer, type PgliteServer } from './pglite-server';

let server: PgliteServer;
const clients: pg.Client[] = [];

async function connect() {
  const client = new pg.Client({ connectionString: server.url });
  client.on('error', () => {});
  await client.connect();
  clients.push(client);
  return client;
}

beforeAll(async () => {
  server = await startPgliteServer({});
  const setup = await connect();
  await setup.query('CREATE TABLE items (n int)');
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => {})));
  await server.close();
});

afterEach(async () => {
  await (await connect()).query('DELETE FROM items');
});

test('statements of many connections at once get their own answers, named or not', async () => {
  const pool = new pg.Pool({ connectionString: server.url, max: 4 });
  try {
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        pool.query(
          i % 2
            ? { text: 'SELECT $1::int + 1 AS n', values: [i] }
            : { name: 'plus_one', text: 'SELECT $1::int + 1 AS n', values: [i] },
        ),
      ),
    );
    expect(answers.map((r) => r.rows[0].n)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(pool.totalCount).toBe(4);
  } finally {
    await pool.end();
  }
});

test('a named statement is prepared once for the session; another text under its name fails', async () => {
  const [a, b] = [await connect(), await connect()];
  await a.query({ name: 'shared', text: 'SELECT 1 AS n' });
  expect((await b.query({ name: 'shared', text: 'SELECT 1 AS n' })).rows).toEqual([{ n: 1 }]);
  await expect(b.query({ name: 'shared2', text: 'SELECT 2 AS n' })).resolves.toBeDefined();
  await expect(a.query({ name: 'shared2', text: 'SELECT 3 AS n' })).rejects.toThrow(
    /already exists/,
  );
});

test('another connection waits for a transaction to end and does not see what it rolled back', async () => {
  const [a, b] = [await connect(), await connect()];
  await a.query('BEGIN');
  await a.query('INSERT INTO items VALUES (1)');
  const counted = b.query('SELECT count(*)::int AS n FROM items');
  await a.query('INSERT INTO items VALUES (2)');
  await a.query('ROLLBACK');
  expect((await counted).rows).toEqual([{ n: 0 }]);
});

test('a connection that closes in a transaction is rolled back', async () => {
  const [a, b] = [await connect(), await connect()];
  await a.query('BEGIN');
  await a.query('INSERT INTO items VALUES (1)');
  const counted = b.query('SELECT count(*)::int AS n FROM items');
  a.connection.stream.destroy();
  expect((await counted).rows).toEqual([{ n: 0 }]);
  // The session is out of the transaction: a new one starts cleanly.
  await b.query('BEGIN');
  await b.query('INSERT INTO items VALUES (3)');
  await b.query('COMMIT');
  expect((await b.query('SELECT n FROM items')).rows).toEqual([{ n: 3 }]);
});
