// The `evalgraph` command as an operator uses it, on the database of this run.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, runCli, type TestDatabase } from './support/databases';
import { startServeProcess } from './support/process';

// Every step starts a child process (the CLI or the server) on a fresh database: minutes on a busy machine.
jest.setTimeout(240_000);

let env: Record<string, string>;
let database: TestDatabase | null = null;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-cli-'));
  if (process.env.DATABASE_URL) database = await createTestDatabase();
  env = database
    ? { DATABASE_URL: database.url!, EVALGRAPH_DATA_DIR: dataDir }
    : { DATABASE_URL: '', EVALGRAPH_DATA_DIR: dataDir };
});
afterAll(async () => {
  await database?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

const json = (args: string[]) => {
  const result = runCli([...args, '--json'], env);
  if (result.status !== 0) throw new Error(`evalgraph ${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout);
};

async function query(url: string, key: string, q: string) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: q }),
  });
  return { status: res.status, body: await res.json() };
}

describe('evalgraph CLI', () => {
  it('creates users, projects, members and keys, and the key works against the server', async () => {
    const user = json(['users', 'create', '--email', 'Ops@Example.com', '--name', 'Ops']);
    expect(user).toMatchObject({ email: 'ops@example.com', isAdmin: false, tier: 'FREE' });
    const project = json([
      'projects',
      'create',
      '--name',
      'cli project',
      '--owner',
      'ops@example.com',
    ]);
    expect(project.name).toBe('cli project');
    json(['users', 'create', '--email', 'viewer@example.com']);
    expect(
      json([
        'projects',
        'add-member',
        '--project',
        'cli project',
        '--email',
        'viewer@example.com',
        '--role',
        'VIEWER',
      ]).role,
    ).toBe('VIEWER');
    const key = json([
      'keys',
      'create',
      '--email',
      'ops@example.com',
      '--project',
      'cli project',
      '--role',
      'DEVELOPER',
    ]);
    expect(key.key).toMatch(/^evg_/);
    expect(key.role).toBe('DEVELOPER');
    expect(json(['tiers', 'set', '--email', 'ops@example.com', '--tier', 'PREMIUM']).tier).toBe(
      'PREMIUM',
    );

    const bad = runCli(['keys', 'create', '--email', 'nobody@example.com', '--json'], env);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/No user has the email nobody@example.com/);

    const server = await startServeProcess(env);
    try {
      const res = await query(
        server.url,
        key.key,
        '{ viewer { email tier } projects { edges { node { name viewerRole } } } }',
      );
      expect(res.body.data).toEqual({
        viewer: { email: 'ops@example.com', tier: 'PREMIUM' },
        projects: { edges: [{ node: { name: 'cli project', viewerRole: 'DEVELOPER' } }] },
      });
      if (!database) {
        // The embedded database has one owner: the CLI says so instead of opening it twice.
        const refused = runCli(['keys', 'revoke', '--prefix', key.prefix], env);
        expect(refused.status).toBe(1);
        expect(refused.stderr).toMatch(/in use by the running server/);
      }
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
    expect(existsSync(path.join(dataDir, 'serve.pid'))).toBe(false);

    expect(json(['keys', 'revoke', '--prefix', key.prefix]).revokedAt).toBeTruthy();
    const again = await startServeProcess(env);
    try {
      expect((await query(again.url, key.key, '{ viewer { id } }')).status).toBe(401);
    } finally {
      await again.stop();
    }
  });

  it('rebuilds the span rollups of a project (analytics/rebuild.ts; test/rollups-rebuild.test.ts checks what)', () => {
    // The project of the first test, without spans: nothing to rewrite.
    expect(json(['rollups', 'rebuild', '--project', 'cli project'])).toEqual({
      projects: 1,
      days: 0,
      removed: 0,
      written: 0,
    });
    const bad = runCli(['rollups', 'rebuild', '--project', 'no such project'], env);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/No project has the id or name "no such project"/);
  });

  it('explains a bad environment variable and exits 2', () => {
    const result = runCli(['migrate'], { ...env, PORT: 'eighty', LOG_LEVEL: 'loud' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/PORT: expected a port number \(got "eighty"\)/);
    expect(result.stderr).toMatch(/LOG_LEVEL: expected one of/);
  });
});
