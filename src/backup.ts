// `evalgraph backup` / `evalgraph restore`. A backup is one file: a header line saying what it
// holds (the kind of database and the last migration applied), then that database's own dump:
// `pg_dump --format=custom` for Postgres, PGlite's `dumpDataDir` tarball for the embedded one.
// Each kind restores only into its own kind: the two dumps share nothing.
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import pg from 'pg';
import type { DatabaseConfig } from './config';
import { readMigrations } from './storage/migrate';
import { openPglite } from './storage/pglite';

const MAGIC = 'evalgraph-backup ';
/** The header line is short; a file whose first line is longer is not ours. */
const MAX_HEADER = 64 * 1024;

export interface BackupHeader {
  format: 1;
  kind: 'postgres' | 'pglite';
  /** The last migration applied to the database backed up (null: none). */
  migration: string | null;
  createdAt: string;
  /** Postgres: the server's version (`server_version`); PGlite: its Postgres version. */
  postgresVersion: string;
}

/** A refusal the operator can act on: the CLI prints its message alone. */
export class BackupError extends Error {}

export interface BackupOptions {
  /** Where pg_dump / pg_restore are (default: PATH). */
  pgBin?: string;
}

const LAST_MIGRATION = `SELECT migration_name AS name FROM _prisma_migrations
  WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name DESC LIMIT 1`;

const kindName = (kind: BackupHeader['kind']) =>
  kind === 'postgres' ? 'Postgres (DATABASE_URL)' : 'embedded (PGlite, EVALGRAPH_DATA_DIR)';

// ---- the file ---------------------------------------------------------------------------------

export async function readHeader(file: string): Promise<{ header: BackupHeader; offset: number }> {
  const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new BackupError(`Cannot read ${file}: ${error.code ?? error.message}.`);
  });
  try {
    const buffer = Buffer.alloc(MAX_HEADER);
    const { bytesRead } = await handle.read(buffer, 0, MAX_HEADER, 0);
    const text = buffer.subarray(0, bytesRead).toString('latin1');
    const end = text.indexOf('\n');
    if (!text.startsWith(MAGIC) || end < 0)
      throw new BackupError(`${file} is not an Evalgraph backup (made by \`evalgraph backup\`).`);
    const header = JSON.parse(text.slice(MAGIC.length, end)) as BackupHeader;
    if (header.format !== 1)
      throw new BackupError(
        `${file} is a backup of format ${header.format}, which this build cannot read.`,
      );
    return { header, offset: end + 1 };
  } finally {
    await handle.close();
  }
}

const headerLine = (header: BackupHeader) => `${MAGIC}${JSON.stringify(header)}\n`;

/** Writes to FILE.partial and renames it at the end: a failed backup never looks complete. */
async function writeBackup(file: string, write: (partial: string) => Promise<void>) {
  const partial = `${file}.partial`;
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  try {
    await write(partial);
    await rename(partial, file);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

// ---- Postgres through pg_dump / pg_restore ----------------------------------------------------

/** libpq refuses query parameters it does not know; these are Prisma's own. The password goes by env, not argv (visible in `ps`). */
function libpqTarget(url: string): { dbname: string; env: Record<string, string> } {
  const u = new URL(url);
  for (const p of [
    'schema',
    'connection_limit',
    'pool_timeout',
    'pgbouncer',
    'statement_cache_size',
    'socket_timeout',
  ])
    u.searchParams.delete(p);
  const password = decodeURIComponent(u.password);
  u.password = '';
  return { dbname: u.toString(), env: password ? { PGPASSWORD: password } : {} };
}

/** The tool's major version, or a clear refusal when it is missing or older than the server. */
function checkTool(tool: 'pg_dump' | 'pg_restore', options: BackupOptions, serverMajor: number) {
  const bin = options.pgBin ? path.join(options.pgBin, tool) : tool;
  const run = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (run.error)
    throw new BackupError(
      `${tool} was not found (${options.pgBin ? `in ${options.pgBin}` : 'on PATH'}). Install the PostgreSQL ${serverMajor} client tools ` +
        `(Debian/Ubuntu: postgresql-client-${serverMajor}), or give --pg-bin <directory holding ${tool}>.`,
    );
  const major = Number(/(\d+)(?:\.\d+)?/.exec(run.stdout)?.[1]);
  if (!(major >= serverMajor))
    throw new BackupError(
      `${bin} is version ${major || run.stdout.trim()}, older than the server (PostgreSQL ${serverMajor}): ` +
        `install the PostgreSQL ${serverMajor} client tools, or give --pg-bin <their directory>.`,
    );
  return bin;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function lastMigration(query: (text: string) => Promise<{ name: string }[]>) {
  const rows = await query(LAST_MIGRATION).catch(() => []);
  return rows[0]?.name ?? null;
}

/** Runs a client tool; resolves when it exits 0, else rejects with what it wrote on stderr. */
async function runTool(
  bin: string,
  args: string[],
  env: Record<string, string>,
  stdio: { input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream },
) {
  const child = spawn(bin, args, {
    env: { ...process.env, ...env },
    stdio: [stdio.input ? 'pipe' : 'ignore', stdio.output ? 'pipe' : 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  if (stdio.input) stdio.input.pipe(child.stdin!);
  if (stdio.output) child.stdout!.pipe(stdio.output, { end: false });
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0)
    throw new BackupError(`${path.basename(bin)} failed (exit ${code}):\n${stderr.trim()}`);
}

async function serverVersion(client: pg.Client) {
  const { rows } = await client.query(
    "SELECT current_setting('server_version') AS version, current_setting('server_version_num')::int AS num",
  );
  return { version: rows[0].version as string, major: Math.floor(rows[0].num / 10_000) };
}

async function backupPostgres(url: string, file: string, options: BackupOptions) {
  const { version, major, migration } = await withClient(url, async (client) => ({
    ...(await serverVersion(client)),
    migration: await lastMigration(async (text) => (await client.query(text)).rows),
  }));
  const bin = checkTool('pg_dump', options, major);
  const header: BackupHeader = {
    format: 1,
    kind: 'postgres',
    migration,
    createdAt: new Date().toISOString(),
    postgresVersion: version,
  };
  const target = libpqTarget(url);
  await writeBackup(file, async (partial) => {
    const out = createWriteStream(partial);
    out.write(headerLine(header));
    // One snapshot of the whole database: consistent while servers keep writing.
    await runTool(bin, ['--format=custom', `--dbname=${target.dbname}`], target.env, {
      output: out,
    });
    out.end();
    await once(out, 'finish');
  });
  return header;
}

async function restorePostgres(
  url: string,
  file: string,
  offset: number,
  options: BackupOptions & { force?: boolean },
) {
  const { major, tables } = await withClient(url, async (client) => ({
    ...(await serverVersion(client)),
    tables: Number(
      (
        await client.query(
          "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'",
        )
      ).rows[0].n,
    ),
  }));
  const bin = checkTool('pg_restore', options, major);
  const database = new URL(url).pathname.slice(1);
  let setAside: string | null = null;
  if (tables > 0) {
    if (!options.force)
      throw new BackupError(
        `The database "${database}" is not empty (${tables} tables in schema public). Restore into a new database ` +
          `(CREATE DATABASE …, then point DATABASE_URL at it), or give --force to set its schema public aside first.`,
      );
    // Renamed, not dropped: what --force replaced can still be looked at (or dropped) afterwards.
    setAside = `evalgraph_replaced_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}`;
    await withClient(url, async (client) => {
      await client.query('BEGIN');
      await client.query(`ALTER SCHEMA public RENAME TO ${setAside}`);
      await client.query('CREATE SCHEMA public');
      // An extension lives in one schema: left in the one set aside, the backup's
      // `CREATE EXTENSION IF NOT EXISTS` would skip it and its indexes miss their operator class.
      const extensions = await client.query(
        'SELECT e.extname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE n.nspname = $1',
        [setAside],
      );
      for (const { extname } of extensions.rows)
        await client.query(`ALTER EXTENSION ${client.escapeIdentifier(extname)} SET SCHEMA public`);
      await client.query('COMMIT');
    });
  }
  const target = libpqTarget(url);
  // All or nothing; owners and grants are the new database's own (its user may differ).
  await runTool(
    bin,
    [
      '--exit-on-error',
      '--single-transaction',
      '--no-owner',
      '--no-privileges',
      `--dbname=${target.dbname}`,
    ],
    target.env,
    { input: createReadStream(file, { start: offset }) },
  );
  return { setAside };
}

// ---- embedded PGlite ---------------------------------------------------------------------------

async function backupPglite(dataDir: string, file: string) {
  const entries = await readdir(dataDir).catch(() => []);
  if (!entries.length)
    throw new BackupError(`There is no embedded database in ${dataDir} to back up.`);
  const lite = await openPglite({ dataDir });
  let header: BackupHeader;
  let dump: Blob;
  try {
    const version = await lite.query<{ v: string }>(
      "SELECT current_setting('server_version') AS v",
    );
    header = {
      format: 1,
      kind: 'pglite',
      migration: await lastMigration(
        async (text) => (await lite.query<{ name: string }>(text)).rows,
      ),
      createdAt: new Date().toISOString(),
      postgresVersion: version.rows[0].v,
    };
    dump = await lite.dumpDataDir('gzip');
  } finally {
    await lite.close();
  }
  const bytes = Buffer.from(await dump.arrayBuffer());
  await writeBackup(file, async (partial) => {
    const out = createWriteStream(partial);
    out.write(headerLine(header));
    out.end(bytes);
    await once(out, 'finish');
  });
  return header;
}

async function restorePglite(
  dataDir: string,
  file: string,
  offset: number,
  options: { force?: boolean },
) {
  let setAside: string | null = null;
  const entries = await readdir(dataDir).catch(() => []);
  if (entries.length) {
    if (!options.force)
      throw new BackupError(
        `${dataDir} already holds a database. Restore into a new EVALGRAPH_DATA_DIR, or give --force to set it aside first.`,
      );
    setAside = `${dataDir}.replaced-${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}`;
    await rename(dataDir, setAside);
  }
  const tarball = (await readFile(file)).subarray(offset);
  await mkdir(dataDir, { recursive: true });
  try {
    const lite = await openPglite({ dataDir, loadDataDir: new Blob([tarball]) });
    await lite.query('SELECT 1');
    await lite.close();
  } catch (error) {
    // A half-loaded directory would pass for a database at the next start.
    await rm(dataDir, { recursive: true, force: true });
    if (setAside) await rename(setAside, dataDir);
    throw error;
  }
  return { setAside };
}

// ---- the commands ------------------------------------------------------------------------------

export function backup(database: DatabaseConfig, file: string, options: BackupOptions = {}) {
  return database.kind === 'postgres'
    ? backupPostgres(database.url, file, options)
    : backupPglite(database.dataDir, file);
}

/**
 * Loads a backup into this configuration's database, which must be empty (or `force`: what is
 * there is set aside, not deleted). Migrations are not applied here: the caller does, as start does.
 */
export async function restore(
  database: DatabaseConfig,
  file: string,
  options: BackupOptions & { force?: boolean } = {},
): Promise<{ header: BackupHeader; setAside: string | null }> {
  const { header, offset } = await readHeader(file);
  if (header.kind !== database.kind)
    throw new BackupError(
      `${file} is a backup of the ${kindName(header.kind)} database; this configuration uses the ${kindName(database.kind)} one. ` +
        `A backup restores only into its own kind: ${header.kind === 'postgres' ? 'set DATABASE_URL' : 'unset DATABASE_URL'} to restore it.`,
    );
  const known = (await readMigrations()).migrationDirectories.map((m) => m.path);
  if (header.migration && !known.includes(header.migration))
    throw new BackupError(
      `${file} was taken at migration ${header.migration}, which this build does not have (its last is ${known.at(-1)}). ` +
        'Migrations only go forward: restore it with the build that took it, or a newer one.',
    );
  const { setAside } =
    database.kind === 'postgres'
      ? await restorePostgres(database.url, file, offset, options)
      : await restorePglite(database.dataDir, file, offset, options);
  return { header, setAside };
}
