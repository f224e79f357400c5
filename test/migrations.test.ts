// The committed migrations produce exactly prisma/schema.prisma, on the database this run uses
// (PGlite without DATABASE_URL, Postgres with it); CI runs both. Checked with `evalgraph migrate --check`.
import path from 'node:path';
import { createMigrationTarget as target, runCli } from './support/databases';

// Every step starts a child process (the CLI or the server) on a fresh database: minutes on a busy machine.
jest.setTimeout(240_000);

describe('migrations', () => {
  it('apply from scratch (or are up to date), leave no drift, and report drift when the database differs', async () => {
    const t = await target();
    try {
      const applied = runCli(['migrate', '--json'], t.env);
      expect(applied.status).toBe(0);
      expect(JSON.parse(applied.stdout)).toHaveProperty('applied');

      const clean = runCli(['migrate', '--check', '--json'], t.env);
      expect(JSON.parse(clean.stdout)).toEqual({ pending: [], drift: '' });
      expect(clean.status).toBe(0);

      const db = await t.connect();
      await db.sql('ALTER TABLE "users" DROP COLUMN "name"');
      await db.close();
      const drifted = runCli(['migrate', '--check', '--json'], t.env);
      expect(drifted.status).toBe(1);
      expect(JSON.parse(drifted.stdout).drift).toMatch(
        /ALTER TABLE "users" ADD COLUMN\s+"name" TEXT/,
      );
    } finally {
      await t.cleanup();
    }
  });

  it("records Prisma's standard history, with the sha256 of each migration as its checksum", async () => {
    const t = await target();
    try {
      expect(runCli(['migrate'], t.env).status).toBe(0);
      const { createHash } = await import('node:crypto');
      const { readdirSync, readFileSync } = await import('node:fs');
      const dir = path.join(__dirname, '..', 'prisma', 'migrations');
      const expected = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => ({
          name: e.name,
          checksum: createHash('sha256')
            .update(readFileSync(path.join(dir, e.name, 'migration.sql')))
            .digest('hex'),
        }));
      const db = await t.connect();
      const rows = await db.sql(
        'SELECT migration_name AS name, checksum FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name',
      );
      await db.close();
      expect(rows).toEqual(expected);
    } finally {
      await t.cleanup();
    }
  });

  it('leave no trigger and no function that builds events: the event catalogue does, in TypeScript', async () => {
    const t = await target();
    try {
      expect(runCli(['migrate'], t.env).status).toBe(0);
      const db = await t.connect();
      const triggers = await db.sql(
        `SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND n.nspname = 'public'`,
      );
      const functions = await db.sql(
        `SELECT p.proname AS name, l.lanname AS language FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
          WHERE n.nspname = 'public'
            AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
          ORDER BY p.proname`,
      );
      const extensions = await db.sql(
        "SELECT extname AS name FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY extname",
      );
      await db.close();
      expect(triggers).toEqual([]);
      // Extensions' own functions are theirs (pg_trgm's similarity and index support), not ours.
      expect(extensions).toEqual([{ name: 'pg_trgm' }]);
      // Only the maker of time-ordered ids, which the outbox and the delivery log use.
      expect(functions).toEqual([{ name: 'evalgraph_uuid7', language: 'sql' }]);
    } finally {
      await t.cleanup();
    }
  });
});
