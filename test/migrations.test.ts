// The committed migrations produce exactly prisma/schema.prisma, on the database this run uses
// (PGlite without DATABASE_URL, Postgres with it); CI runs both. Checked with `evalgraph migrate --check`.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { createTestDatabase, runCli } from './support/databases';

// Every step starts a child process (the CLI or the server) on a fresh database: minutes on a busy machine.
jest.setTimeout(240_000);

async function target(): Promise<{ env: Record<string, string>; sql(statement: string): Promise<void>; cleanup(): Promise<void> }> {
  if (process.env.DATABASE_URL) {
    const db = await createTestDatabase();
    return {
      env: { DATABASE_URL: db.url! },
      async sql(statement) {
        const client = new pg.Client({ connectionString: db.url! });
        await client.connect();
        await client.query(statement);
        await client.end();
      },
      cleanup: db.drop,
    };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-migrate-'));
  return {
    env: { DATABASE_URL: '', EVALGRAPH_DATA_DIR: dir },
    async sql(statement) {
      const lite = await PGlite.create({ dataDir: path.join(dir, 'pgdata') });
      await lite.exec(statement);
      await lite.close();
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

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

      await t.sql('ALTER TABLE "users" DROP COLUMN "name"');
      const drifted = runCli(['migrate', '--check', '--json'], t.env);
      expect(drifted.status).toBe(1);
      expect(JSON.parse(drifted.stdout).drift).toMatch(/ALTER TABLE "users" ADD COLUMN\s+"name" TEXT/);
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
        .map((e) => ({ name: e.name, checksum: createHash('sha256').update(readFileSync(path.join(dir, e.name, 'migration.sql'))).digest('hex') }));
      let rows: { name: string; checksum: string }[];
      const query = 'SELECT migration_name AS name, checksum FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name';
      if (process.env.DATABASE_URL) {
        const client = new pg.Client({ connectionString: t.env.DATABASE_URL });
        await client.connect();
        rows = (await client.query(query)).rows;
        await client.end();
      } else {
        const lite = await PGlite.create({ dataDir: path.join(t.env.EVALGRAPH_DATA_DIR, 'pgdata') });
        rows = (await lite.query<{ name: string; checksum: string }>(query)).rows;
        await lite.close();
      }
      expect(rows).toEqual(expected);
    } finally {
      await t.cleanup();
    }
  });
});
