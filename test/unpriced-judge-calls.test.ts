// Judge calls whose cost is unknown, through HTTP with the fake provider (costs/unpriced.ts): a
// judge model without a price, or a provider answer without usage, is an unpriced call. Judge cost
// is the USD of the priced calls, null when there were calls and none could be priced (never 0),
// and the unpriced calls are counted beside it: on evaluations, their results, their live
// progress, run comparisons, generated outputs, exports and online evaluation rules.
import { globalId, type TestApp } from './support/app';
import { createEvaluation, waitFor } from './support/evaluations';
import type { FakeLlm } from './support/fake-llm';
import { subscribeSse } from './support/live';
import { createRule, onlineTestApp, settled, waitForRule } from './support/online';
import { ingest, span } from './support/spans';

let app: TestApp;
let fake: FakeLlm;
onlineTestApp({}, (s) => ({ app, fake } = s));

const out = '{{sample.output_text}}';
// gpt-4o-mini at $0.15 / $0.60 per 1M tokens; the fake reports 100 prompt and 10 completion tokens a call.
const CALL_COST = (100 * 0.15 + 10 * 0.6) / 1e6;
const rated = (name: string, model: string, prompt: string) => ({
  type: 'score_model',
  name,
  model,
  input: [{ role: 'user', content: `${prompt}: ${out}` }],
  pass_threshold: 0.5,
});
const exact = { type: 'string_check', name: 'exact', input: out, reference: 'a', operation: 'eq' };
const score = (value: number) => ({ text: JSON.stringify({ score: value }) });

const SPENDING = `query($id: ID!) { evaluation(id: $id) {
  status judgeInputTokens judgeOutputTokens judgeCost judgeUnpricedCalls
  generationInputTokens generationCost generationUnpricedCalls
  results(first: 100) { edges { node { graderName inputTokens cost judgeUnpricedCalls } } }
  items(first: 100) { edges { node { generationInputTokens generationCost } } }
} }`;

/** The evaluation once it has ended, with its spending, its results and its items. */
async function spending(id: string) {
  await waitFor(app, id);
  const res = await app.gql(SPENDING, { id });
  expect(res.body.errors).toBeUndefined();
  const e = res.body.data.evaluation;
  return {
    ...e,
    results: e.results.edges.map((x: any) => x.node),
    items: e.items.edges.map((x: any) => x.node),
  };
}

it('an evaluation whose judge model has no price reports judgeCost null, not 0, and counts its unpriced calls', async () => {
  fake.on('Rate unpriced', score(0.7));
  const id = await createEvaluation(
    app,
    [rated('quality', 'no-price-model', 'Rate unpriced')],
    [
      { input: 'q1', output: 'a' },
      { input: 'q2', output: 'b' },
    ],
  );
  const e = await spending(id);
  expect(e).toMatchObject({
    status: 'COMPLETED',
    judgeInputTokens: 200,
    judgeOutputTokens: 20,
    judgeCost: null,
    judgeUnpricedCalls: 2,
  });
  expect(e.results).toEqual([
    { graderName: 'quality', inputTokens: 100, cost: null, judgeUnpricedCalls: 1 },
    { graderName: 'quality', inputTokens: 100, cost: null, judgeUnpricedCalls: 1 },
  ]);

  // The live progress says the same (a subscriber joining after the end gets the final state).
  const sse = subscribeSse(
    app.url,
    app.adminKey,
    `subscription($id: ID!) { evaluationProgress(id: $id) { status judgeCost judgeUnpricedCalls } }`,
    { id },
  );
  const events = await sse.done;
  sse.dispose();
  expect(events.at(-1).data.evaluationProgress).toEqual({
    status: 'COMPLETED',
    judgeCost: null,
    judgeUnpricedCalls: 2,
  });

  // So does the export of its results.
  const exported = await fetch(`${app.url}/v1/export/evaluations/${id}/results`, {
    headers: { authorization: `Bearer ${app.adminKey}` },
  });
  const rows = (await exported.text())
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
    .filter((row) => 'graderName' in row);
  expect(rows.map((r) => [r.cost, r.judgeUnpricedCalls])).toEqual([
    [null, 1],
    [null, 1],
  ]);
});

it('a provider answer without usage is an unpriced call, even of a model with a price', async () => {
  fake.on('Rate silently', { ...score(0.9), usage: null });
  const id = await createEvaluation(
    app,
    [rated('quality', 'gpt-4o-mini', 'Rate silently')],
    [{ input: 'q', output: 'a' }],
  );
  const e = await spending(id);
  expect(e).toMatchObject({
    status: 'COMPLETED',
    judgeInputTokens: 0,
    judgeOutputTokens: 0,
    judgeCost: null,
    judgeUnpricedCalls: 1,
  });
  expect(e.results).toEqual([
    { graderName: 'quality', inputTokens: 0, cost: null, judgeUnpricedCalls: 1 },
  ]);
});

it('judgeCost is the USD of the priced calls, the unpriced ones counted apart; deterministic graders cost "0"', async () => {
  fake.on('Rate priced', score(0.8));
  fake.on('Rate unpriced', score(0.8));
  const id = await createEvaluation(
    app,
    [
      rated('priced', 'gpt-4o-mini', 'Rate priced'),
      rated('unpriced', 'no-price-model', 'Rate unpriced'),
      exact,
    ],
    [{ input: 'q', output: 'a' }],
  );
  const e = await spending(id);
  expect(Number(e.judgeCost)).toBeCloseTo(CALL_COST, 12);
  expect(e.judgeUnpricedCalls).toBe(1);
  const byName = Object.fromEntries(e.results.map((r: any) => [r.graderName, r]));
  expect(Number(byName.priced.cost)).toBeCloseTo(CALL_COST, 12);
  expect(byName.priced.judgeUnpricedCalls).toBe(0);
  expect([byName.unpriced.cost, byName.unpriced.judgeUnpricedCalls]).toEqual([null, 1]);
  expect([byName.exact.cost, byName.exact.judgeUnpricedCalls]).toEqual(['0', 0]);
});

it('a priced judge gives its USD and no unpriced calls; an evaluation without judges gives "0" and 0', async () => {
  fake.on('Rate priced', score(0.8));
  const priced = await spending(
    await createEvaluation(
      app,
      [rated('quality', 'gpt-4o-mini', 'Rate priced')],
      [{ input: 'q', output: 'a' }],
    ),
  );
  expect(Number(priced.judgeCost)).toBeCloseTo(CALL_COST, 12);
  expect(priced.judgeUnpricedCalls).toBe(0);

  const deterministic = await spending(
    await createEvaluation(app, [exact], [{ input: 'q', output: 'a' }]),
  );
  expect(deterministic).toMatchObject({
    status: 'COMPLETED',
    judgeCost: '0',
    judgeUnpricedCalls: 0,
    generationCost: '0',
    generationUnpricedCalls: 0,
  });
  expect(deterministic.results).toEqual([
    { graderName: 'exact', inputTokens: 0, cost: '0', judgeUnpricedCalls: 0 },
  ]);
});

it('compares runs with the cost of each as known: null for a run none of whose judge calls was priced', async () => {
  fake.on('Rate priced', score(0.8));
  fake.on('Rate unpriced', score(0.8));
  const dataset = await app.gql(
    `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { dataset { id } } }`,
    {
      input: {
        projectId: globalId('Project', app.projectId),
        name: 'unpriced comparison',
        items: [{ input: 'q', output: 'a' }],
      },
    },
  );
  const datasetId = dataset.body.data.createDataset.dataset.id;
  const base = await createEvaluation(app, [rated('quality', 'gpt-4o-mini', 'Rate priced')], {
    datasetId,
  });
  const candidate = await createEvaluation(
    app,
    [rated('quality', 'no-price-model', 'Rate unpriced')],
    { datasetId },
  );
  await waitFor(app, base);
  await waitFor(app, candidate);
  const res = await app.gql(
    `query($base: ID!, $candidate: ID!) { compareEvaluations(baseId: $base, candidateId: $candidate) {
      baseRun { ...run } candidateRun { ...run } } }
    fragment run on ComparedRun { judgeInputTokens judgeCost judgeUnpricedCalls }`,
    { base, candidate },
  );
  expect(res.body.errors).toBeUndefined();
  const { baseRun, candidateRun } = res.body.data.compareEvaluations;
  expect(Number(baseRun.judgeCost)).toBeCloseTo(CALL_COST, 12);
  expect(baseRun.judgeUnpricedCalls).toBe(0);
  expect(candidateRun).toEqual({ judgeInputTokens: 100, judgeCost: null, judgeUnpricedCalls: 1 });
});

it('a generated output whose provider reported no usage has no cost, and the run counts it unpriced', async () => {
  fake.on('Country: France', { text: 'Paris', usage: { prompt: 20, completion: 2 } });
  fake.on('Country: Italy', { text: 'Rome', usage: null });
  const res = await app.gql(
    `mutation($input: CreateEvaluationInput!) { createEvaluation(input: $input) { evaluation { id } } }`,
    {
      input: {
        projectId: globalId('Project', app.projectId),
        name: 'generated, partly unpriced',
        testingCriteria: [exact],
        dataSource: {
          items: [{ input: { country: 'France' } }, { input: { country: 'Italy' } }],
          completions: {
            model: 'gpt-4o-mini',
            inputMessages: [{ role: 'user', content: 'Country: {{item.country}}' }],
          },
        },
      },
    },
  );
  expect(res.body.errors).toBeUndefined();
  const e = await spending(res.body.data.createEvaluation.evaluation.id);
  // (20 × 0.15 + 2 × 0.60) / 1M for France; Italy's cost is unknown.
  expect(e.items).toEqual([
    { generationInputTokens: 20, generationCost: '0.0000042' },
    { generationInputTokens: 0, generationCost: null },
  ]);
  expect(e).toMatchObject({
    generationInputTokens: 20,
    generationCost: '0.0000042',
    generationUnpricedCalls: 1,
    judgeCost: '0',
    judgeUnpricedCalls: 0,
  });
});

// An online rule's stats: its judge model without a price, or an answer without usage (no tokens,
// still a call).
it.each([
  { why: 'its judge model has no price', model: 'no-price-model', usage: {}, tokens: 100 },
  { why: 'its answer has no usage', model: 'gpt-4o-mini', usage: { usage: null }, tokens: 0 },
])(
  "an online evaluation rule's stats report judgeCost null and its unpriced call when $why",
  async ({ why, model, usage, tokens }) => {
    const project = await app.seedProject();
    const prompt = `Rate online: ${why}`;
    fake.on(prompt, { ...score(0.6), ...usage });
    const id = await createRule(app, project, {
      delaySeconds: 0,
      testingCriteria: [rated('quality', model, prompt)],
    });
    const sent = await ingest(app, project, [
      span({ traceId: `unpriced-${tokens}`, spanId: 'root', name: 'agent', output: 'an answer' }),
    ]);
    expect(sent.body.errors).toBeUndefined();
    await waitForRule(app, id, settled(1));
    const res = await app.gql(
      `query($id: ID!) { evaluationRule(id: $id) { stats { evaluated judgeInputTokens judgeCost judgeUnpricedCalls } } }`,
      { id },
    );
    expect(res.body.data.evaluationRule.stats).toEqual({
      evaluated: 1,
      judgeInputTokens: tokens,
      judgeCost: null,
      judgeUnpricedCalls: 1,
    });
  },
);
