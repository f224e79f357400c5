// The database: Postgres, or embedded PGlite (PostgreSQL in WASM) in a thread behind a private
// socket; both through pg and @prisma/adapter-pg. Everything above this file sees one Prisma client.
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { PrismaPg } from '@prisma/adapter-pg';
import type pg from 'pg';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { DatabaseConfig } from '../config';
import { PrismaClient } from '../generated/prisma/client';
import { createPostgresMigrationEngine, type MigrationEngine } from './migrate';
import { createPgPool, type AvailabilityEvents } from './pg-pool';
import { startPgliteServer } from './pglite-server';

export type DbOptions =
  /** probeAfterMs: see PgPoolOptions (pg-pool.ts). */
  | { kind: 'postgres'; url: string; poolSize?: number; probeAfterMs?: number }
  /** dataDir: a directory, or omitted for in-memory; loadDataDir: a tarball from `dumpDataDir` to start from. */
  | { kind: 'pglite'; dataDir?: string; loadDataDir?: Blob };

/** One SQL statement with positional parameters ($1, $2 …); resolves to its rows. */
export type Sql = <R = Record<string, unknown>>(text: string, params?: unknown[]) => Promise<R[]>;

export interface Db {
  kind: 'postgres' | 'pglite';
  prisma: PrismaClient;
  /** Calls `listener` after every SQL statement; returns the unsubscribe function. */
  onQuery(listener: QueryListener): () => void;
  /**
   * Runs `fn` in one transaction on a plain driver connection, for bulk statements where the ORM's
   * per-query work would dominate (ingest). Rolls back when `fn` throws.
   */
  transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  /** One statement on a plain driver connection (hot read paths that build their own SQL). */
  query: Sql;
  /** A cheap round trip; rejects when the database cannot answer. */
  ping(timeoutMs?: number): Promise<void>;
  migrations(): Promise<MigrationEngine>;
  close(): Promise<void>;
}

/** The database the configuration names (the server's and the CLI's). */
export function dbOptionsOf(database: DatabaseConfig): DbOptions {
  return database.kind === 'postgres'
    ? { kind: 'postgres', url: database.url, probeAfterMs: database.probeAfterMs }
    : { kind: 'pglite', dataDir: database.dataDir };
}

/** `events`: when Postgres becomes unreachable and reachable again (not reported for PGlite). */
export async function createDb(options: DbOptions, events: AvailabilityEvents = {}): Promise<Db> {
  return options.kind === 'postgres' ? createPostgresDb(options, events) : createPgliteDb(options);
}

function createPostgresDb(
  { url, poolSize = 10, probeAfterMs }: Extract<DbOptions, { kind: 'postgres' }>,
  events: AvailabilityEvents,
): Db {
  // JIT compilation costs more than it saves on our short statements (over a second, on a fresh
  // table without statistics, for a 1,000-span batch). A request must get its answer (a 503 when
  // the database is unreachable) within 5 s, connecting included; one that stops answering is
  // given up on within `probeAfterMs` and that timeout.
  const { pool } = createPgPool(
    { connectionString: url, max: poolSize, connectionTimeoutMillis: 3_000, options: '-c jit=off' },
    { ...events, probeAfterMs },
  );
  const { prisma, onQuery, notify } = createClient(new PrismaPg(pool));
  // Named (prepared) statements: hot paths repeat the same few texts, so each connection parses
  // and plans them once. (Behind PgBouncer, that needs its prepared-statement support.)
  const run = (client: pg.Pool | pg.PoolClient) =>
    timed(
      notify,
      async (text, params) =>
        (await client.query({ name: statementName(text), text, values: params })).rows,
    );
  return {
    kind: 'postgres',
    prisma,
    onQuery,
    query: run(pool),
    async transaction(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn(run(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError;
        });
        throw error;
      } finally {
        // A connection that could not roll back is closed rather than reused.
        client.release(broken);
      }
    },
    ping: (timeoutMs = 2_000) =>
      withTimeout(
        pool.query('select 1').then(() => undefined),
        timeoutMs,
        'database',
      ),
    migrations: () => createPostgresMigrationEngine(url),
    close: once(async () => {
      await prisma.$disconnect();
      await pool.end();
    }),
  };
}

/**
 * Embedded PGlite, in a thread of its own behind a private socket (pglite-server.ts), through the
 * same code as Postgres. No watchdog: the thread is in this process, and while a long statement
 * holds PGlite's one session the watchdog's check would wait behind it and pass for an
 * unanswering database.
 */
async function createPgliteDb(options: { dataDir?: string; loadDataDir?: Blob }): Promise<Db> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const server = await startPgliteServer(options);
  const db = createPostgresDb(
    {
      kind: 'postgres',
      url: server.url,
      poolSize: PGLITE_POOL_SIZE,
      probeAfterMs: Number.POSITIVE_INFINITY,
    },
    {},
  );
  return {
    ...db,
    kind: 'pglite',
    close: once(async () => {
      await db.close();
      await server.close();
    }),
  };
}

/** Connections to the embedded database: they wait their turn for its one session, so a few keep it busy. */
const PGLITE_POOL_SIZE = 10;

type QueryListener = (query: { sql: string; durationMs: number }) => void;

// Every SQL statement is reported to the listeners (tests count them; metrics time them).
function createClient(adapter: SqlDriverAdapterFactory) {
  const listeners = new Set<QueryListener>();
  const client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] as const });
  client.$on('query', (event) => notify({ sql: event.query, durationMs: event.duration }));
  const onQuery = (listener: QueryListener) => {
    listeners.add(listener);
    return () => void listeners.delete(listener);
  };
  const notify: QueryListener = (query) => {
    for (const listener of listeners) listener(query);
  };
  // The event-emitting client has a wider type; everything else takes the plain one.
  return { prisma: client as unknown as PrismaClient, onQuery, notify };
}

// Statements run outside Prisma are reported to the same listeners.
function timed(
  notify: QueryListener,
  run: (text: string, params?: unknown[]) => Promise<unknown[]>,
): Sql {
  return (async (text: string, params?: unknown[]) => {
    const started = performance.now();
    try {
      return await run(text, params);
    } finally {
      notify({ sql: text, durationMs: performance.now() - started });
    }
  }) as Sql;
}

const statementNames = new Map<string, string>();

function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `q_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    if (statementNames.size < 10_000) statementNames.set(text, name);
  }
  return name;
}

/** Closing twice (a failed start, then shutdown) is harmless. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Applies pending migrations; returns their names. */
export async function migrate(db: Db): Promise<string[]> {
  const engine = await db.migrations();
  try {
    return await engine.apply();
  } finally {
    await engine.close();
  }
}
