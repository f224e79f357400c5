// LLM-judge graders through HTTP against a fake OpenAI-compatible server on loopback: score and
// label models, G-Eval (log-probability and sampling paths), RAG metrics, judge cost, provider
// retries and circuit breaker.
import { createTestApp, globalId, type TestApp } from './support/app';
import { byGrader, createEvaluation, waitFor } from './support/evaluations';
import { judgeEnv, type FakeLlm } from './support/fake-llm';
import { judgeTestApp } from './support/judge-app';

let app: TestApp;
let fake: FakeLlm;
judgeTestApp(
  {
    EVALGRAPH_JUDGE_MAX_RETRIES: '2',
    EVALGRAPH_JUDGE_TIMEOUT_MS: '5000',
    EVALGRAPH_JUDGE_BREAKER_FAILURES: '3',
    EVALGRAPH_JUDGE_BREAKER_RESET_MS: '1500',
  },
  (s) => ({ app, fake } = s),
);

const json = (value: unknown) => ({ text: JSON.stringify(value) });
const out = '{{sample.output_text}}';
// gpt-4o-mini at $0.15 / $0.60 per 1M tokens; the fake reports 100 prompt and 10 completion tokens a call.
const CALL_COST = (100 * 0.15 + 10 * 0.6) / 1e6;

describe('score_model and label_model', () => {
  it('grades with the judge, and prices its tokens into the evaluation', async () => {
    fake.on('Rate this: good', json({ score: 0.9, reasoning: 'accurate' }));
    fake.on('Rate this: bad', json({ score: 0.2, reasoning: 'wrong' }));
    fake.on('Tone of: good', json({ label: 'polite' }));
    fake.on('Tone of: bad', json({ label: 'rude', reasoning: 'insults the user' }));
    const id = await createEvaluation(
      app,
      [
        {
          type: 'score_model',
          name: 'quality',
          model: 'gpt-4o-mini',
          input: [{ role: 'user', content: `Rate this: ${out}` }],
          range: [0, 1],
          pass_threshold: 0.5,
        },
        {
          type: 'label_model',
          name: 'tone',
          model: 'gpt-4o-mini',
          input: [{ role: 'user', content: { type: 'input_text', text: `Tone of: ${out}` } }],
          labels: ['polite', 'rude'],
          passing_labels: ['polite'],
        },
      ],
      [
        { input: 'q1', output: 'good' },
        { input: 'q2', output: 'bad' },
      ],
    );
    const done = await waitFor(app, id);
    expect(done.resultCounts).toEqual({ total: 2, completed: 2, passed: 1, failed: 1, errored: 0 });
    const r = byGrader(done);
    expect(r.quality.map((x) => [x.score, x.passed, x.reasoning])).toEqual([
      [0.9, true, 'accurate'],
      [0.2, false, 'wrong'],
    ]);
    expect(r.tone.map((x) => [x.score, x.passed, x.reasoning])).toEqual([
      [1, true, 'polite'],
      [0, false, 'rude: insults the user'],
    ]);
    expect([done.judgeInputTokens, done.judgeOutputTokens]).toEqual([400, 40]);
    expect(Number(done.judgeCost)).toBeCloseTo(4 * CALL_COST, 12);
    expect(Number(r.quality[0].cost)).toBeCloseTo(CALL_COST, 12);
    // The judge was asked for JSON with the configured model.
    expect(
      fake.calls.every(
        (c) => c.body.model === 'gpt-4o-mini' && c.body.response_format?.type === 'json_object',
      ),
    ).toBe(true);
  });

  it("prices judge calls from the instance's table, not a project's own prices (which its admins set)", async () => {
    const projectId = await app.seedProject();
    const free = await app.gql(
      'mutation($p: ID!) { upsertModelPrice(input: { projectId: $p, modelName: "gpt-4o-mini", inputPrice: "0", outputPrice: "0" }) { modelPrice { id } } }',
      { p: globalId('Project', projectId) },
    );
    expect(free.body.errors).toBeUndefined();
    fake.on('Rate cheaply: x', json({ score: 1 }));
    const id = await createEvaluation(
      app,
      [
        {
          type: 'score_model',
          name: 'quality',
          model: 'gpt-4o-mini',
          input: [{ role: 'user', content: `Rate cheaply: ${out}` }],
          range: [0, 1],
        },
      ],
      [{ input: 'q', output: 'x' }],
      { projectId },
    );
    const done = await waitFor(app, id);
    expect(done.resultCounts.completed).toBe(1);
    expect(Number(done.judgeCost)).toBeCloseTo(CALL_COST, 12);
  });

  it('errors an item whose judge answer cannot be read, and rerunEvaluation grades it again', async () => {
    fake.on('Tone of: odd', json({ label: 'sarcastic' }));
    fake.on('Tone of:', json({ label: 'polite' }));
    const criteria = [
      {
        type: 'label_model',
        name: 'tone',
        input: [{ role: 'user', content: `Tone of: ${out}` }],
        labels: ['polite', 'rude'],
        passing_labels: ['polite'],
      },
    ];
    const id = await createEvaluation(app, criteria, [
      { input: 'a', output: 'fine' },
      { input: 'b', output: 'odd' },
      { input: 'c', output: 'nice' },
    ]);
    const first = await waitFor(app, id);
    expect(first.resultCounts).toEqual({
      total: 3,
      completed: 3,
      passed: 2,
      failed: 0,
      errored: 1,
    });
    expect(byGrader(first).tone[1].error).toMatch(/sarcastic/);

    fake.reset();
    fake.on('Tone of:', json({ label: 'rude' }));
    const rerun = await app.gql(
      `mutation($id: ID!) { rerunEvaluation(input: { id: $id }) { requeuedCount evaluation { status } } }`,
      { id },
    );
    expect(rerun.body.data.rerunEvaluation).toEqual({
      requeuedCount: 1,
      evaluation: { status: 'RUNNING' },
    });
    const second = await waitFor(app, id);
    expect(second.resultCounts).toEqual({
      total: 3,
      completed: 3,
      passed: 2,
      failed: 1,
      errored: 0,
    });
    expect(second.results.totalCount).toBe(3);
    expect(fake.calls).toHaveLength(1);
  });
});

describe('G-Eval', () => {
  const STEPS = 'Write 3 to 5 concise evaluation steps';

  it('generates its steps once, stores them, and weights the score tokens by probability', async () => {
    fake.on(STEPS, json({ steps: ['Read the response.', 'Check it follows logically.'] }));
    fake.on('Evaluation form', {
      text: '4',
      logprobs: [{ token: '4', top: { '4': 0.6, '5': 0.3, '3': 0.1 } }],
    });
    const id = await createEvaluation(
      app,
      [
        {
          type: 'g_eval',
          name: 'coherence',
          criteria: 'Coherence: the response is well structured.',
          score_range: [1, 5],
          pass_threshold: 0.75,
        },
      ],
      [
        { input: 'a', output: 'x' },
        { input: 'b', output: 'y' },
        { input: 'c', output: 'z' },
      ],
    );
    const done = await waitFor(app, id);
    expect(done.resultCounts).toEqual({ total: 3, completed: 3, passed: 3, failed: 0, errored: 0 });
    // Σ p·s = 4·0.6 + 5·0.3 + 3·0.1 = 4.2 on 1–5 → (4.2 − 1) / 4 = 0.8
    expect(byGrader(done).coherence.map((r) => r.score)).toEqual([
      expect.closeTo(0.8, 12),
      expect.closeTo(0.8, 12),
      expect.closeTo(0.8, 12),
    ]);
    expect(fake.calls.filter((c) => JSON.stringify(c.body.messages).includes(STEPS))).toHaveLength(
      1,
    );
    expect(done.testingCriteria[0].evaluation_steps).toEqual([
      'Read the response.',
      'Check it follows logically.',
    ]);
    const form = fake.calls.find((c) =>
      JSON.stringify(c.body.messages).includes('Evaluation form'),
    )!.body;
    expect([form.logprobs, form.top_logprobs]).toEqual([true, 20]);
    expect(JSON.stringify(form.messages)).toContain('Check it follows logically.');
  });

  it('takes the mean of n samples when the provider gives no log probabilities', async () => {
    fake.on('Evaluation form', (body) => ({
      text: ['4', '5', '3', '4', '4'].slice(0, body.n ?? 1),
    }));
    const id = await createEvaluation(
      app,
      [
        {
          type: 'g_eval',
          name: 'fluency',
          criteria: 'Fluency',
          evaluation_steps: ['Read it.'],
          samples: 5,
        },
      ],
      [{ input: 'a', output: 'x' }],
    );
    const done = await waitFor(app, id);
    // mean 4 on 1–5 → 0.75
    expect(byGrader(done).fluency[0]).toMatchObject({
      score: 0.75,
      passed: true,
      reasoning: expect.stringMatching(/mean of 5 sampled scores/),
    });
    expect(fake.calls.map((c) => c.body.n ?? 1)).toEqual([1, 5]);
  });
});

describe('RAG metrics (RAGAS definitions)', () => {
  it('computes faithfulness, answer relevancy, context precision and context recall', async () => {
    fake.on(
      'List every factual claim',
      json({ claims: ['Paris is the capital of France.', 'Paris has 20 million inhabitants.'] }),
    );
    fake.on(
      'directly inferred',
      json({
        verdicts: [
          { claim: 'a', verdict: 1 },
          { claim: 'b', verdict: 0 },
        ],
      }),
    );
    fake.on(
      'different questions this answer responds to',
      json({
        questions: ['What is the capital of France?', 'Which city is the French capital?'],
        noncommittal: 0,
      }),
    );
    fake.on('useful in arriving at the reference answer', json({ verdicts: [1, 0, 1] }));
    fake.on(
      'Split the reference answer into statements',
      json({
        classifications: [
          { statement: 'a', attributed: 1 },
          { statement: 'b', attributed: 0 },
          { statement: 'c', attributed: 1 },
        ],
      }),
    );
    const id = await createEvaluation(
      app,
      [
        { type: 'faithfulness', name: 'faithfulness' },
        { type: 'answer_relevancy', name: 'relevancy', questions: 2, pass_threshold: 0.1 },
        { type: 'context_precision', name: 'precision' },
        { type: 'context_recall', name: 'recall' },
        {
          type: 'text_similarity',
          name: 'cosine',
          input: out,
          reference: '{{item.expected_output}}',
          evaluation_metric: 'cosine',
          pass_threshold: 0.99,
        },
      ],
      [
        {
          input: { question: 'What is the capital of France?' },
          output: 'Paris is the capital of France, with 20 million inhabitants.',
          expectedOutput: 'Paris is the capital of France.',
          contexts: ['Paris is the capital of France.', 'Lyon is a city.', 'France is in Europe.'],
        },
      ],
    );
    const done = await waitFor(app, id);
    const r = byGrader(done);
    expect(r.faithfulness[0]).toMatchObject({ score: 0.5, passed: true });
    expect(r.precision[0].score).toBeCloseTo((1 + 2 / 3) / 2, 12);
    expect(r.recall[0].score).toBeCloseTo(2 / 3, 12);
    // The fake embeds a text as its letter counts: the score is their mean cosine, computed here the same way.
    const cos = (a: number[], b: number[]) =>
      a.reduce((s, x, i) => s + x * b[i], 0) /
      Math.sqrt(a.reduce((s, x) => s + x * x, 0) * b.reduce((s, x) => s + x * x, 0));
    const q = fake.embed('What is the capital of France?');
    const expected =
      (cos(q, fake.embed('What is the capital of France?')) +
        cos(q, fake.embed('Which city is the French capital?'))) /
      2;
    expect(r.relevancy[0].score).toBeCloseTo(expected, 12);
    expect(r.cosine[0].passed).toBe(false);
    const embeddings = fake.calls.filter((c) => c.path.endsWith('/embeddings'));
    const shapes = embeddings
      .map(
        (c) =>
          `${c.body.input?.length} ${(c.body as { encoding_format?: string }).encoding_format}`,
      )
      .sort();
    expect(shapes).toEqual(['2 float', '3 float']);
  });
});

describe('provider calls', () => {
  it('keeps at most EVALGRAPH_JUDGE_CONCURRENCY calls in flight', async () => {
    const limited = await createTestApp({
      ...judgeEnv(fake),
      EVALGRAPH_JUDGE_CONCURRENCY: '2',
      EVALGRAPH_EVAL_CONCURRENCY: '8',
    });
    try {
      fake.delayMs = 100;
      fake.on('Rate this', json({ score: 1 }));
      const done = await waitFor(
        limited,
        await createEvaluation(
          limited,
          [
            {
              type: 'score_model',
              name: 'q',
              input: [{ role: 'user', content: `Rate this: ${out}` }],
            },
          ],
          Array.from({ length: 8 }, (_, i) => ({ input: i, output: 'x' })),
        ),
      );
      expect(done.resultCounts.passed).toBe(8);
      expect(fake.maxOpen()).toBe(2);
    } finally {
      await limited.close();
    }
  });

  const criteria = [
    { type: 'score_model', name: 'q', input: [{ role: 'user', content: `Rate this: ${out}` }] },
  ];

  it('retries a 429 after its Retry-After, and 500s with backoff', async () => {
    fake.on('Rate this', json({ score: 1 }));
    fake.failNext(1, { status: 429, headers: { 'retry-after': '1' } });
    const id = await createEvaluation(app, criteria, [{ input: 'a', output: 'x' }]);
    const done = await waitFor(app, id);
    expect(done.resultCounts.passed).toBe(1);
    expect(fake.calls).toHaveLength(2);
    expect(fake.calls[1].at - fake.calls[0].at).toBeGreaterThanOrEqual(950);

    fake.calls.length = 0;
    fake.failNext(2, { status: 500 });
    const again = await waitFor(
      app,
      await createEvaluation(app, criteria, [{ input: 'a', output: 'x' }]),
    );
    expect([again.resultCounts.passed, fake.calls.length]).toEqual([1, 3]);
  });

  it('opens the circuit after repeated failures, shows it in /health/ready, retries the items later, and closes again', async () => {
    fake.failNext(9, { status: 503 });
    const failing = await createEvaluation(
      app,
      criteria,
      [1, 2, 3].map((i) => ({ input: `i${i}`, output: 'x' })),
    );
    // Three items × three tries each: then the circuit opens.
    for (let i = 0; i < 200 && fake.calls.length < 9; i++)
      await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 100));
    const ready = await (await fetch(`${app.url}/health/ready`)).json();
    expect(ready.checks.judge).toMatchObject({ ok: true, configured: true, circuit: 'open' });
    expect(await (await fetch(`${app.url}/metrics`)).text()).toMatch(
      /^evalgraph_judge_circuit_state\{provider="default"\} 2$/m,
    );

    // While open, calls fail at once without reaching the provider; the item waits to be tried again.
    const before = fake.calls.length;
    const blocked = await createEvaluation(app, criteria, [{ input: 'a', output: 'x' }]);
    const lastError = async () =>
      (
        await app.gql(
          `query($id: ID!) { evaluation(id: $id) { items(first: 1) { edges { node { state lastError } } } } }`,
          { id: blocked },
        )
      ).body.data.evaluation.items.edges[0].node;
    for (let i = 0; i < 100 && !(await lastError()).lastError; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(await lastError()).toEqual({
      state: 'PENDING',
      lastError: expect.stringMatching(/will try again: .*circuit is open/),
    });
    expect(fake.calls.length).toBe(before);

    // The provider recovers: after the circuit's pause and the items' back-off, everything passes.
    fake.on('Rate this', json({ score: 1 }));
    const [a, b] = await Promise.all([waitFor(app, failing), waitFor(app, blocked)]);
    expect([a.resultCounts, b.resultCounts]).toEqual([
      { total: 3, completed: 3, passed: 3, failed: 0, errored: 0 },
      { total: 1, completed: 1, passed: 1, failed: 0, errored: 0 },
    ]);
    expect((await (await fetch(`${app.url}/health/ready`)).json()).checks.judge.circuit).toBe(
      'closed',
    );
    expect(await (await fetch(`${app.url}/metrics`)).text()).toMatch(
      /^evalgraph_judge_circuit_state\{provider="default"\} 0$/m,
    );
  });
});
