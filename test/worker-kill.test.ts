// Durable jobs: a worker process killed with SIGKILL in the middle of an evaluation loses nothing.
// With Postgres, an API process and two worker processes run it and one worker is killed: the
// other takes over its items when their leases expire. On the embedded database (one process
// owns it), the whole server is killed and started again. Either way every item is graded once
// in the counts, no result is stored twice, and the evaluation completes.
import { judgeEnv, startFakeLlm } from './support/fake-llm';
import { createDeployment } from './support/process';

jest.setTimeout(240_000);

const ITEMS = 40;

const STATE = `query($id: ID!) { evaluation(id: $id) { status resultCounts { total completed passed failed errored } results(first: 1) { totalCount } } }`;

it('a worker killed with SIGKILL mid-run loses nothing; counts stay exact', async () => {
  const fake = await startFakeLlm();
  fake.delayMs = 150;
  fake.on('Rate this', { text: JSON.stringify({ score: 1 }) });
  const deployment = await createDeployment({
    project: 'kill test',
    env: { ...judgeEnv(fake), EVALGRAPH_EVAL_CONCURRENCY: '4', EVALGRAPH_EVAL_LEASE_MS: '2000' },
  });
  const { gql } = deployment;
  try {
    await deployment.startApi();
    deployment.startWorkers(2);
    const project = await deployment.projectId();
    const created = await gql(
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
    const state = async () => (await gql(STATE, { id })).data.evaluation;

    // Kill once some items are done and others are in flight; with two workers, once both hold
    // items (each claims with its own token), so that the one killed leaves work behind.
    const bothHold = async () =>
      !deployment.shared || (await deployment.leaseHolders('evaluation_items')) >= 2;
    for (
      let i = 0;
      i < 400 && ((await state()).resultCounts.completed < 8 || !(await bothHold()));
      i++
    )
      await new Promise((r) => setTimeout(r, 50));
    const before = (await state()).resultCounts.completed;
    expect(before).toBeGreaterThanOrEqual(8);
    expect(before).toBeLessThan(ITEMS);
    await deployment.crash();

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
        `query($id: ID!) { evaluation(id: $id) { items(first: 100) { edges { node { attempts } } } } }`,
        { id },
      )
    ).data.evaluation.items.edges;
    expect(
      items.filter((e: { node: { attempts: number } }) => e.node.attempts > 1).length,
    ).toBeGreaterThan(0);
    expect(fake.calls.length).toBeGreaterThanOrEqual(ITEMS);
  } finally {
    await deployment.close();
    await fake.close();
  }
});
