// Helpers for online evaluation tests: the app they run against, create a rule, read its stats,
// wait until they say so, and read the scores rules wrote.
import { globalId, type TestApp } from './app';
import { judgeTestApp } from './judge-app';

/** Due targets are looked for every 100 ms (default 500), so that tests wait less for judgements. */
export const ONLINE_POLL_ENV = { EVALGRAPH_ONLINE_EVAL_POLL_MS: '100' };

/** The test file's app, judging with a fake LLM (see judgeTestApp) and polling for due targets often. */
export const onlineTestApp = (
  env: Record<string, string>,
  started: Parameters<typeof judgeTestApp>[1],
) => judgeTestApp({ ...ONLINE_POLL_ENV, ...env }, started);

export const CREATE_RULE = `mutation($input: CreateEvaluationRuleInput!) {
  createEvaluationRule(input: $input) { evaluationRule { id status } } }`;

export const RULE = `query($id: ID!) { evaluationRule(id: $id) {
  id name status pausedReason enabled samplingRate delaySeconds
  stats { matched sampled pending evaluated errored skippedByBudget canceled judgeInputTokens judgeOutputTokens judgeCost lag { p50 p95 p99 max } }
} }`;

export const RULE_STATS = `query($id: ID!) { evaluationRule(id: $id) {
  status pausedReason stats { matched sampled pending evaluated errored skippedByBudget canceled }
} }`;

export interface RuleStats {
  matched: number;
  sampled: number;
  pending: number;
  evaluated: number;
  errored: number;
  skippedByBudget: number;
  canceled: number;
}

/** Creates a rule in the project (raw id); returns its global id. */
export async function createRule(
  app: TestApp,
  projectId: string,
  input: Record<string, unknown>,
  key?: string,
): Promise<string> {
  const res = await app.gql(
    CREATE_RULE,
    { input: { projectId: globalId('Project', projectId), name: 'rule', ...input } },
    { key },
  );
  if (res.body.errors) throw new Error(`createEvaluationRule: ${JSON.stringify(res.body.errors)}`);
  return res.body.data.createEvaluationRule.evaluationRule.id;
}

export async function ruleState(
  app: TestApp,
  id: string,
): Promise<{ status: string; pausedReason: string | null; stats: RuleStats }> {
  const res = await app.gql(RULE_STATS, { id });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.evaluationRule;
}

/** Polls the rule until `done` says so (its stats are cached a second at most). */
export async function waitForRule(
  app: TestApp,
  id: string,
  done: (state: Awaited<ReturnType<typeof ruleState>>) => boolean,
  timeoutMs = 30_000,
) {
  const started = Date.now();
  for (;;) {
    const state = await ruleState(app, id);
    if (done(state)) return state;
    if (Date.now() - started > timeoutMs)
      throw new Error(`rule not there after ${timeoutMs} ms: ${JSON.stringify(state)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every target queued by the rule is done with (none pending). */
export const settled = (n: number) => (s: { stats: RuleStats }) =>
  s.stats.sampled === n && s.stats.pending === 0;

export interface OnlineScore {
  name: string;
  value: number;
  comment: string | null;
  source: string;
  evaluationRuleId: string;
  graderName: string;
  trace: { externalId: string };
  span: { externalId: string; name: string } | null;
}

/** The project's ONLINE_EVALUATION scores (up to 100). */
export async function onlineScores(app: TestApp, projectId: string): Promise<OnlineScore[]> {
  const res = await app.gql(
    `query($p: ID!) { scores(projectId: $p, first: 100, filter: { source: ONLINE_EVALUATION }) {
      totalCount edges { node { name value comment source evaluationRuleId graderName trace { externalId } span { externalId name } } } } }`,
    { p: globalId('Project', projectId) },
  );
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.scores.edges.map((e: { node: OnlineScore }) => e.node);
}

/** A deterministic grader: passes when the output contains `needle` (no judge). */
export const contains = (name: string, needle: string) => ({
  type: 'string_check',
  name,
  input: '{{sample.output_text}}',
  reference: needle,
  operation: 'ilike',
});
