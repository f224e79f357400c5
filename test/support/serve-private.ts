// `evalgraph serve` over a Postgres of the test's own, for tests that crash, stop or freeze that
// Postgres (never the shared one): the server in a child process, migrated and bootstrapped with
// an admin key, and the cleanup.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createPrivatePostgres, type PrivatePostgres } from './private-postgres';
import { startServeProcess, type ServeProcess } from './process';

export interface PrivateDeployment {
  postgres: PrivatePostgres;
  server: ServeProcess;
  /** Throws with the server's last output when the process is no longer running. */
  expectAlive(): void;
  /** Kills the server if it still runs, removes the Postgres and the data directory. */
  close(): Promise<void>;
}

/** `name` names the project, the admin's e-mail and the Redis prefix; `key` is the admin's key. */
export async function serveOnPrivatePostgres(
  name: string,
  key: string,
): Promise<PrivateDeployment> {
  const postgres = await createPrivatePostgres();
  let dataDir = '';
  let server: ServeProcess | null = null;
  const close = async () => {
    try {
      if (server?.child.exitCode === null) await server.stop('SIGKILL');
    } finally {
      await postgres.destroy();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    }
  };
  try {
    await postgres.start();
    const admin = new pg.Client({ connectionString: postgres.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE evalgraph');
    await admin.end();
    dataDir = await mkdtemp(path.join(os.tmpdir(), `evalgraph-${name}-`));
    server = await startServeProcess({
      DATABASE_URL: postgres.url('evalgraph'),
      EVALGRAPH_MIGRATE_ON_START: 'true',
      EVALGRAPH_DATA_DIR: dataDir,
      EVALGRAPH_INIT_ADMIN_EMAIL: `ops@${name}.example`,
      EVALGRAPH_INIT_PROJECT: name,
      EVALGRAPH_INIT_API_KEY: key,
      REDIS_KEY_PREFIX: `evalgraph_${name}_${process.pid}:`,
    });
  } catch (error) {
    await close();
    throw error;
  }
  const started = server;
  return {
    postgres,
    server: started,
    expectAlive() {
      const code = started.child.exitCode;
      if (code !== null)
        throw new Error(`evalgraph exited with code ${code}:\n${started.output().slice(-4_000)}`);
    },
    close,
  };
}
