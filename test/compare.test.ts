// compareEvaluations through HTTP: two runs of deterministic graders on one dataset whose outputs
// changed in between (an item dropped, one added, a threshold tightened), every number against
// values computed by hand, the bootstrap against an independent computation, the items lists,
// isolation and the refusals.
import { randomUUID } from 'node:crypto';
import { createTestApp, globalId, type TestApp } from './support/app';
import { createEvaluation, waitFor } from './support/evaluations';

let app: TestApp;

const EXPECTED = 'alpha beta gamma delta';
/** Outputs of the base run and of the candidate run, by item; null: not in that run. */
const OUTPUTS: Record<string, [string | null, string | null]> = {
  d1: [EXPECTED, EXPECTED],
  d2: ['alpha beta', EXPECTED],
  d3: [EXPECTED, 'alpha beta gamma'],
  d4: ['alpha beta gamma', 'alpha beta gamma'],
  d5: ['zeta', null],
  d6: [null, 'alpha'],
};
// By hand. exact: string_check eq against the expected output (1 or 0). overlap: ROUGE-1 F1
// against it, 2PR / (P + R) over its four words: "alpha beta" P 1, R 1/2 → 2/3; "alpha beta
// gamma" → 6/7; "alpha" → 2/5; "zeta" → 0. The candidate run tightens overlap's pass threshold
// from 0.5 to 0.9: d4 keeps its score and fails, a regression by pass.
const SCORES: Record<string, Record<string, [number, number]>> = {
  exact: { d1: [1, 1], d2: [0, 1], d3: [1, 0], d4: [0, 0] },
  overlap: { d1: [1, 1], d2: [2 / 3, 1], d3: [1, 6 / 7], d4: [6 / 7, 6 / 7] },
};

const criteria = (threshold: number) => [
  {
    type: 'string_check',
    name: 'exact',
    input: '{{sample.output_text}}',
    reference: '{{item.expected_output}}',
    operation: 'eq',
  },
  {
    type: 'text_similarity',
    name: 'overlap',
    input: '{{sample.output_text}}',
    reference: '{{item.expected_output}}',
    evaluation_metric: 'rouge_1',
    pass_threshold: threshold,
  },
];

const COMPARE = `query($base: ID!, $candidate: ID!, $seed: Int, $resamples: Int) {
  compareEvaluations(baseId: $base, candidateId: $candidate, seed: $seed, resamples: $resamples) {
    dataset { name }
    matchedItems onlyInBase onlyInCandidate
    graders { name pairs baseMeanScore candidateMeanScore meanDifference basePassRate candidatePassRate
      improved regressed unchanged onlyInBase onlyInCandidate
      meanDifferenceInterval { lower upper level resamples seed } }
    baseRun { ...run } candidateRun { ...run }
  } }
  fragment run on ComparedRun { evaluation { id } durationMs judgeInputTokens judgeOutputTokens judgeCost
    generationInputTokens generationOutputTokens generationCost generationLatency { meanMs }
    gradingLatency { items meanMs p50Ms p95Ms } }`;

const ITEMS = `query($base: ID!, $candidate: ID!, $filter: ComparisonItemFilter, $first: Int, $after: String) {
  compareEvaluations(baseId: $base, candidateId: $candidate) {
    items(filter: $filter, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { datasetItemId input expectedOutput baseOutput candidateOutput
        results { grader change base { score passed reasoning error } candidate { score passed reasoning error } } } }
    } } }`;

/** The test's own bootstrap (the documented algorithm, written out again): mulberry32, ⌊u·n⌋, type-7 quantiles. */
function expectedInterval(differences: number[], seed: number, resamples: number) {
  let a = seed | 0;
  const random = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = differences.length;
  const means: number[] = [];
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += differences[Math.floor(random() * n)];
    means.push(sum / n);
  }
  means.sort((x, y) => x - y);
  const at = (p: number) => {
    const h = (resamples - 1) * p;
    const lo = Math.floor(h);
    return means[lo] + (h - lo) * (means[Math.min(lo + 1, resamples - 1)] - means[lo]);
  };
  return { lower: at(0.025), upper: at(0.975) };
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

let datasetId: string;
let base: string;
let candidate: string;
/** Dataset item id by label. */
const ids: Record<string, string> = {};
/** Labels in dataset item order (the order of the items lists and of the bootstrap's pairs). */
let order: string[];

beforeAll(async () => {
  app = await createTestApp();
  const created = await app.gql(
    `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { dataset { id } } }`,
    {
      input: {
        projectId: globalId('Project', app.projectId),
        name: 'compared',
        items: ['d1', 'd2', 'd3', 'd4', 'd5'].map((label) => ({
          input: { q: label },
          expectedOutput: EXPECTED,
          output: OUTPUTS[label][0],
        })),
      },
    },
  );
  expect(created.body.errors).toBeUndefined();
  datasetId = created.body.data.createDataset.dataset.id;
  base = await createEvaluation(app, criteria(0.5), { datasetId }, { name: 'base' });
  expect((await waitFor(app, base)).status).toBe('COMPLETED');

  // Between the runs the outputs change (the items edited), d5 is archived, d6 comes.
  const added = await app.gql(
    `mutation($input: AddDatasetItemsInput!) { addDatasetItems(input: $input) { addedCount } }`,
    {
      input: {
        datasetId,
        items: [{ input: { q: 'd6' }, expectedOutput: EXPECTED, output: OUTPUTS.d6[1] }],
      },
    },
  );
  expect(added.body.data.addDatasetItems.addedCount).toBe(1);
  const listed = await app.gql(
    `query($id: ID!) { dataset(id: $id) { items(first: 100) { edges { node { id input } } } } }`,
    { id: datasetId },
  );
  for (const { node } of listed.body.data.dataset.items.edges) ids[node.input.q] = node.id;
  for (const label of ['d1', 'd2', 'd3', 'd4']) {
    const edited = await app.gql(
      `mutation($input: UpdateDatasetItemInput!) { updateDatasetItem(input: $input) { datasetItem { id } } }`,
      { input: { id: ids[label], output: OUTPUTS[label][1] } },
    );
    expect(edited.body.errors).toBeUndefined();
  }
  const archived = await app.gql(
    `mutation($input: ArchiveDatasetItemInput!) { archiveDatasetItem(input: $input) { datasetItem { id } } }`,
    { input: { id: ids.d5 } },
  );
  expect(archived.body.errors).toBeUndefined();
  candidate = await createEvaluation(app, criteria(0.9), { datasetId }, { name: 'candidate' });
  expect((await waitFor(app, candidate)).status).toBe('COMPLETED');
  order = ['d1', 'd2', 'd3', 'd4'].sort((x, y) => (ids[x] < ids[y] ? -1 : 1));
}, 60_000);
afterAll(() => app.close());

const compare = (variables: Record<string, unknown> = {}, key?: string) =>
  app.gql(COMPARE, { base, candidate, ...variables }, { key });

describe('compareEvaluations', () => {
  it('gives per grader the means, pass rates, difference and changes computed by hand', async () => {
    const res = await compare();
    expect(res.body.errors).toBeUndefined();
    const c = res.body.data.compareEvaluations;
    expect(c.dataset).toEqual({ name: 'compared' });
    expect([c.matchedItems, c.onlyInBase, c.onlyInCandidate]).toEqual([4, 1, 1]);
    expect(c.graders.map((g: { name: string }) => g.name)).toEqual(['exact', 'overlap']);
    const [exact, overlap] = c.graders;
    const summary = (g: any) => ({
      pairs: g.pairs,
      improved: g.improved,
      regressed: g.regressed,
      unchanged: g.unchanged,
      onlyInBase: g.onlyInBase,
      onlyInCandidate: g.onlyInCandidate,
      basePassRate: g.basePassRate,
      candidatePassRate: g.candidatePassRate,
    });
    // exact: d2 improved, d3 regressed, d1 and d4 unchanged; passes 2 of 4 on both sides.
    expect(summary(exact)).toEqual({
      pairs: 4,
      improved: 1,
      regressed: 1,
      unchanged: 2,
      onlyInBase: 1,
      onlyInCandidate: 1,
      basePassRate: 0.5,
      candidatePassRate: 0.5,
    });
    // overlap: d2 improved; d3 regressed by score, d4 by pass (same score, stricter threshold);
    // every base pair passes (≥ 0.5), candidate d1 and d2 only (≥ 0.9).
    expect(summary(overlap)).toEqual({
      pairs: 4,
      improved: 1,
      regressed: 2,
      unchanged: 1,
      onlyInBase: 1,
      onlyInCandidate: 1,
      basePassRate: 1,
      candidatePassRate: 0.5,
    });
    expect(exact.baseMeanScore).toBeCloseTo(0.5, 12);
    expect(exact.candidateMeanScore).toBeCloseTo(0.5, 12);
    expect(exact.meanDifference).toBeCloseTo(0, 12);
    expect(overlap.baseMeanScore).toBeCloseTo((1 + 2 / 3 + 1 + 6 / 7) / 4, 12);
    expect(overlap.candidateMeanScore).toBeCloseTo((1 + 1 + 6 / 7 + 6 / 7) / 4, 12);
    expect(overlap.meanDifference).toBeCloseTo((1 / 3 - 1 / 7) / 4, 12);
    expect(overlap.meanDifference).toBeCloseTo(1 / 21, 12);
  });

  it('gives a seeded 95 % paired bootstrap interval that an independent computation reproduces', async () => {
    const first = (await compare()).body.data.compareEvaluations.graders;
    for (const g of first) {
      const differences = order.map((label) => SCORES[g.name][label][1] - SCORES[g.name][label][0]);
      expect(g.meanDifference).toBeCloseTo(mean(differences), 12);
      const want = expectedInterval(differences, 1, 1000);
      expect(g.meanDifferenceInterval).toEqual({
        lower: expect.any(Number),
        upper: expect.any(Number),
        level: 0.95,
        resamples: 1000,
        seed: 1,
      });
      expect(g.meanDifferenceInterval.lower).toBeCloseTo(want.lower, 12);
      expect(g.meanDifferenceInterval.upper).toBeCloseTo(want.upper, 12);
      expect(g.meanDifferenceInterval.lower).toBeLessThanOrEqual(g.meanDifference);
      expect(g.meanDifferenceInterval.upper).toBeGreaterThanOrEqual(g.meanDifference);
      // Not a degenerate interval: the differences vary.
      expect(g.meanDifferenceInterval.upper).toBeGreaterThan(g.meanDifferenceInterval.lower);
    }
    // The same seed answers the same; another seed and count follow the same algorithm.
    expect((await compare()).body.data.compareEvaluations.graders).toEqual(first);
    const other = (await compare({ seed: 7, resamples: 500 })).body.data.compareEvaluations.graders;
    for (const g of other) {
      const differences = order.map((label) => SCORES[g.name][label][1] - SCORES[g.name][label][0]);
      const want = expectedInterval(differences, 7, 500);
      expect([g.meanDifferenceInterval.seed, g.meanDifferenceInterval.resamples]).toEqual([7, 500]);
      expect(g.meanDifferenceInterval.lower).toBeCloseTo(want.lower, 12);
      expect(g.meanDifferenceInterval.upper).toBeCloseTo(want.upper, 12);
    }
  });

  it('costs more with more resamples (1 per 100)', async () => {
    const cost = async (resamples: number) =>
      (await compare({ resamples })).body.extensions.cost.requestedQueryCost as number;
    expect((await cost(10_000)) - (await cost(1_000))).toBe(90);
  });

  it('refuses a resample count out of bounds', async () => {
    for (const resamples of [99, 10_001]) {
      const res = await compare({ resamples });
      expect(res.body.errors?.[0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        path: ['resamples'],
      });
    }
  });

  it("gives both runs' cost and latency; what was not recorded is null", async () => {
    const c = (await compare()).body.data.compareEvaluations;
    for (const [run, id] of [
      [c.baseRun, base],
      [c.candidateRun, candidate],
    ]) {
      expect(run.evaluation.id).toBe(id);
      expect(run.durationMs).toEqual(expect.any(Number));
      expect(run.durationMs).toBeGreaterThanOrEqual(0);
      // Deterministic graders call no judge: nothing spent, and no output was generated.
      expect([run.judgeInputTokens, run.judgeOutputTokens, run.judgeCost]).toEqual([0, 0, '0']);
      expect([
        run.generationInputTokens,
        run.generationOutputTokens,
        run.generationCost,
        run.generationLatency,
      ]).toEqual([null, null, null, null]);
      // Five items in each run, each with its graders' time.
      expect(run.gradingLatency.items).toBe(5);
      for (const ms of [
        run.gradingLatency.meanMs,
        run.gradingLatency.p50Ms,
        run.gradingLatency.p95Ms,
      ])
        expect(ms).toBeGreaterThanOrEqual(0);
    }
  });

  it('a grader without pairs gives nulls, not zeros', async () => {
    const only = await createEvaluation(
      app,
      [{ type: 'regex', name: 'words', input: '{{sample.output_text}}', pattern: '^[a-z ]+$' }],
      { datasetId },
      { name: 'other graders' },
    );
    expect((await waitFor(app, only)).status).toBe('COMPLETED');
    const res = await compare({ candidate: only });
    expect(res.body.errors).toBeUndefined();
    const graders = res.body.data.compareEvaluations.graders;
    expect(graders.map((g: { name: string }) => g.name)).toEqual(['exact', 'overlap', 'words']);
    for (const g of graders) {
      expect([
        g.name,
        g.pairs,
        g.baseMeanScore,
        g.candidateMeanScore,
        g.meanDifference,
        g.basePassRate,
        g.candidatePassRate,
        g.meanDifferenceInterval,
      ]).toEqual([g.name, 0, null, null, null, null, null, null]);
    }
    // Each run's own graders' results are counted on its side only.
    expect(graders.map((g: any) => [g.onlyInBase, g.onlyInCandidate])).toEqual([
      [5, 0],
      [5, 0],
      [0, 5],
    ]);
  });
});

describe('compareEvaluations items', () => {
  const items = async (variables: Record<string, unknown>) => {
    const res = await app.gql(ITEMS, { base, candidate, ...variables });
    expect(res.body.errors).toBeUndefined();
    return res.body.data.compareEvaluations.items;
  };
  const labels = (page: { edges: { node: { datasetItemId: string } }[] }) =>
    page.edges.map((e) => Object.keys(ids).find((l) => ids[l] === e.node.datasetItemId));
  const inOrder = (...xs: string[]) => order.filter((l) => xs.includes(l));

  it('lists exactly the regressed items, per grader and on any grader', async () => {
    const cases: [Record<string, unknown> | null, string[]][] = [
      [{ change: 'REGRESSED', grader: 'exact' }, ['d3']],
      [{ change: 'REGRESSED', grader: 'overlap' }, inOrder('d3', 'd4')],
      [{ change: 'REGRESSED' }, inOrder('d3', 'd4')],
      [{ change: 'IMPROVED' }, ['d2']],
      [{ change: 'UNCHANGED', grader: 'exact' }, inOrder('d1', 'd4')],
      // Unchanged without a grader: on every grader.
      [{ change: 'UNCHANGED' }, ['d1']],
      [{ grader: 'overlap' }, order],
      [{ grader: 'no such grader' }, []],
      [null, order],
    ];
    for (const [filter, want] of cases) {
      const page = await items({ filter });
      expect([filter, labels(page), page.totalCount]).toEqual([filter, want, want.length]);
    }
  });

  it('shows each item side by side: input, both outputs, both results per grader', async () => {
    const page = await items({ filter: { change: 'REGRESSED', grader: 'exact' } });
    expect(page.edges[0].node).toEqual({
      datasetItemId: ids.d3,
      input: { q: 'd3' },
      expectedOutput: EXPECTED,
      baseOutput: EXPECTED,
      candidateOutput: 'alpha beta gamma',
      results: [
        {
          grader: 'exact',
          change: 'REGRESSED',
          base: { score: 1, passed: true, reasoning: null, error: null },
          candidate: { score: 0, passed: false, reasoning: null, error: null },
        },
        {
          grader: 'overlap',
          change: 'REGRESSED',
          base: { score: 1, passed: true, reasoning: null, error: null },
          candidate: { score: 6 / 7, passed: false, reasoning: null, error: null },
        },
      ],
    });
  });

  it('pages forward with cursors', async () => {
    const filter = { change: 'REGRESSED' };
    const first = await items({ filter, first: 1 });
    expect([labels(first), first.pageInfo.hasNextPage, first.totalCount]).toEqual([
      inOrder('d3', 'd4').slice(0, 1),
      true,
      2,
    ]);
    expect(first.edges[0].cursor).toBe(first.pageInfo.endCursor);
    const second = await items({ filter, first: 1, after: first.pageInfo.endCursor });
    expect([labels(second), second.pageInfo.hasNextPage]).toEqual([
      inOrder('d3', 'd4').slice(1),
      false,
    ]);
    const bad = await app.gql(ITEMS, { base, candidate, after: 'not a cursor' });
    expect(bad.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('compareEvaluations refusals', () => {
  it("answers another project's evaluation as a missing one: NOT_FOUND", async () => {
    const theirs = await app.seedProject('theirs');
    const them = await app.seedUser({ role: 'ADMIN', projectId: theirs });
    const missing = globalId('Evaluation', randomUUID());
    const answers = [];
    for (const [variables, key, path] of [
      [{}, them.key, 'baseId'],
      [{ base: missing }, undefined, 'baseId'],
      [{ candidate: missing }, undefined, 'candidateId'],
    ] as const) {
      const res = await compare(variables, key);
      expect(res.body.data?.compareEvaluations ?? null).toBeNull();
      expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', path: [path] });
      answers.push(res.body.errors?.[0].message);
    }
    expect(new Set(answers).size).toBe(1);
  });

  it('refuses runs on different datasets, or not on a dataset, with BAD_USER_INPUT', async () => {
    const other = await app.gql(
      `mutation($input: CreateDatasetInput!) { createDataset(input: $input) { dataset { id } } }`,
      {
        input: {
          projectId: globalId('Project', app.projectId),
          name: 'another',
          items: [{ input: { q: 'd1' }, expectedOutput: EXPECTED, output: EXPECTED }],
        },
      },
    );
    const elsewhere = await createEvaluation(
      app,
      criteria(0.5),
      { datasetId: other.body.data.createDataset.dataset.id },
      { name: 'elsewhere' },
    );
    const inline = await createEvaluation(app, criteria(0.5), [
      { input: { q: 'd1' }, expectedOutput: EXPECTED, output: EXPECTED },
    ]);
    for (const [variables, path] of [
      [{ candidate: elsewhere }, 'candidateId'],
      [{ candidate: inline }, 'candidateId'],
      [{ base: inline }, 'baseId'],
    ] as const) {
      const res = await compare(variables);
      expect(res.body.errors?.[0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        path: [path],
      });
    }
  });
});
