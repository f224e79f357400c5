// Test databases: one migrated template per run; each test file gets a fresh copy of it.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { DbOptions } from '../../src/storage/db';
import { openPglite } from '../../src/storage/pglite';

const ROOT = path.resolve(__dirname, '..', '..');

export const uniqueName = (prefix: string) =>
  `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Runs the real `evalgraph` CLI in a child process (so the migration engine lives there). */
export function runCli(
  args: string[],
  env: Record<string, string>,
): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(
    path.join(ROOT, 'node_modules', '.bin', 'tsx'),
    [path.join(ROOT, 'src', 'cli.ts'), ...args],
    {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', LOG_LEVEL: 'warn', ...env },
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Applies the committed migrations up to and including `name` (support/migrate-to.ts): a database as an older release left it. */
export function migrateTo(
  name: string,
  env: Record<string, string>,
): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(
    path.join(ROOT, 'node_modules', '.bin', 'tsx'),
    [path.join(__dirname, 'migrate-to.ts'), name],
    {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', ...env },
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

function mustRun(args: string[], env: Record<string, string>) {
  const result = runCli(args, env);
  if (result.status !== 0)
    throw new Error(
      `evalgraph ${args.join(' ')} failed (${result.status}):\n${result.stderr}${result.stdout}`,
    );
  return result;
}

/** Creates and migrates the template for this run with `evalgraph migrate`; returns what test files need to copy it. */
export async function createTemplate(): Promise<Record<string, string>> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const name = uniqueName('evalgraph_tpl');
    await admin(url, (c) => c.query(`CREATE DATABASE ${name}`));
    mustRun(['migrate'], { DATABASE_URL: withDatabase(url, name) });
    return { EVALGRAPH_TEST_TEMPLATE_DB: name };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-test-'));
  mustRun(['migrate'], { DATABASE_URL: '', EVALGRAPH_DATA_DIR: path.join(dir, 'data') });
  const lite = await openPglite({ dataDir: path.join(dir, 'data', 'pgdata') });
  const dump = await lite.dumpDataDir('none');
  await lite.close();
  const file = path.join(dir, 'template.tar');
  await writeFile(file, Buffer.from(await dump.arrayBuffer()));
  return { EVALGRAPH_TEST_TEMPLATE_DUMP: file };
}

export async function dropTemplate(): Promise<void> {
  const url = process.env.DATABASE_URL;
  const name = process.env.EVALGRAPH_TEST_TEMPLATE_DB;
  if (url && name) await admin(url, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

export interface TestDatabase {
  options: DbOptions;
  /** The Postgres URL of this copy (null on PGlite). */
  url: string | null;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one test app. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const url = process.env.DATABASE_URL;
  const template = process.env.EVALGRAPH_TEST_TEMPLATE_DB;
  if (url && template) {
    const name = uniqueName('evalgraph_test');
    await admin(url, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
    const dbUrl = withDatabase(url, name);
    return {
      options: { kind: 'postgres', url: dbUrl, poolSize: 5 },
      url: dbUrl,
      drop: () =>
        admin(url, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
          () => undefined,
        ),
    };
  }
  const dump = process.env.EVALGRAPH_TEST_TEMPLATE_DUMP;
  if (!dump)
    throw new Error('No test template: run the tests through jest (globalSetup creates it).');
  const blob = new Blob([await readFile(dump)]);
  return { options: { kind: 'pglite', loadDataDir: blob }, url: null, drop: async () => {} };
}

/** An empty database for a CLI or server child process: its env, and a connection of this process to it (closed before a child opens the embedded one). */
export interface MigrationTarget {
  env: Record<string, string>;
  connect(): Promise<{
    sql: <R = any>(text: string, params?: unknown[]) => Promise<R[]>;
    close(): Promise<void>;
  }>;
  cleanup(): Promise<void>;
}

export async function createMigrationTarget(): Promise<MigrationTarget> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const name = uniqueName('evalgraph_migrate');
    await admin(url, (c) => c.query(`CREATE DATABASE ${name}`));
    const dbUrl = withDatabase(url, name);
    return {
      env: { DATABASE_URL: dbUrl },
      async connect() {
        const client = new pg.Client({ connectionString: dbUrl });
        await client.connect();
        return {
          sql: async (text, params) => (await client.query(text, params)).rows,
          close: () => client.end(),
        };
      },
      cleanup: () =>
        admin(url, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
          () => undefined,
        ),
    };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-migrate-'));
  return {
    env: { DATABASE_URL: '', EVALGRAPH_DATA_DIR: dir },
    async connect() {
      const lite = await openPglite({ dataDir: path.join(dir, 'pgdata') });
      return {
        sql: async (text, params) => (await lite.query(text, params)).rows as never,
        close: () => lite.close(),
      };
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
