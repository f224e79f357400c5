// Who may do what with online evaluation rules: VIEWER reads them, DEVELOPER and ADMIN change
// them, BILLING sees none; judge spending needs the costs right. A rule of another project
// answers NOT_FOUND to every mutation, as a missing one does, and another project's traffic is
// never judged by it.
import { globalId, type TestApp } from './support/app';
import {
  contains,
  createRule,
  onlineTestApp,
  ruleState,
  settled,
  waitForRule,
} from './support/online';
import { ingest, span } from './support/spans';

let app: TestApp;
let mine: string;
let theirs: string;

// Its rules grade without a judge: the fake LLM goes unasked.
onlineTestApp({}, (s) => ({ app } = s));
beforeAll(async () => {
  mine = await app.seedProject('mine');
  theirs = await app.seedProject('theirs');
});

const judge = [contains('ok', 'ok')];
const at = (s: number) => new Date(Date.UTC(2025, 2, 1, 12, 0, s)).toISOString();
const READ = `query($id: ID!) { evaluationRule(id: $id) { name stats { evaluated judgeInputTokens judgeCost } } }`;
const LIST = `query($p: ID!) { evaluationRules(projectId: $p) { edges { node { name } } } }`;
const mutations = (id: string, project: string) =>
  [
    [
      'createEvaluationRule',
      `mutation($input: CreateEvaluationRuleInput!) { createEvaluationRule(input: $input) { evaluationRule { id } } }`,
      { projectId: globalId('Project', project), name: 'new', testingCriteria: judge },
    ],
    [
      'updateEvaluationRule',
      `mutation($input: UpdateEvaluationRuleInput!) { updateEvaluationRule(input: $input) { evaluationRule { name } } }`,
      { id, name: 'renamed', samplingRate: 0.5 },
    ],
    [
      'backfillEvaluationRule',
      `mutation($input: BackfillEvaluationRuleInput!) { backfillEvaluationRule(input: $input) { queuedCount } }`,
      { id, from: at(0), to: at(59) },
    ],
    [
      'deleteEvaluationRule',
      `mutation($input: DeleteEvaluationRuleInput!) { deleteEvaluationRule(input: $input) { deletedEvaluationRuleId } }`,
      { id },
    ],
  ] as const;

describe('roles', () => {
  it('VIEWER reads rules and their stats, without judge spending, and changes nothing', async () => {
    const viewer = await app.seedUser({ role: 'VIEWER', projectId: mine });
    const id = await createRule(app, mine, { name: 'watched', testingCriteria: judge });
    const read = await app.gql(READ, { id }, { key: viewer.key });
    expect(read.body.data.evaluationRule).toEqual({
      name: 'watched',
      stats: { evaluated: 0, judgeInputTokens: null, judgeCost: null },
    });
    expect(read.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN', 'FORBIDDEN']);
    const list = await app.gql(LIST, { p: globalId('Project', mine) }, { key: viewer.key });
    expect(list.body.data.evaluationRules.edges).toContainEqual({ node: { name: 'watched' } });
    for (const [field, query, input] of mutations(id, mine)) {
      const res = await app.gql(query, { input }, { key: viewer.key });
      expect([field, res.body.errors?.[0].extensions?.code]).toEqual([field, 'FORBIDDEN']);
    }
    expect((await ruleState(app, id)).status).toBe('ACTIVE');
  });

  it.each(['DEVELOPER', 'ADMIN'] as const)(
    '%s creates, changes, backfills and deletes',
    async (role) => {
      const member = await app.seedUser({ role, projectId: mine });
      const id = await createRule(app, mine, { testingCriteria: judge }, member.key);
      for (const [field, query, input] of mutations(id, mine)) {
        const res = await app.gql(query, { input }, { key: member.key });
        expect([field, res.body.errors]).toEqual([field, undefined]);
      }
      const gone = await app.gql(READ, { id });
      expect(gone.body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      // Judge spending: the costs right (ADMIN) reads it, DEVELOPER does not.
      const kept = await createRule(app, mine, { testingCriteria: judge });
      const spend = await app.gql(READ, { id: kept }, { key: member.key });
      expect(spend.body.data.evaluationRule.stats.judgeCost).toBe(role === 'ADMIN' ? '0' : null);
    },
  );

  it('BILLING sees no rules and changes none', async () => {
    const billing = await app.seedUser({ role: 'BILLING', projectId: mine });
    const id = await createRule(app, mine, { testingCriteria: judge });
    const list = await app.gql(LIST, { p: globalId('Project', mine) }, { key: billing.key });
    expect(list.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const read = await app.gql(READ, { id }, { key: billing.key });
    expect(read.body.data?.evaluationRule ?? null).toBeNull();
    expect(read.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    for (const [field, query, input] of mutations(id, mine)) {
      const res = await app.gql(query, { input }, { key: billing.key });
      expect([field, res.body.errors?.[0].extensions?.code]).toEqual([field, 'FORBIDDEN']);
    }
  });
});

describe('isolation', () => {
  it("answers another project's rule NOT_FOUND to every mutation, as a missing one", async () => {
    const me = await app.seedUser({ role: 'ADMIN', projectId: mine });
    const theirRule = await createRule(app, theirs, { name: 'theirs', testingCriteria: judge });
    const missing = globalId('EvaluationRule', '0193f0c4-0000-7000-8000-000000000000');
    for (const id of [theirRule, missing])
      for (const [field, query, input] of mutations(id, theirs)) {
        const res = await app.gql(query, { input }, { key: me.key });
        expect([field, res.body.errors?.[0].extensions?.code]).toEqual([field, 'NOT_FOUND']);
      }
    expect((await ruleState(app, theirRule)).status).toBe('ACTIVE');
  });

  it("judges only its own project's traffic", async () => {
    const a = await app.seedProject('a');
    const b = await app.seedProject('b');
    const rule = await createRule(app, a, { delaySeconds: 0, testingCriteria: judge });
    await ingest(app, b, [span({ traceId: 'same-id', spanId: 'root', name: 'x', output: 'ok' })]);
    await ingest(app, a, [span({ traceId: 'same-id', spanId: 'root', name: 'x', output: 'ok' })]);
    await waitForRule(app, rule, settled(1));
    const scores = async (project: string) =>
      (
        await app.gql(
          `query($p: ID!) { scores(projectId: $p, filter: { source: ONLINE_EVALUATION }) { totalCount } }`,
          { p: globalId('Project', project) },
        )
      ).body.data.scores.totalCount;
    expect([await scores(a), await scores(b)]).toEqual([1, 0]);
    // Backfilling it reads its own project only.
    const filled = await app.gql(
      `mutation($input: BackfillEvaluationRuleInput!) { backfillEvaluationRule(input: $input) { queuedCount scannedTraceCount } }`,
      { input: { id: rule, from: at(0), to: at(59) } },
    );
    expect(filled.body.data.backfillEvaluationRule).toEqual({
      queuedCount: 0,
      scannedTraceCount: 1,
    });
  });
});
