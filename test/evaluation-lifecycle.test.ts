// An evaluation's life through HTTP: the events it emits, cancel (within a second, results kept),
// daily quotas at creation and while running, and who may do what.
import { globalId, type TestApp } from './support/app';
import { createEvaluation, STATE, waitFor } from './support/evaluations';
import type { FakeLlm } from './support/fake-llm';
import { judgeTestApp } from './support/judge-app';
import type { EventMessage } from '../src/modules/events/catalogue';

let app: TestApp;
let fake: FakeLlm;
judgeTestApp(
  {
    // One item at a time, so that the order of grading (and of quota checks) is known.
    EVALGRAPH_EVAL_CONCURRENCY: '1',
    EVALGRAPH_JUDGE_MAX_RETRIES: '0',
    EVALGRAPH_JUDGE_TIMEOUT_MS: '1500',
    EVALGRAPH_EVAL_MAX_ATTEMPTS: '2',
  },
  (s) => ({ app, fake } = s),
);

const out = '{{sample.output_text}}';
const rate = [
  {
    type: 'score_model',
    name: 'q',
    model: 'gpt-4o-mini',
    input: [{ role: 'user', content: `Rate this: ${out}` }],
  },
];

it('announces created, started, progress per item and completed, in order', async () => {
  const events: EventMessage[] = [];
  const stop = app.server.services.events.listen((e) => events.push(e));
  const id = await createEvaluation(
    app,
    [{ type: 'regex', name: 'r', input: out, pattern: 'a' }],
    [
      { input: 1, output: 'a' },
      { input: 2, output: 'b' },
    ],
  );
  await waitFor(app, id);
  stop();
  const raw = Buffer.from(id, 'base64').toString().split(':')[1];
  const mine = events.filter((e) => e.subjectId === raw);
  expect(mine.map((e) => e.type)).toEqual([
    'evaluation.created',
    'evaluation.started',
    'evaluation.progress',
    'evaluation.progress',
    'evaluation.completed',
  ]);
  expect(new Set(mine.map((e) => e.projectId))).toEqual(new Set([app.projectId]));
});

it('cancels within a second: in-flight judge calls are aborted, finished results kept', async () => {
  fake.on('Rate this: fast', { text: JSON.stringify({ score: 1 }) });
  fake.on('Rate this: slow', { hang: true });
  const events: string[] = [];
  const stop = app.server.services.events.listen((e) => events.push(e.type));
  const id = await createEvaluation(app, rate, [
    { input: 1, output: 'fast' },
    { input: 2, output: 'slow' },
    { input: 3, output: 'fast' },
  ]);
  await waitFor(app, id, ['RUNNING']);
  for (let i = 0; i < 200 && fake.calls.length < 2; i++)
    await new Promise((r) => setTimeout(r, 25));
  expect(fake.calls).toHaveLength(2);
  // The slow item's call is held open by the fake (checked before the cancel: the worker may close
  // it before the cancel's answer reaches this test).
  expect(JSON.stringify(fake.calls[1].body.messages)).toContain('Rate this: slow');
  for (let i = 0; i < 200 && fake.hanging() < 1; i++) await new Promise((r) => setTimeout(r, 25));
  expect(fake.hanging()).toBe(1);

  const started = Date.now();
  const res = await app.gql(
    `mutation($id: ID!) { cancelEvaluation(input: { id: $id }) { evaluation { status finishedAt } } }`,
    { id },
  );
  expect(res.body.data.cancelEvaluation.evaluation.status).toBe('CANCELED');
  // The hanging request is closed by the worker's abort.
  for (let i = 0; i < 60 && fake.hanging() > 0; i++) await new Promise((r) => setTimeout(r, 25));
  // The worker saw the cancel and closed its call (polling every 500 ms).
  expect(fake.hanging()).toBe(0);
  expect(Date.now() - started).toBeLessThan(1_000);
  const final = (await app.gql(STATE, { id })).body.data.evaluation;
  expect(final.resultCounts).toEqual({ total: 3, completed: 1, passed: 1, failed: 0, errored: 0 });
  expect(await itemStates(id)).toEqual(['DONE', 'CANCELED', 'CANCELED']);
  await new Promise((r) => setTimeout(r, 700));
  expect(fake.calls).toHaveLength(2);
  stop();
  expect(events).toContain('evaluation.canceled');

  const again = await app.gql(
    `mutation($id: ID!) { cancelEvaluation(input: { id: $id }) { evaluation { status } } }`,
    { id },
  );
  expect(again.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
});

it('times out a provider call that hangs, tries the item again later, and errors it after the last attempt', async () => {
  fake.on('Rate this', { hang: true });
  const id = await createEvaluation(app, rate, [{ input: 1, output: 'x' }]);
  const done = await waitFor(app, id);
  expect(done.resultCounts).toEqual({ total: 1, completed: 1, passed: 0, failed: 0, errored: 1 });
  // Two attempts (EVALGRAPH_EVAL_MAX_ATTEMPTS=2), each timing out after 1.5 s.
  expect(fake.calls).toHaveLength(2);
  expect(fake.hanging()).toBe(0);
  const items = await app.gql(
    `query($id: ID!) { evaluation(id: $id) { items(first: 1) { edges { node { state attempts lastError } } } } }`,
    { id },
  );
  expect(items.body.data.evaluation.items.edges[0].node).toEqual({
    state: 'ERRORED',
    attempts: 2,
    lastError: expect.stringMatching(/gave up after 2 attempts: .*did not answer within 1500 ms/),
  });
});

it('gives up on an item after its last lease expires: ERRORED, counted once, and the evaluation completes', async () => {
  fake.on('Rate this', { hang: true });
  const id = await createEvaluation(app, rate, [{ input: 1, output: 'x' }]);
  await waitFor(app, id, ['RUNNING']);
  for (let i = 0; i < 200 && fake.calls.length < 1; i++)
    await new Promise((r) => setTimeout(r, 25));
  // As if the item's third worker had died holding it: another claim token, an expired lease.
  const raw = Buffer.from(id, 'base64').toString().split(':')[1];
  await app.server.deps.db.query(
    `UPDATE evaluation_items SET attempts = 3, lease_token = gen_random_uuid(), lease_expires_at = now() - interval '1 second' WHERE evaluation_id = $1::uuid`,
    [raw],
  );
  const done = await waitFor(app, id);
  expect([done.status, done.resultCounts]).toEqual([
    'COMPLETED',
    { total: 1, completed: 1, passed: 0, failed: 0, errored: 1 },
  ]);
  // The worker that was grading it lost its claim: its (timed-out) result was not written.
  expect(done.results.totalCount).toBe(0);
  const items = await app.gql(
    `query($id: ID!) { evaluation(id: $id) { items(first: 5) { edges { node { state attempts lastError } } } } }`,
    { id },
  );
  expect(items.body.data.evaluation.items.edges[0].node).toEqual({
    state: 'ERRORED',
    attempts: 3,
    lastError: 'the worker grading it stopped 3 times (lease expired)',
  });
});

async function itemStates(id: string): Promise<string[]> {
  const res = await app.gql(
    `query($id: ID!) { evaluation(id: $id) { items(first: 100) { edges { node { position state } } } } }`,
    { id },
  );
  return res.body.data.evaluation.items.edges.map((e: any) => e.node.state);
}

describe('daily quotas', () => {
  it('stops a running evaluation when the judge token quota runs out, with QUOTA_EXCEEDED', async () => {
    fake.on('Rate this', { text: JSON.stringify({ score: 1 }) });
    const user = await app.seedUser({ role: 'DEVELOPER', tier: 'FREE' });
    // Each call costs 110 tokens: items 1–3 start under 250, item 4 finds it spent.
    await app.server.deps.db.prisma.user.update({
      where: { id: user.userId },
      data: { limitOverrides: { daily: { judgeTokens: 250 } } },
    });
    const id = await createEvaluation(
      app,
      rate,
      [1, 2, 3, 4, 5].map((i) => ({ input: i, output: 'x' })),
      { key: user.key },
    );
    const done = await waitFor(app, id);
    expect([done.status, done.errorCode]).toEqual(['FAILED', 'QUOTA_EXCEEDED']);
    expect(done.error).toMatch(/250 judge tokens/);
    // Items 1–3 run; item 4 finds 330 tokens spent (committed or still being written, each counted
    // once) and stops the evaluation.
    expect(done.resultCounts).toEqual({ total: 5, completed: 3, passed: 3, failed: 0, errored: 0 });
    expect(fake.calls).toHaveLength(3);

    // The next one is refused up front.
    const refused = await app.gql(
      `mutation($input: CreateEvaluationInput!) { createEvaluation(input: $input) { evaluation { id } } }`,
      {
        input: {
          projectId: globalId('Project', app.projectId),
          name: 'over',
          testingCriteria: rate,
          dataSource: { items: [{ input: 1, output: 'x' }] },
        },
      },
      { key: user.key },
    );
    expect([refused.status, refused.body.errors?.[0].extensions?.code]).toEqual([
      429,
      'QUOTA_EXCEEDED',
    ]);
    // Deterministic graders spend no judge tokens: still allowed.
    const free = await createEvaluation(
      app,
      [{ type: 'regex', name: 'r', input: out, pattern: 'x' }],
      [{ input: 1, output: 'x' }],
      { key: user.key },
    );
    expect((await waitFor(app, free)).status).toBe('COMPLETED');
  });

  it('counts evaluations started per day against the tier', async () => {
    const user = await app.seedUser({ role: 'DEVELOPER', tier: 'FREE' });
    await app.server.deps.db.prisma.user.update({
      where: { id: user.userId },
      data: { limitOverrides: { daily: { evaluations: 1 } } },
    });
    await createEvaluation(
      app,
      [{ type: 'regex', name: 'r', input: out, pattern: 'x' }],
      [{ input: 1, output: 'x' }],
      { key: user.key },
    );
    await expect(
      createEvaluation(
        app,
        [{ type: 'regex', name: 'r', input: out, pattern: 'x' }],
        [{ input: 1, output: 'x' }],
        { key: user.key },
      ),
    ).rejects.toThrow(/QUOTA_EXCEEDED/);
  });
});

describe('project budgets', () => {
  const SET_BUDGET = `mutation($input: SetProjectBudgetInput!) { setProjectBudget(input: $input) { project { budget { evaluations judgeTokens judgeCost requests } } } }`;
  const regex = [{ type: 'regex', name: 'r', input: out, pattern: 'x' }];

  it('are set by the project admins and bound every member together', async () => {
    const projectId = await app.seedProject('budgeted');
    const alice = await app.seedUser({ role: 'DEVELOPER', projectId });
    const bob = await app.seedUser({ role: 'DEVELOPER', projectId });
    const input = {
      projectId: globalId('Project', projectId),
      evaluationsPerDay: 2,
      judgeCostPerDay: '5.50',
    };
    expect(
      (await app.gql(SET_BUDGET, { input }, { key: alice.key })).body.errors?.[0].extensions?.code,
    ).toBe('FORBIDDEN');
    const set = await app.gql(SET_BUDGET, { input });
    expect(set.body.data.setProjectBudget.project.budget).toEqual({
      evaluations: 2,
      judgeTokens: null,
      judgeCost: '5.50',
      requests: null,
    });
    await createEvaluation(app, regex, [{ input: 1, output: 'x' }], { key: alice.key, projectId });
    await createEvaluation(app, regex, [{ input: 1, output: 'x' }], { key: bob.key, projectId });
    // Alice's own quota (20 a day) has room; the project's has none.
    await expect(
      createEvaluation(app, regex, [{ input: 1, output: 'x' }], { key: alice.key, projectId }),
    ).rejects.toThrow(/project's daily budget of 2 evaluations.*QUOTA_EXCEEDED/);
    // Another project is not bound by it.
    await createEvaluation(app, regex, [{ input: 1, output: 'x' }], {
      key: (await app.seedUser({ role: 'DEVELOPER' })).key,
    });
    // Costs are not a developer's to see: nor is the budget.
    const read = await app.gql(
      'query($id: ID!) { project(id: $id) { name budget { evaluations } } }',
      { id: input.projectId },
      { key: alice.key },
    );
    expect(read.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    // Cleared again: a null field is no limit.
    const cleared = await app.gql(SET_BUDGET, { input: { projectId: input.projectId } });
    expect(cleared.body.data.setProjectBudget.project.budget.evaluations).toBeNull();
    await createEvaluation(app, regex, [{ input: 1, output: 'x' }], { key: alice.key, projectId });
  });

  it('stop a running evaluation when the project runs out of judge tokens', async () => {
    fake.on('Rate this', { text: JSON.stringify({ score: 1 }) });
    const projectId = await app.seedProject('judge budget');
    const user = await app.seedUser({ role: 'DEVELOPER', projectId, tier: 'ENTERPRISE' });
    await app.gql(SET_BUDGET, {
      input: { projectId: globalId('Project', projectId), judgeTokensPerDay: 250 },
    });
    const id = await createEvaluation(
      app,
      rate,
      [1, 2, 3, 4, 5].map((i) => ({ input: i, output: 'x' })),
      { key: user.key, projectId },
    );
    const done = await waitFor(app, id);
    expect([done.status, done.errorCode]).toEqual(['FAILED', 'QUOTA_EXCEEDED']);
    expect(done.error).toMatch(/project's daily budget of 250 judge tokens/);
    expect(done.resultCounts.completed).toBe(3);
  });
});

it('lets parallel creations spend the evaluations quota exactly once', async () => {
  const user = await app.seedUser({ role: 'DEVELOPER', tier: 'FREE' });
  await app.server.deps.db.prisma.user.update({
    where: { id: user.userId },
    data: { limitOverrides: { daily: { evaluations: 2 } } },
  });
  const attempts = await Promise.allSettled(
    Array.from({ length: 6 }, () =>
      createEvaluation(
        app,
        [{ type: 'regex', name: 'r', input: out, pattern: 'x' }],
        [{ input: 1, output: 'x' }],
        { key: user.key },
      ),
    ),
  );
  expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(2);
  expect(
    attempts
      .filter((a) => a.status === 'rejected')
      .every((a) => /QUOTA_EXCEEDED/.test(String((a as PromiseRejectedResult).reason))),
  ).toBe(true);
});

describe('roles', () => {
  it('VIEWER reads evaluations but cannot create or cancel; DEVELOPER sees judge cost as FORBIDDEN', async () => {
    const viewer = await app.seedUser({ role: 'VIEWER' });
    const developer = await app.seedUser({ role: 'DEVELOPER' });
    await expect(
      createEvaluation(
        app,
        [{ type: 'regex', name: 'r', input: out, pattern: 'x' }],
        [{ input: 1, output: 'x' }],
        { key: viewer.key },
      ),
    ).rejects.toThrow(/FORBIDDEN/);
    const id = await createEvaluation(
      app,
      [{ type: 'regex', name: 'r', input: out, pattern: 'x' }],
      [{ input: 1, output: 'x' }],
      { key: developer.key },
    );
    await waitFor(app, id);
    const read = await app.gql(
      `query($id: ID!) { evaluation(id: $id) { name resultCounts { passed } judgeCost } }`,
      { id },
      { key: viewer.key },
    );
    expect(read.body.data.evaluation).toEqual({
      name: 'test eval',
      resultCounts: { passed: 1 },
      judgeCost: null,
    });
    expect(read.body.errors?.map((e) => [e.path?.at(-1), e.extensions?.code])).toEqual([
      ['judgeCost', 'FORBIDDEN'],
    ]);
    const cancel = await app.gql(
      `mutation($id: ID!) { rerunEvaluation(input: { id: $id }) { requeuedCount } }`,
      { id },
      { key: viewer.key },
    );
    expect(cancel.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});
