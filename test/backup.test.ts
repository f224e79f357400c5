// `evalgraph backup` and `restore` as an operator runs them, on the database kind of this run
// (PGlite without DATABASE_URL, Postgres with it): data written through the server comes back
// row for row in a fresh database, and a key still opens it.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  createMigrationTarget,
  runCli,
  uniqueName,
  type MigrationTarget,
} from './support/databases';
import { startServeProcess } from './support/process';
import { deleteKeys } from './support/redis';

// Every step starts a child process (the CLI or the server) on a fresh database: minutes on a busy machine.
jest.setTimeout(600_000);

const postgres = !!process.env.DATABASE_URL;
const adminKey = `evg_test_${randomBytes(24).toString('base64url')}`;
const redisPrefix = `${uniqueName('evalgraph_backup')}:`;
let dir: string;
const targets: MigrationTarget[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-backup-'));
});
afterAll(async () => {
  await Promise.all(targets.map((t) => t.cleanup()));
  await rm(dir, { recursive: true, force: true });
  if (process.env.REDIS_URL) await deleteKeys(process.env.REDIS_URL, redisPrefix);
});

async function target() {
  const t = await createMigrationTarget();
  targets.push(t);
  return t;
}

const serverEnv = (t: MigrationTarget) => ({
  ...t.env,
  REDIS_KEY_PREFIX: redisPrefix,
  EVALGRAPH_INIT_ADMIN_EMAIL: 'admin@backup.test',
  EVALGRAPH_INIT_PROJECT: 'backed up',
  EVALGRAPH_INIT_API_KEY: adminKey,
});

async function gql(url: string, key: string, query: string, variables: object = {}) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  return { status: res.status, body };
}

async function run(url: string, query: string, variables: object = {}) {
  const { body } = await gql(url, adminKey, query, variables);
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** Every table of schema public, each row as JSON, the rows in the order of their text: two equal databases give equal results. */
async function contents(t: MigrationTarget) {
  const db = await t.connect();
  try {
    const tables = await db.sql<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
    );
    const out: Record<string, string[]> = {};
    for (const { name } of tables) {
      const rows = await db.sql<{ r: string }>(
        `SELECT to_jsonb(t)::text AS r FROM "${name}" t ORDER BY 1`,
      );
      out[name] = rows.map((row) => row.r);
    }
    return out;
  } finally {
    await db.close();
  }
}

async function seed(url: string) {
  const p = (await run(url, '{ projects { edges { node { id } } } }')).projects.edges[0].node.id;
  await run(
    url,
    `mutation($p: ID!) { ingestSpans(input: { projectId: $p, spans: [
      { traceId: "t1", spanId: "s1", name: "root", model: "gpt-4o-mini", inputTokens: 10, outputTokens: 3, startTime: "2026-01-02T00:00:00Z", endTime: "2026-01-02T00:00:01Z" },
      { traceId: "t1", spanId: "s2", parentSpanId: "s1", name: "child", startTime: "2026-01-02T00:00:00.500Z" }
    ] }) { acceptedCount } }`,
    { p },
  );
  await run(
    url,
    'mutation($p: ID!) { createScore(input: { projectId: $p, traceExternalId: "t1", name: "helpful", value: 0.75 }) { score { id } } }',
    { p },
  );
  const evaluation = (
    await run(
      url,
      `mutation($input: CreateEvaluationInput!) { createEvaluation(input: $input) { evaluation { id } } }`,
      {
        input: {
          projectId: p,
          name: 'exact',
          testingCriteria: [
            {
              type: 'string_check',
              name: 'exact',
              input: '{{sample.output_text}}',
              reference: '{{item.expected_output}}',
              operation: 'eq',
            },
          ],
          dataSource: {
            items: [
              { input: 'a', expectedOutput: 'x', output: 'x' },
              { input: 'b', expectedOutput: 'y', output: 'z' },
            ],
          },
        },
      },
    )
  ).createEvaluation.evaluation.id;
  // The worker grades it; wait for its final state so that nothing changes under the backup.
  for (;;) {
    const { evaluation: e } = await run(url, 'query($id: ID!) { evaluation(id: $id) { status } }', {
      id: evaluation,
    });
    if (e.status === 'COMPLETED') break;
    if (e.status !== 'QUEUED' && e.status !== 'RUNNING') throw new Error(`evaluation ${e.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const created = await run(
    url,
    'mutation($p: ID!) { createApiKey(input: { name: "second", projectId: $p, role: VIEWER }) { key } }',
    { p },
  );
  return { projectId: p, evaluation, key: created.createApiKey.key as string };
}

describe('evalgraph backup and restore', () => {
  it('restore a backup row for row into a fresh database, where the server starts and the keys work', async () => {
    const source = await target();
    // Migrated first: the server's first start then has less to do within the wait for its banner.
    expect(runCli(['migrate'], source.env).status).toBe(0);
    const server = await startServeProcess(serverEnv(source));
    let seeded: Awaited<ReturnType<typeof seed>>;
    const file = path.join(dir, 'evalgraph.backup');
    try {
      seeded = await seed(server.url);
      if (!postgres) {
        // PGlite has one owner: the running server's data directory is not copied under it.
        const refused = runCli(['backup', '--out', file], source.env);
        expect(refused.status).toBe(1);
        expect(refused.stderr).toMatch(/in use by the running server/);
      }
    } finally {
      expect(await server.stop()).toBe(0);
    }

    const made = runCli(['backup', '--out', file, '--json'], source.env);
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    const header = JSON.parse(made.stdout);
    expect(header).toMatchObject({ kind: postgres ? 'postgres' : 'pglite', format: 1 });
    expect(header.migration).toMatch(/^\d{14}_/);

    const fresh = await target();
    const restored = runCli(['restore', file, '--json'], fresh.env);
    expect(restored.stderr).toBe('');
    expect(restored.status).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ applied: [], setAside: null });

    const before = await contents(source);
    const after = await contents(fresh);
    expect(Object.keys(after)).toEqual(Object.keys(before));
    for (const table of [
      'traces',
      'spans',
      'evaluations',
      'evaluation_items',
      'scores',
      'api_keys',
    ])
      expect(before[table]?.length).toBeGreaterThan(0);
    expect(after).toEqual(before);

    const again = await startServeProcess(serverEnv(fresh));
    try {
      const viewer = await gql(
        again.url,
        seeded!.key,
        `query($id: ID!) { evaluation(id: $id) { status resultCounts { passed failed } } traces(projectId: "${seeded!.projectId}", first: 5) { edges { node { externalId scores(first: 5) { edges { node { name value } } } } } } }`,
        { id: seeded!.evaluation },
      );
      expect(viewer.status).toBe(200);
      expect(viewer.body.errors).toBeUndefined();
      expect(viewer.body.data.evaluation).toEqual({
        status: 'COMPLETED',
        resultCounts: { passed: 1, failed: 1 },
      });
      expect(viewer.body.data.traces.edges).toEqual([
        {
          node: {
            externalId: 't1',
            scores: { edges: [{ node: { name: 'helpful', value: 0.75 } }] },
          },
        },
      ]);
      expect((await gql(again.url, 'evg_not_a_key', '{ viewer { id } }')).status).toBe(401);
    } finally {
      expect(await again.stop()).toBe(0);
    }
  });

  it('refuses a database that is not empty, a backup of the other kind, and one from a newer build', async () => {
    const source = await target();
    expect(runCli(['migrate'], source.env).status).toBe(0);
    const file = path.join(dir, 'small.backup');
    expect(runCli(['backup', '--out', file], source.env).status).toBe(0);

    const notEmpty = runCli(['restore', file], source.env);
    expect(notEmpty.status).toBe(1);
    expect(notEmpty.stderr).toMatch(postgres ? /is not empty/ : /already holds a database/);
    expect(notEmpty.stderr).toMatch(/--force/);

    // --force sets what was there aside and restores.
    const forced = runCli(['restore', file, '--force', '--json'], source.env);
    expect(forced.stderr).toBe('');
    expect(JSON.parse(forced.stdout).setAside).toMatch(
      postgres ? /^evalgraph_replaced_\d{14}$/ : /pgdata\.replaced-\d{14}$/,
    );

    const bytes = await readFile(file);
    const end = bytes.indexOf(10);
    const header = JSON.parse(bytes.subarray(0, end).toString().replace('evalgraph-backup ', ''));
    const variant = async (name: string, change: object) => {
      const f = path.join(dir, name);
      const line = `evalgraph-backup ${JSON.stringify({ ...header, ...change })}`;
      await writeFile(f, Buffer.concat([Buffer.from(line), bytes.subarray(end)]));
      return runCli(['restore', f], (await target()).env);
    };
    const otherKind = await variant('other-kind.backup', {
      kind: postgres ? 'pglite' : 'postgres',
    });
    expect(otherKind.status).toBe(1);
    expect(otherKind.stderr).toMatch(
      postgres
        ? /is a backup of the embedded \(PGlite, EVALGRAPH_DATA_DIR\) database; this configuration uses the Postgres \(DATABASE_URL\) one/
        : /is a backup of the Postgres \(DATABASE_URL\) database; this configuration uses the embedded/,
    );
    const newer = await variant('newer.backup', { migration: '29991231000000_from_the_future' });
    expect(newer.status).toBe(1);
    expect(newer.stderr).toMatch(
      /taken at migration 29991231000000_from_the_future, which this build does not have/,
    );

    const notOurs = path.join(dir, 'not-ours');
    await writeFile(notOurs, 'PGDMP……');
    const foreign = runCli(['restore', notOurs], (await target()).env);
    expect(foreign.status).toBe(1);
    expect(foreign.stderr).toMatch(/is not an Evalgraph backup/);

    if (postgres) {
      const missing = runCli(
        ['backup', '--out', path.join(dir, 'x'), '--pg-bin', path.join(dir, 'no-such-dir')],
        source.env,
      );
      expect(missing.status).toBe(1);
      expect(missing.stderr).toMatch(
        /pg_dump was not found \(in .*no-such-dir\)\. Install the PostgreSQL 15 client tools/,
      );
    }
  });
});
