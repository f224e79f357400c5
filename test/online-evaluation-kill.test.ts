// Online evaluation is durable: a worker process killed with SIGKILL while judging sampled traces
// loses none of them, and none gets two judgements recorded. With Postgres, an API process and two
// worker processes share the work and one worker is killed: the other takes over its tasks when
// their leases expire. On the embedded database the whole server is killed and started again.
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

const TRACES = 60;

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

const STATS = `query($id: ID!) { evaluationRule(id: $id) { stats { sampled pending evaluated errored skippedByBudget } } }`;

it('a worker killed with SIGKILL mid-stream loses no sampled trace and records none twice', async () => {
  const fake = await startFakeLlm();
  fake.delayMs = 300;
  fake.on('Rate this', { text: JSON.stringify({ score: 1 }) });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-online-kill-'));
  const db = process.env.DATABASE_URL ? await createTestDatabase() : null;
  const key = `evg_test_${randomBytes(24).toString('base64url')}`;
  const env = {
    ...(db ? { DATABASE_URL: db.url! } : { DATABASE_URL: '' }),
    EVALGRAPH_DATA_DIR: dir,
    EVALGRAPH_INIT_ADMIN_EMAIL: 'admin@test.local',
    EVALGRAPH_INIT_PROJECT: 'online kill test',
    EVALGRAPH_INIT_API_KEY: key,
    EVALGRAPH_JUDGE_BASE_URL: fake.url,
    EVALGRAPH_JUDGE_API_KEY: 'sk-test',
    EVALGRAPH_ONLINE_EVAL_CONCURRENCY: '4',
    EVALGRAPH_ONLINE_EVAL_POLL_MS: '100',
    EVALGRAPH_EVAL_LEASE_MS: '2000',
  };
  const workers: ReturnType<typeof startWorkerProcess>[] = [];
  let api: ServeProcess | null = null;
  const pool = db ? new Pool({ connectionString: db.url!, max: 1 }) : null;
  try {
    api = await startServeProcess(env, db ? ['--role', 'api'] : []);
    if (db) workers.push(startWorkerProcess(env), startWorkerProcess(env));
    const project = (await gql(api.url, key, '{ projects { edges { node { id } } } }')).data
      .projects.edges[0].node.id;
    const created = await gql(
      api.url,
      key,
      `mutation($input: CreateEvaluationRuleInput!) { createEvaluationRule(input: $input) { evaluationRule { id } } }`,
      {
        input: {
          projectId: project,
          name: 'durable',
          delaySeconds: 0,
          testingCriteria: [
            {
              type: 'score_model',
              name: 'q',
              model: 'gpt-4o-mini',
              input: [{ role: 'user', content: 'Rate this: {{sample.output_text}}' }],
            },
          ],
        },
      },
    );
    const id = created.data.createEvaluationRule.evaluationRule.id;
    const sent = await gql(
      api.url,
      key,
      `mutation($input: IngestSpansInput!) { ingestSpans(input: $input) { acceptedCount } }`,
      {
        input: {
          projectId: project,
          spans: Array.from({ length: TRACES }, (_, i) => ({
            traceId: `k${i}`,
            spanId: 'root',
            name: 'agent',
            startTime: '2025-03-01T12:00:00.000Z',
            output: `answer #${i}#`,
          })),
        },
      },
    );
    expect(sent.data.ingestSpans.acceptedCount).toBe(TRACES);

    // Kill once some traces are judged and others are being judged; with two workers, once both
    // hold tasks (each claims with its own token), so that the one killed leaves work behind.
    // Worker processes take a while to start on a busy machine: up to a minute is waited.
    const holders = async () =>
      pool
        ? ((
            await pool.query(
              `SELECT count(DISTINCT lease_token)::int AS n FROM online_evaluation_tasks WHERE state = 'RUNNING'`,
            )
          ).rows[0].n as number)
        : 1;
    for (let i = 0; i < 2_400 && (fake.calls.length < 12 || (await holders()) < (db ? 2 : 1)); i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(fake.calls.length).toBeGreaterThanOrEqual(12);
    expect(fake.calls.length).toBeLessThan(TRACES);
    if (db) {
      workers[0].kill();
      await workers[0].exited;
    } else {
      await api.stop('SIGKILL');
      api = await startServeProcess(env);
    }

    let stats = (await gql(api.url, key, STATS, { id })).data.evaluationRule.stats;
    for (let i = 0; i < 1200 && !(stats.sampled === TRACES && stats.pending === 0); i++) {
      await new Promise((r) => setTimeout(r, 100));
      stats = (await gql(api.url, key, STATS, { id })).data.evaluationRule.stats;
    }
    expect(stats).toEqual({
      sampled: TRACES,
      pending: 0,
      evaluated: TRACES,
      errored: 0,
      skippedByBudget: 0,
    });
    const scores = (
      await gql(
        api.url,
        key,
        `query($p: ID!) { scores(projectId: $p, first: 100, filter: { source: ONLINE_EVALUATION }) { totalCount edges { node { trace { externalId } } } } }`,
        { p: project },
      )
    ).data.scores;
    expect(scores.totalCount).toBe(TRACES);
    expect(new Set(scores.edges.map((e: any) => e.node.trace.externalId)).size).toBe(TRACES);
    // Judged again: only what the killed process had judged and not yet committed, at most what
    // its pool holds (claimed: twice its concurrency; being recorded: four times).
    const calls = new Map<string, number>();
    for (const c of fake.calls) {
      const trace = /answer #(\d+)#/.exec(JSON.stringify(c.body.messages))![1];
      calls.set(trace, (calls.get(trace) ?? 0) + 1);
    }
    expect(calls.size).toBe(TRACES);
    const again = [...calls.values()].filter((n) => n > 1).length;
    expect(again).toBeLessThanOrEqual(6 * 4);
    expect(Math.max(...calls.values())).toBeLessThanOrEqual(2);
    if (pool) {
      // Those judged twice are the tasks whose lease was taken over.
      const retaken = (
        await pool.query(
          `SELECT count(*)::int AS n FROM online_evaluation_tasks WHERE attempts > 1`,
        )
      ).rows[0].n;
      expect(again).toBeLessThanOrEqual(retaken);
      expect(retaken).toBeGreaterThan(0);
    }
  } finally {
    await pool?.end();
    await stopWorkers(workers);
    await api?.stop('SIGTERM');
    await fake.close();
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  }
});
