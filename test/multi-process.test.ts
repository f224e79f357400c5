// Events cross processes: with Postgres and Redis, two API processes and one worker process; a
// client on each API instance (graphql-ws on A, SSE on B) watches an evaluation created through B
// and graded by the worker, and sees it from start to end. On the embedded database one process
// owns it, so there the same clients watch one `serve` process (API and worker together).
import { judgeEnv, startFakeLlm } from './support/fake-llm';
import { subscribeSse, subscribeWs, wsClient } from './support/live';
import { createDeployment } from './support/process';

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
    const deployment = await createDeployment({
      project: 'multi',
      shared: multi,
      env: { ...judgeEnv(fake), EVALGRAPH_EVAL_CONCURRENCY: '2' },
    });
    const { key } = deployment;
    try {
      // The first start migrates and bootstraps; the worker and the second API start after it.
      const a = await deployment.startApi();
      deployment.startWorkers(1);
      const b = multi ? await deployment.startApi() : a;
      const project = await deployment.projectId(b.url);
      const events = wsClient(a.url, key);
      const lifecycle = subscribeWs(
        events,
        `subscription($p: ID!) { evaluationEvents(projectId: $p) { type } }`,
        { p: project },
      );
      await new Promise((r) => setTimeout(r, 300));

      const created = await deployment.gql(
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
        b.url,
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
      await deployment.close();
      await fake.close();
    }
  },
);
