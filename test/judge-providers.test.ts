// Judges with more than one provider (EVALGRAPH_JUDGE_PROVIDERS) through HTTP, against two fake
// OpenAI-compatible servers on loopback: routing by model and by name, a provider's outage going
// to its fallback (results say who judged), per-provider readiness and metrics, generated outputs
// routed by their model, online rules recording who judged, the single-provider variables as the
// provider `default`, and configurations refused at start.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTestApp, globalId, type TestApp } from './support/app';
import { runCli } from './support/databases';
import { CREATE, createEvaluation, waitFor } from './support/evaluations';
import { judgeEnv, startFakeLlm, type FakeLlm } from './support/fake-llm';
import { createRule, ONLINE_POLL_ENV, settled, waitForRule } from './support/online';
import { ingest, span } from './support/spans';

const json = (value: unknown) => ({ text: JSON.stringify(value) });
const out = '{{sample.output_text}}';
const rated = (name: string, extra: Record<string, unknown> = {}) => ({
  type: 'score_model',
  name,
  input: [{ role: 'user', content: `Rate this: ${out}` }],
  range: [0, 1],
  pass_threshold: 0.5,
  ...extra,
});
const exact = {
  type: 'string_check',
  name: 'exact',
  input: out,
  reference: 'good',
  operation: 'eq',
};

const RESULTS = `query($id: ID!) { evaluation(id: $id) {
  results(first: 100) { edges { node { graderName provider score error item { position } } } } } }`;

/** grader name → the providers of its results, in item order. */
async function providersOf(app: TestApp, id: string): Promise<Record<string, (string | null)[]>> {
  const res = await app.gql(RESULTS, { id });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  const byGrader: Record<string, { position: number; provider: string | null }[]> = {};
  for (const { node } of res.body.data.evaluation.results.edges)
    (byGrader[node.graderName] ??= []).push({
      position: node.item.position,
      provider: node.provider,
    });
  return Object.fromEntries(
    Object.entries(byGrader).map(([g, rs]) => [
      g,
      rs.sort((a, b) => a.position - b.position).map((r) => r.provider),
    ]),
  );
}

const ready = async (app: TestApp) => await (await fetch(`${app.url}/health/ready`)).json();

/** The sum of a metric's samples with these labels (a histogram: its counts). */
async function metric(app: TestApp, name: string, labels: Record<string, string>) {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const series = text.includes(`# TYPE ${name} histogram`) ? `${name}_count` : name;
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== series) continue;
    const have = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
}

/** Two providers: alpha serves the gpt-4o models and falls back to beta, which serves any model. */
const providersEnv = (alpha: string, beta: string, tuning: Record<string, unknown> = {}) => ({
  EVALGRAPH_JUDGE_PROVIDERS: JSON.stringify([
    {
      name: 'alpha',
      baseUrl: alpha,
      apiKey: 'sk-alpha',
      models: ['gpt-4o', 'gpt-4o-mini'],
      concurrency: 4,
      fallback: 'beta',
      ...tuning,
    },
    { name: 'beta', baseUrl: beta, models: ['*'], concurrency: 2 },
  ]),
});

describe('two providers', () => {
  let app: TestApp;
  let a: FakeLlm;
  let b: FakeLlm;
  beforeAll(async () => {
    [a, b] = await Promise.all([startFakeLlm(), startFakeLlm()]);
    app = await createTestApp({ ...providersEnv(a.url, b.url), ...ONLINE_POLL_ENV });
  });
  afterEach(() => {
    a.reset();
    b.reset();
  });
  afterAll(async () => {
    await app.close();
    await Promise.all([a.close(), b.close()]);
  });

  it('routes each grader by its model, else by the provider it names, and records who judged', async () => {
    a.on('Rate this:', json({ score: 0.9 }));
    b.on('Rate this:', json({ score: 0.1 }));
    const id = await createEvaluation(
      app,
      [
        rated('fourO', { model: 'gpt-4o' }),
        // No model: EVALGRAPH_JUDGE_MODEL (gpt-4o-mini), which alpha lists.
        rated('defaultModel'),
        rated('llama', { model: 'llama-3.1-8b' }),
        rated('named', { model: 'gpt-4o', provider: 'beta' }),
        exact,
      ],
      [{ input: 'q1', output: 'good' }],
    );
    const done = await waitFor(app, id);
    expect(done.resultCounts).toMatchObject({ completed: 1, errored: 0 });
    expect(await providersOf(app, id)).toEqual({
      fourO: ['alpha'],
      defaultModel: ['alpha'],
      llama: ['beta'],
      named: ['beta'],
      exact: [null],
    });
    expect(a.calls.map((c) => c.body.model).sort()).toEqual(['gpt-4o', 'gpt-4o-mini']);
    // Asked by name, beta gets the model the grader gave.
    expect(b.calls.map((c) => c.body.model).sort()).toEqual(['gpt-4o', 'llama-3.1-8b']);
    // Each provider's own label on the judge metrics.
    expect(
      await metric(app, 'evalgraph_judge_request_seconds', { provider: 'alpha', outcome: 'ok' }),
    ).toBe(2);
    expect(
      await metric(app, 'evalgraph_judge_request_seconds', { provider: 'beta', outcome: 'ok' }),
    ).toBe(2);
    expect(
      await metric(app, 'evalgraph_judge_tokens_total', {
        provider: 'beta',
        model: 'llama-3.1-8b',
        direction: 'input',
      }),
    ).toBe(100);
  });

  it('refuses a grader naming a provider that is not configured, at the path of its field', async () => {
    const res = await app.gql(CREATE, {
      input: {
        projectId: globalId('Project', app.projectId),
        name: 'bad provider',
        testingCriteria: [exact, rated('q', { provider: 'gamma' })],
        dataSource: { items: [{ input: 'q', output: 'good' }] },
      },
    });
    expect(res.body.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'testingCriteria', 1, 'provider'],
    });
    expect(res.body.errors?.[0].message).toMatch(/no judge provider is named "gamma".*alpha, beta/);
    // Online evaluation rules are checked the same way.
    const rule = await app.gql(
      `mutation($input: CreateEvaluationRuleInput!) { createEvaluationRule(input: $input) { evaluationRule { id } } }`,
      {
        input: {
          projectId: globalId('Project', app.projectId),
          name: 'bad',
          testingCriteria: [rated('q', { provider: 'gamma' })],
        },
      },
    );
    expect(rule.body.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      path: ['input', 'testingCriteria', 0, 'provider'],
    });
    expect(a.calls.length + b.calls.length).toBe(0);
  });

  it('generates GENERATED outputs with the provider serving the completions model', async () => {
    b.on('Capital of France?', { text: 'Paris' });
    a.on('Capital of France?', { text: 'Lyon' });
    const create = (model: string) =>
      app.gql(CREATE, {
        input: {
          projectId: globalId('Project', app.projectId),
          name: `generated by ${model}`,
          testingCriteria: [{ ...exact, reference: 'Paris' }],
          dataSource: {
            items: [{ input: { country: 'France' } }],
            completions: {
              model,
              inputMessages: [{ role: 'user', content: 'Capital of {{item.country}}?' }],
            },
          },
        },
      });
    const byBeta = await create('mistral-7b');
    const byAlpha = await create('gpt-4o');
    const [beta, alpha] = await Promise.all(
      [byBeta, byAlpha].map((r) => {
        if (r.body.errors) throw new Error(JSON.stringify(r.body.errors));
        return waitFor(app, r.body.data.createEvaluation.evaluation.id);
      }),
    );
    expect(beta.resultCounts).toMatchObject({ passed: 1, failed: 0 });
    expect(alpha.resultCounts).toMatchObject({ passed: 0, failed: 1 });
    expect(b.calls.map((c) => c.body.model)).toEqual(['mistral-7b']);
    expect(a.calls.map((c) => c.body.model)).toEqual(['gpt-4o']);
  });

  it('records which provider judged each grader of an online rule', async () => {
    const project = await app.seedProject();
    a.on('Rate this:', json({ score: 0.8 }));
    b.on('Rate this:', json({ score: 0.3 }));
    const id = await createRule(app, project, {
      delaySeconds: 0,
      testingCriteria: [
        rated('byModel', { model: 'gpt-4o' }),
        rated('byName', { provider: 'beta' }),
      ],
    });
    await ingest(app, project, [span({ traceId: 'tp', spanId: 'root', output: 'answer' })]);
    await waitForRule(app, id, settled(1));
    const rows = await app.server.deps.db.query<{ judged_by: unknown }>(
      `SELECT judged_by FROM online_evaluation_tasks WHERE project_id = $1::uuid`,
      [project],
    );
    expect(rows.map((r) => r.judged_by)).toEqual([{ byModel: 'alpha', byName: 'beta' }]);
  });

  it('lists each provider and its circuit in readiness', async () => {
    const body = await ready(app);
    expect(body.checks.judge).toMatchObject({
      ok: true,
      configured: true,
      circuit: 'closed',
      providers: {
        alpha: { circuit: 'closed', models: ['gpt-4o', 'gpt-4o-mini'], fallback: 'beta' },
        beta: { circuit: 'closed', models: ['*'], fallback: null },
      },
    });
    // Keys are never shown.
    expect(JSON.stringify(body)).not.toContain('sk-alpha');
  });
});

describe('a provider down', () => {
  it('answering 503: its calls go to its fallback until its circuit opens, then straight there; results say so', async () => {
    const [a, b] = await Promise.all([startFakeLlm(), startFakeLlm()]);
    const app = await createTestApp({
      ...providersEnv(a.url, b.url, { maxRetries: 0, breakerFailures: 2, breakerResetMs: 600_000 }),
      // One item at a time: the breaker counts failures in a row.
      EVALGRAPH_EVAL_CONCURRENCY: '1',
    });
    try {
      a.on(() => true, { status: 503, body: { error: { message: 'down' } } });
      b.on('Rate this:', json({ score: 0.7 }));
      const items = Array.from({ length: 6 }, (_, i) => ({ input: `q${i}`, output: 'good' }));
      const id = await createEvaluation(app, [rated('q', { model: 'gpt-4o' })], items);
      const done = await waitFor(app, id);
      expect(done.resultCounts).toMatchObject({ completed: 6, passed: 6, errored: 0 });
      expect((await providersOf(app, id)).q).toEqual(Array(6).fill('beta'));
      // Alpha failed twice, then refused the rest with its circuit open, without a call.
      expect(a.calls).toHaveLength(2);
      expect(b.calls.map((c) => c.body.model)).toEqual(Array(6).fill('gpt-4o'));
      const body = await ready(app);
      expect(body.checks.judge).toMatchObject({
        circuit: 'closed',
        providers: { alpha: { circuit: 'open' }, beta: { circuit: 'closed' } },
      });
      expect(await metric(app, 'evalgraph_judge_circuit_state', { provider: 'alpha' })).toBe(2);
      expect(await metric(app, 'evalgraph_judge_circuit_state', { provider: 'beta' })).toBe(0);
      expect(
        await metric(app, 'evalgraph_judge_request_seconds', {
          provider: 'alpha',
          outcome: 'circuit_open',
        }),
      ).toBe(4);
      expect(
        await metric(app, 'evalgraph_judge_request_seconds', { provider: 'beta', outcome: 'ok' }),
      ).toBe(6);
    } finally {
      await app.close();
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('its server closed: the items are judged by the fallback', async () => {
    const [a, b] = await Promise.all([startFakeLlm(), startFakeLlm()]);
    await a.close();
    const app = await createTestApp(providersEnv(a.url, b.url, { maxRetries: 1 }));
    try {
      b.on('Rate this:', json({ score: 0.2 }));
      const id = await createEvaluation(
        app,
        [rated('q', { model: 'gpt-4o-mini' })],
        [
          { input: 'q1', output: 'x' },
          { input: 'q2', output: 'y' },
        ],
      );
      const done = await waitFor(app, id);
      expect(done.resultCounts).toMatchObject({ completed: 2, failed: 2, errored: 0 });
      expect((await providersOf(app, id)).q).toEqual(['beta', 'beta']);
      expect(
        await metric(app, 'evalgraph_judge_request_seconds', {
          provider: 'alpha',
          outcome: 'error',
        }),
      ).toBeGreaterThan(0);
    } finally {
      await app.close();
      await b.close();
    }
  });
});

describe('the single-provider variables', () => {
  it('make one provider named default, serving every model', async () => {
    const fake = await startFakeLlm();
    const app = await createTestApp(judgeEnv(fake));
    try {
      fake.on('Rate this:', json({ score: 1 }));
      const id = await createEvaluation(
        app,
        [rated('q', { model: 'any-model' }), rated('named', { provider: 'default' })],
        [{ input: 'q', output: 'good' }],
      );
      await waitFor(app, id);
      expect(await providersOf(app, id)).toEqual({ q: ['default'], named: ['default'] });
      const body = await ready(app);
      expect(body.checks.judge).toMatchObject({
        configured: true,
        circuit: 'closed',
        providers: { default: { circuit: 'closed', models: ['*'], fallback: null } },
      });
      expect(await metric(app, 'evalgraph_judge_circuit_state', { provider: 'default' })).toBe(0);
      const refused = await app.gql(CREATE, {
        input: {
          projectId: globalId('Project', app.projectId),
          name: 'bad',
          testingCriteria: [rated('q', { provider: 'alpha' })],
          dataSource: { items: [{ input: 'q', output: 'good' }] },
        },
      });
      expect(refused.body.errors?.[0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        path: ['input', 'testingCriteria', 0, 'provider'],
      });
    } finally {
      await app.close();
      await fake.close();
    }
  });
});

describe('configurations refused at start', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'evalgraph-providers-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  // Each problem's rules are unit-tested in src/config.test.ts; here, that the server says them.
  it('names each bad field, and exits 2', () => {
    const bad = (providers: unknown[]) =>
      runCli(['migrate'], {
        EVALGRAPH_DATA_DIR: dataDir,
        EVALGRAPH_JUDGE_PROVIDERS: JSON.stringify(providers),
      });
    const fields = bad([
      { name: 'a', baseUrl: 'http://127.0.0.1:1/v1', models: ['*'] },
      { name: 'b', baseUrl: 'ftp://x', apiKey: 'sk-secret', models: [] },
    ]);
    expect(fields.status).toBe(2);
    expect(fields.stderr).toMatch(/EVALGRAPH_JUDGE_PROVIDERS\[1\]\.baseUrl: expected an http/);
    expect(fields.stderr).toMatch(/EVALGRAPH_JUDGE_PROVIDERS\[1\]\.models:/);
    expect(fields.stderr).not.toContain('sk-secret');
    const cycle = bad([
      { name: 'a', baseUrl: 'http://127.0.0.1:1/v1', models: ['*'], fallback: 'b' },
      { name: 'b', baseUrl: 'http://127.0.0.1:2/v1', models: ['*'], fallback: 'a' },
    ]);
    expect(cycle.status).toBe(2);
    expect(cycle.stderr).toMatch(
      /EVALGRAPH_JUDGE_PROVIDERS\[0\]\.fallback: the fallbacks go round in a cycle \(a → b → a\)/,
    );
  });
});
