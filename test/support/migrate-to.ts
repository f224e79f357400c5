// `tsx test/support/migrate-to.ts <migration>`: applies the committed migrations up to and
// including <migration> to DATABASE_URL, or to the embedded database under EVALGRAPH_DATA_DIR:
// a database as an older release left it, to upgrade in a test. A child process, as the CLI is:
// the migration engine (WebAssembly) lives there.
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  createMigrationEngine,
  createPostgresMigrationEngine,
  MIGRATIONS_DIR,
} from '../../src/storage/migrate';
import { openPglite, PgliteAdapter } from '../../src/storage/pglite';

async function main() {
  const last = process.argv[2];
  const names = (await readdir(MIGRATIONS_DIR, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  if (!names.includes(last)) throw new Error(`no migration ${last}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-migrations-'));
  await cp(path.join(MIGRATIONS_DIR, 'migration_lock.toml'), path.join(dir, 'migration_lock.toml'));
  for (const name of names.filter((n) => n <= last))
    await cp(path.join(MIGRATIONS_DIR, name), path.join(dir, name), { recursive: true });
  const url = process.env.DATABASE_URL;
  const lite = url
    ? null
    : await openPglite({ dataDir: path.join(process.env.EVALGRAPH_DATA_DIR!, 'pgdata') });
  const engine = url
    ? await createPostgresMigrationEngine(url, { migrationsDir: dir })
    : await createMigrationEngine(new PgliteAdapter(lite!), { migrationsDir: dir });
  try {
    console.log(JSON.stringify({ applied: await engine.apply() }));
  } finally {
    await engine.close();
    await lite?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
