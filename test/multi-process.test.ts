// Events cross processes: with Postgres and Redis, two API processes and one worker process; a
// client on each API instance (graphql-ws on A, SSE on B) watches an evaluation created through B
// and graded by the worker, and sees it from start to end. On the embedded database one process
// owns it, so there the same clients watch one `serve` process (API and worker together).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, uniqueName } from './support/databases';
import { startFakeLlm } from './support/fake-llm';
import { subscribeSse, subscribeWs, wsClient } from './support/live';
import { startServeProcess, startWorkerProcess, type ServeProcess } from './support/process';

jest.setTimeout(180_000);

const PROGRESS = `subscription($id: ID!) { evaluationProgress(id: $id) { status resultCounts { total completed } } }`;
const multi = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);

it(
  multi
    ? 'two API processes and a worker process: both API instances stream the worker’s progress'
    : 'one serve process streams its progress to graphql-ws and SSE clients',
  async () => {
    const fake = await startFakeLlm();
    fake.delayMs = 40;
    fake.on('Rate this', { text: JSON.stringify({ score: 1 }) });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-multi-'));
    const db = multi ? await createTestDatabase() : null;
    const key = `evg_test_${randomBytes(24).toString('base64url')}`;
    const env = {
      ...(db
        ? {
            DATABASE_URL: db.url!,
            REDIS_URL: process.env.REDIS_URL!,
            REDIS_KEY_PREFIX: `${uniqueName('evalgraph_multi')}:`,
          }
        : { DATABASE_URL: '', REDIS_URL: '' }),
      EVALGRAPH_DATA_DIR: dir,
      EVALGRAPH_INIT_ADMIN_EMAIL: 'admin@test.local',
      EVALGRAPH_INIT_PROJECT: 'multi',
      EVALGRAPH_INIT_API_KEY: key,
      EVALGRAPH_JUDGE_BASE_URL: fake.url,
      EVALGRAPH_JUDGE_API_KEY: 'sk-test',
      EVALGRAPH_EVAL_CONCURRENCY: '2',
    };
    const apis: ServeProcess[] = [];
    const worker = multi ? startWorkerProcess(env) : null;
    try {
      // The first start migrates and bootstraps; the second API instance starts after it.
      apis.push(await startServeProcess(env, multi ? ['--role', 'api'] : []));
      apis.push(multi ? await startServeProcess(env, ['--role', 'api']) : apis[0]);
      const [a, b] = apis;
      const gql = async (url: string, query: string, variables: Record<string, unknown> = {}) =>
        (await (
          await fetch(`${url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
            body: JSON.stringify({ query, variables }),
          })
        ).json()) as any;
      const project = (await gql(b.url, '{ projects { edges { node { id } } } }')).data.projects
        .edges[0].node.id;
      const events = wsClient(a.url, key);
      const lifecycle = subscribeWs(
        events,
        `subscription($p: ID!) { evaluationEvents(projectId: $p) { type } }`,
        { p: project },
      );
      await new Promise((r) => setTimeout(r, 300));

      const created = await gql(
        b.url,
        `mutation($input: CreateEvaluationInput!) { createEvaluation(input: $input) { evaluation { id } } }`,
        {
          input: {
            projectId: project,
            name: 'across processes',
            testingCriteria: [
              {
                type: 'score_model',
                name: 'q',
                model: 'gpt-4o-mini',
                input: [{ role: 'user', content: 'Rate this: {{sample.output_text}}' }],
              },
            ],
            dataSource: {
              items: Array.from({ length: 30 }, (_, i) => ({ input: i, output: `answer ${i}` })),
            },
          },
        },
      );
      const id = created.data.createEvaluation.evaluation.id;
      const onA = subscribeWs(wsClient(a.url, key), PROGRESS, { id });
      const onB = subscribeSse(b.url, key, PROGRESS, { id });
      for (const run of [await onA.done, await onB.done]) {
        const progress = run.map((e: any) => e.data.evaluationProgress);
        expect(progress.length).toBeGreaterThanOrEqual(2);
        expect(progress.at(-1)).toEqual({
          status: 'COMPLETED',
          resultCounts: { total: 30, completed: 30 },
        });
        const completed = progress.map((p: any) => p.resultCounts.completed);
        expect([...completed].sort((x, y) => x - y)).toEqual(completed);
      }
      onB.dispose();
      // The project stream on A heard the whole lifecycle, announced by B (created) and the worker.
      for (
        let i = 0;
        i < 100 && !lifecycle.events.some((e) => e.data.evaluationEvents.type === 'COMPLETED');
        i++
      )
        await new Promise((r) => setTimeout(r, 50));
      const types = lifecycle.events
        .map((e) => e.data.evaluationEvents.type)
        .filter((t: string, i: number, all: string[]) => t !== all[i - 1]);
      expect(types).toEqual(['CREATED', 'STARTED', 'PROGRESS', 'COMPLETED']);
      lifecycle.stop();
      await events.dispose();
    } finally {
      worker?.stop();
      await worker?.exited;
      for (const api of new Set(apis)) await api.stop('SIGTERM');
      await fake.close();
      await db?.drop();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
