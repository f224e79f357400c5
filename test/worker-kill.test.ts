// Durable jobs: a worker process killed with SIGKILL in the middle of an evaluation loses nothing.
// With Postgres, an API process and two worker processes run it and one worker is killed: the
// other takes over its items when their leases expire. On the embedded database (one process
// owns it), the whole server is killed and started again. Either way every item is graded once
// in the counts, no result is stored twice, and the evaluation completes.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { createTestDatabase } from './support/databases';
import { startFakeLlm } from './support/fake-llm';
import {
  startServeProcess,
  startWorkerProcess,
  stopWorkers,
  type ServeProcess,
} from './support/process';

jest.setTimeout(240_000);

const ITEMS = 40;

async function gql(
  url: string,
  key: string,
  query: string,
  variables: Record<string, unknown> = {},
) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: unknown[] };
}

const STATE = `query($id: ID!) { evaluation(id: $id) { status resultCounts { total completed passed failed errored } results(first: 1) { totalCount } } }`;

it('a worker killed with SIGKILL mid-run loses nothing; counts stay exact', async () => {
  const fake = await startFakeLlm();
  fake.delayMs = 150;
  fake.on('Rate this', { text: JSON.stringify({ score: 1 }) });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-kill-'));
  const db = process.env.DATABASE_URL ? await createTestDatabase() : null;
  const key = `evg_test_${randomBytes(24).toString('base64url')}`;
  const env = {
    ...(db ? { DATABASE_URL: db.url! } : { DATABASE_URL: '' }),
    EVALGRAPH_DATA_DIR: dir,
    EVALGRAPH_INIT_ADMIN_EMAIL: 'admin@test.local',
    EVALGRAPH_INIT_PROJECT: 'kill test',
    EVALGRAPH_INIT_API_KEY: key,
    EVALGRAPH_JUDGE_BASE_URL: fake.url,
    EVALGRAPH_JUDGE_API_KEY: 'sk-test',
    EVALGRAPH_EVAL_CONCURRENCY: '4',
    EVALGRAPH_EVAL_LEASE_MS: '2000',
  };
  const workers: ReturnType<typeof startWorkerProcess>[] = [];
  let api: ServeProcess | null = null;
  try {
    api = await startServeProcess(env, db ? ['--role', 'api'] : []);
    if (db) workers.push(startWorkerProcess(env), startWorkerProcess(env));
    const project = (await gql(api.url, key, '{ projects { edges { node { id } } } }')).data
      .projects.edges[0].node.id;
    const created = await gql(
      api.url,
      key,
      `mutation($input: CreateEvaluationInput!) { createEvaluation(input: $input) { evaluation { id } } }`,
      {
        input: {
          projectId: project,
          name: 'durable',
          testingCriteria: [
            {
              type: 'score_model',
              name: 'q',
              model: 'gpt-4o-mini',
              input: [{ role: 'user', content: 'Rate this: {{sample.output_text}}' }],
            },
          ],
          dataSource: {
            items: Array.from({ length: ITEMS }, (_, i) => ({ input: i, output: `answer ${i}` })),
          },
        },
      },
    );
    const id = created.data.createEvaluation.evaluation.id;
    const state = async () => (await gql(api!.url, key, STATE, { id })).data.evaluation;

    // Kill once some items are done and others are in flight; with two workers, once both hold
    // items (each claims with its own token), so that the one killed leaves work behind.
    const holders = async () => {
      if (!db) return 1;
      const pool = new Pool({ connectionString: db.url!, max: 1 });
      try {
        return (
          await pool.query(
            `SELECT count(DISTINCT lease_token)::int AS n FROM evaluation_items WHERE state = 'RUNNING'`,
          )
        ).rows[0].n as number;
      } finally {
        await pool.end();
      }
    };
    for (
      let i = 0;
      i < 400 && ((await state()).resultCounts.completed < 8 || (await holders()) < (db ? 2 : 1));
      i++
    )
      await new Promise((r) => setTimeout(r, 50));
    const before = (await state()).resultCounts.completed;
    expect(before).toBeGreaterThanOrEqual(8);
    expect(before).toBeLessThan(ITEMS);
    if (db) {
      workers[0].kill();
      await workers[0].exited;
    } else {
      await api.stop('SIGKILL');
      api = await startServeProcess(env);
    }

    let final = await state();
    for (let i = 0; i < 1200 && final.status !== 'COMPLETED'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      final = await state();
    }
    expect(final.status).toBe('COMPLETED');
    expect(final.resultCounts).toEqual({
      total: ITEMS,
      completed: ITEMS,
      passed: ITEMS,
      failed: 0,
      errored: 0,
    });
    expect(final.results.totalCount).toBe(ITEMS);
    // The items the killed worker held were claimed again once their leases expired: counted once.
    const items = (
      await gql(
        api.url,
        key,
        `query($id: ID!) { evaluation(id: $id) { items(first: 100) { edges { node { attempts } } } } }`,
        { id },
      )
    ).data.evaluation.items.edges;
    expect(
      items.filter((e: { node: { attempts: number } }) => e.node.attempts > 1).length,
    ).toBeGreaterThan(0);
    expect(fake.calls.length).toBeGreaterThanOrEqual(ITEMS);
  } finally {
    await stopWorkers(workers);
    await api?.stop('SIGTERM');
    await fake.close();
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  }
});
