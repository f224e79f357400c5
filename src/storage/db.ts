// The database: Postgres through @prisma/adapter-pg, or embedded PGlite (PostgreSQL in WASM)
// through pglite-prisma-adapter. Everything above this file sees one Prisma client.
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client';
import { createMigrationEngine, createPostgresMigrationEngine, type MigrationEngine } from './migrate';

export type DbOptions =
  | { kind: 'postgres'; url: string; poolSize?: number }
  /** dataDir: a directory, or omitted for in-memory; loadDataDir: a tarball from `dumpDataDir` to start from. */
  | { kind: 'pglite'; dataDir?: string; loadDataDir?: Blob };

export interface Db {
  kind: 'postgres' | 'pglite';
  prisma: PrismaClient;
  /** A cheap round trip; rejects when the database cannot answer. */
  ping(timeoutMs?: number): Promise<void>;
  migrations(): Promise<MigrationEngine>;
  close(): Promise<void>;
}

export async function createDb(options: DbOptions): Promise<Db> {
  return options.kind === 'postgres' ? createPostgresDb(options.url, options.poolSize) : createPgliteDb(options);
}

function createPostgresDb(url: string, poolSize = 10): Db {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5_000 });
  // An idle client's error (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    kind: 'postgres',
    prisma,
    ping: (timeoutMs = 2_000) => withTimeout(pool.query('select 1').then(() => undefined), timeoutMs, 'database'),
    migrations: () => createPostgresMigrationEngine(url),
    close: once(async () => {
      await prisma.$disconnect();
      await pool.end();
    }),
  };
}

async function createPgliteDb(options: { dataDir?: string; loadDataDir?: Blob }): Promise<Db> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const lite = await PGlite.create({ dataDir: options.dataDir, loadDataDir: options.loadDataDir });
  const adapter: SqlMigrationAwareDriverAdapterFactory = new PrismaPGlite(lite);
  const prisma = new PrismaClient({ adapter });
  return {
    kind: 'pglite',
    prisma,
    ping: (timeoutMs = 2_000) => withTimeout(lite.query('select 1').then(() => undefined), timeoutMs, 'database'),
    migrations: () => createMigrationEngine(adapter),
    close: once(async () => {
      await prisma.$disconnect();
      if (!lite.closed) await lite.close();
    }),
  };
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
