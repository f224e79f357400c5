// Migration files run as scripts, in order, on an empty database, as the migration engine runs
// them: to test what one migration does to rows the code before it wrote. (In-process, the
// WebAssembly engine keeps jest's worker alive for ~10 s after it is freed.)
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { MIGRATIONS_DIR } from '../../src/storage/migrate';
import { openPglite } from '../../src/storage/pglite';
import { uniqueName, withDatabase } from './databases';

export interface ScriptTarget {
  sql<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** Runs a whole script (several statements). */
  script(text: string): Promise<void>;
  close(): Promise<void>;
}

/** An empty database: Postgres when DATABASE_URL is set, else in-memory PGlite. */
export async function emptyDatabase(): Promise<ScriptTarget> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const name = uniqueName('evalgraph_backfill');
    const admin = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const dbUrl = withDatabase(url, name);
    const client = new pg.Client({ connectionString: dbUrl });
    await client.connect();
    return {
      sql: async (text, params) => (await client.query(text, params)).rows,
      script: async (text) => void (await client.query(text)),
      async close() {
        await client.end();
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      },
    };
  }
  const lite = await openPglite();
  return {
    sql: async <R>(text: string, params?: unknown[]) => (await lite.query<R>(text, params)).rows,
    script: async (text) => void (await lite.exec(text)),
    close: () => lite.close(),
  };
}

/** The text of a committed migration. */
export const migrationScript = (name: string) =>
  readFile(path.join(MIGRATIONS_DIR, name, 'migration.sql'), 'utf8');

/** Applies every committed migration before `migration` (which must exist) to `db`. */
export async function migrateBefore(db: ScriptTarget, migration: string) {
  const names = (await readdir(MIGRATIONS_DIR, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  if (!names.includes(migration)) throw new Error(`no migration ${migration}`);
  for (const name of names.filter((n) => n < migration))
    await db.script(await migrationScript(name));
}
