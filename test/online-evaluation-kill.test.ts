// Online evaluation is durable: a worker process killed with SIGKILL while judging sampled traces
// loses none of them, and none gets two judgements recorded. With Postgres, an API process and two
// worker processes share the work and one worker is killed: the other takes over its tasks when
// their leases expire. On the embedded database the whole server is killed and started again.
import { judgeEnv, startFakeLlm } from './support/fake-llm';
import { ONLINE_POLL_ENV } from './support/online';
import { createDeployment } from './support/process';

jest.setTimeout(240_000);

const TRACES = 60;

const STATS = `query($id: ID!) { evaluationRule(id: $id) { stats { sampled pending evaluated errored skippedByBudget } } }`;

it('a worker killed with SIGKILL mid-stream loses no sampled trace and records none twice', async () => {
  const fake = await startFakeLlm();
  fake.delayMs = 300;
  fake.on('Rate this', { text: JSON.stringify({ score: 1 }) });
  const deployment = await createDeployment({
    project: 'online kill test',
    env: {
      ...judgeEnv(fake),
      ...ONLINE_POLL_ENV,
      EVALGRAPH_ONLINE_EVAL_CONCURRENCY: '4',
      EVALGRAPH_EVAL_LEASE_MS: '2000',
    },
  });
  const { gql } = deployment;
  try {
    await deployment.startApi();
    deployment.startWorkers(2);
    const project = await deployment.projectId();
    const created = await gql(
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
    const bothHold = async () =>
      !deployment.shared || (await deployment.leaseHolders('online_evaluation_tasks')) >= 2;
    for (let i = 0; i < 2_400 && (fake.calls.length < 12 || !(await bothHold())); i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(fake.calls.length).toBeGreaterThanOrEqual(12);
    expect(fake.calls.length).toBeLessThan(TRACES);
    await deployment.crash();

    let stats = (await gql(STATS, { id })).data.evaluationRule.stats;
    for (let i = 0; i < 1200 && !(stats.sampled === TRACES && stats.pending === 0); i++) {
      await new Promise((r) => setTimeout(r, 100));
      stats = (await gql(STATS, { id })).data.evaluationRule.stats;
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
    if (deployment.shared) {
      // Those judged twice are the tasks whose lease was taken over.
      const [{ retaken }] = await deployment.sql(
        `SELECT count(*)::int AS retaken FROM online_evaluation_tasks WHERE attempts > 1`,
      );
      expect(again).toBeLessThanOrEqual(retaken);
      expect(retaken).toBeGreaterThan(0);
    }
  } finally {
    await deployment.close();
    await fake.close();
  }
});
