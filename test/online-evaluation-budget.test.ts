// Online evaluation rules and what limits them: a project budget spent pauses the rule (its due
// targets are skipped) and it resumes by itself once the budget allows; disabling cancels what
// waits; backfillEvaluationRule judges stored traces with the same sampling and dedup as ingest
// (and queues again what a budget skipped or a disable canceled).
import { globalId, type TestApp } from './support/app';
import type { FakeLlm } from './support/fake-llm';
import {
  contains,
  createRule,
  onlineScores,
  onlineTestApp,
  ruleState,
  settled,
  waitForRule,
} from './support/online';
import { ingest, span } from './support/spans';

let app: TestApp;
let fake: FakeLlm;
// One task at a time: the budget check before each sees every judgement before it.
onlineTestApp({ EVALGRAPH_ONLINE_EVAL_CONCURRENCY: '1' }, (s) => ({ app, fake } = s));

const at = (s: number) => new Date(Date.UTC(2025, 2, 1, 12, 0, s)).toISOString();
const quality = {
  type: 'score_model',
  name: 'quality',
  model: 'gpt-4o-mini',
  input: [{ role: 'user', content: 'Rate this: {{sample.output_text}}' }],
};
const BACKFILL = `mutation($id: ID!, $from: DateTime!, $to: DateTime!) {
  backfillEvaluationRule(input: { id: $id, from: $from, to: $to }) { queuedCount scannedTraceCount nextFrom } }`;
const backfill = async (id: string, from: string, to: string) => {
  const res = await app.gql(BACKFILL, { id, from, to });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.backfillEvaluationRule;
};
const traces = (from: number, to: number, prefix = 't') =>
  Array.from({ length: to - from }, (_, k) =>
    span({
      traceId: `${prefix}${from + k}`,
      spanId: 'root',
      name: 'agent',
      startTime: at(from + k),
      output: `answer ${from + k}`,
    }),
  );
const setBudget = (projectId: string, judgeTokensPerDay: number | null) =>
  app.gql(
    `mutation($input: SetProjectBudgetInput!) { setProjectBudget(input: $input) { project { id } } }`,
    { input: { projectId: globalId('Project', projectId), judgeTokensPerDay } },
  );

it('pauses a rule whose budget is spent, skips what comes due, and resumes when it allows', async () => {
  const project = await app.seedProject();
  fake.on('Rate this:', { text: JSON.stringify({ score: 1 }) });
  // Each judge call is 110 tokens: the third spends past 300.
  expect((await setBudget(project, 300)).body.errors).toBeUndefined();
  const id = await createRule(app, project, { delaySeconds: 0, testingCriteria: [quality] });
  await ingest(app, project, traces(0, 10));
  const paused = await waitForRule(app, id, settled(10));
  expect(paused.stats).toMatchObject({ evaluated: 3, skippedByBudget: 7, errored: 0 });
  expect(paused.status).toBe('PAUSED');
  expect(paused.pausedReason).toMatch(/daily budget of 300 judge tokens reached/);
  expect(fake.calls).toHaveLength(3);

  // The budget lifted: the rule resumes by itself, new traces are judged.
  expect((await setBudget(project, null)).body.errors).toBeUndefined();
  await waitForRule(app, id, (s) => s.status === 'ACTIVE' && s.pausedReason === null, 15_000);
  await ingest(app, project, traces(10, 12));
  await waitForRule(app, id, (s) => s.stats.evaluated === 5 && s.stats.pending === 0);

  // What the budget skipped is queued again by a backfill; the rest is not judged twice.
  expect(await backfill(id, at(0), at(30))).toEqual({
    queuedCount: 7,
    scannedTraceCount: 12,
    nextFrom: null,
  });
  const done = await waitForRule(app, id, (s) => s.stats.evaluated === 12 && s.stats.pending === 0);
  expect(done.stats).toMatchObject({ sampled: 12, skippedByBudget: 0 });
  expect(fake.calls).toHaveLength(12);
  const scores = await onlineScores(app, project);
  expect(new Set(scores.map((s) => s.trace.externalId)).size).toBe(12);
  expect(scores).toHaveLength(12);
});

it('backfills stored traces with the sampling of live traffic, never queueing one twice', async () => {
  const project = await app.seedProject();
  await ingest(app, project, traces(0, 40));
  const judge = [contains('answered', 'answer')];
  const id = await createRule(app, project, {
    samplingRate: 0.5,
    delaySeconds: 0,
    testingCriteria: judge,
  });
  // A live rule at the same rate, never due: it shows which of the next traces ingest samples.
  const live = await createRule(app, project, {
    samplingRate: 0.5,
    delaySeconds: 3600,
    testingCriteria: judge,
  });
  await ingest(app, project, traces(40, 60));
  const liveSampled = (await ruleState(app, live)).stats.sampled;
  const ruleSampledLive = (await ruleState(app, id)).stats.sampled;
  // Both rules sample the same traces of live traffic (a hash of their ids, not a draw).
  expect(ruleSampledLive).toBe(liveSampled);
  await waitForRule(app, id, settled(ruleSampledLive));

  const first = await backfill(id, at(0), at(20));
  expect(first.scannedTraceCount).toBe(20);
  expect(first.queuedCount).toBeGreaterThan(0);
  const second = await backfill(id, at(0), at(60));
  expect(second.scannedTraceCount).toBe(60);
  const total = ruleSampledLive + first.queuedCount + second.queuedCount;
  await waitForRule(app, id, settled(total));
  // A third backfill finds everything judged or queued already.
  expect((await backfill(id, at(0), at(60))).queuedCount).toBe(0);
  expect(total).toBeGreaterThanOrEqual(18);
  expect(total).toBeLessThanOrEqual(42);

  const scores = (await onlineScores(app, project)).filter((s) => s.evaluationRuleId === id);
  expect(new Set(scores.map((s) => s.trace.externalId)).size).toBe(total);
  expect(scores).toHaveLength(total);
  expect((await ruleState(app, id)).stats).toMatchObject({ evaluated: total, errored: 0 });
});

it('cancels what waits when a rule is disabled; a backfill queues it again once enabled', async () => {
  const project = await app.seedProject();
  const id = await createRule(app, project, {
    delaySeconds: 3600,
    testingCriteria: [contains('answered', 'answer')],
  });
  await ingest(app, project, traces(0, 5, 'd'));
  expect((await ruleState(app, id)).stats).toMatchObject({ sampled: 5, pending: 5 });
  const update = `mutation($input: UpdateEvaluationRuleInput!) { updateEvaluationRule(input: $input) { evaluationRule { status enabled } } }`;
  const off = await app.gql(update, { input: { id, enabled: false } });
  expect(off.body.data.updateEvaluationRule.evaluationRule).toEqual({
    status: 'DISABLED',
    enabled: false,
  });
  await waitForRule(app, id, (s) => s.stats.canceled === 5 && s.stats.pending === 0);
  // Disabled: nothing is queued by ingest, and a backfill is refused.
  await ingest(app, project, traces(5, 7, 'd'));
  expect((await ruleState(app, id)).stats.sampled).toBe(5);
  const refused = await app.gql(BACKFILL, { id, from: at(0), to: at(10) });
  expect(refused.body.errors?.[0].extensions).toMatchObject({
    code: 'BAD_USER_INPUT',
    path: ['input', 'id'],
  });

  await app.gql(update, { input: { id, enabled: true } });
  expect((await backfill(id, at(0), at(10))).queuedCount).toBe(7);
  await waitForRule(app, id, (s) => s.stats.evaluated === 7 && s.stats.pending === 0);
});
