'use strict';
// Evaluation throughput: a 2,000-item evaluation with two LLM-judge graders (score_model and
// label_model) against a fake provider answering in 50 ms, graded by our worker at the configured
// concurrency, as items/s and as a ratio to the ideal (concurrency / 50 ms: each item's graders
// run side by side). The `generating` case first generates each item's output with the same
// provider (the `completions` data source), so an item takes two rounds of calls and its ideal is
// concurrency / 100 ms. A baseline in the same run drives the same fake straight from this process
// with the same concurrency and the same calls per item (no database): what the machine allows.
const { envCount, median } = require('./lib/settings');
const crypto = require('node:crypto');
const pg = require('pg');
const { startFakeJudge } = require('./baselines/fake-judge');
const { startOurs, describeExit, sleep } = require('./lib/servers');
const { gql, withDatabase } = require('./lib/graphql');

// How often the benchmark asks for the evaluation's status, as a client showing progress would.
const POLL_MS = 250;

function settings() {
  return {
    items: envCount('BENCH_EVAL_ITEMS', 2000),
    concurrency: envCount('BENCH_EVAL_CONCURRENCY', 16),
    delayMs: envCount('BENCH_EVAL_DELAY_MS', 50),
    runs: envCount('BENCH_RUNS', 3),
    cases: (process.env.BENCH_EVAL_CASES || 'judged,generating').split(',').map((c) => {
      if (!CASES[c.trim()])
        throw new Error(`BENCH_EVAL_CASES: unknown case "${c}" (${Object.keys(CASES).join(', ')})`);
      return c.trim();
    }),
    pgUrl: process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  };
}

const CRITERIA = [
  {
    type: 'score_model',
    name: 'quality',
    model: 'gpt-4o-mini',
    input: [
      {
        role: 'user',
        content: 'Question: {{item.input}}\nAnswer: {{sample.output_text}}\nRate the answer.',
      },
    ],
    pass_threshold: 0.5,
  },
  {
    type: 'label_model',
    name: 'tone',
    model: 'gpt-4o-mini',
    input: [{ role: 'user', content: 'Tone of: {{sample.output_text}}' }],
    labels: ['polite', 'rude'],
    passing_labels: ['polite'],
  },
];

// The `completions` data source of the generating case: one call per item before the judges.
const COMPLETIONS = {
  model: 'gpt-4o-mini',
  inputMessages: [{ role: 'user', content: 'Answer the question: {{item.input}}' }],
  samplingParams: { temperature: 0, maxTokens: 64 },
};

/** What each case adds to the data source, and how many rounds of calls an item waits for. */
const CASES = {
  judged: { label: '2 LLM-judge graders', dataSource: {}, rounds: 1 },
  generating: {
    label: 'generation + 2 LLM-judge graders',
    dataSource: { completions: COMPLETIONS },
    rounds: 2,
  },
};

/**
 * Ours: create the evaluation and wait for COMPLETED. Timed by the evaluation's own createdAt and
 * finishedAt (stored by the server), so that how often this client polls changes neither the
 * figure nor, much, the load.
 */
async function runOurs(url, key, projectId, opts, benchCase) {
  const items = Array.from({ length: opts.items }, (_, i) => ({
    input: `question ${i}`,
    output: `answer ${i}`,
    expectedOutput: `answer ${i}`,
  }));
  const dataSource = { items, ...CASES[benchCase].dataSource };
  const created = await gql(
    url,
    key,
    'mutation($input: CreateEvaluationInput!) { createEvaluation(input: $input) { evaluation { id } } }',
    {
      input: { projectId, name: 'bench', testingCriteria: CRITERIA, dataSource },
    },
  );
  const id = created.createEvaluation.evaluation.id;
  for (;;) {
    await sleep(POLL_MS);
    const { evaluation } = await gql(
      url,
      key,
      'query($id: ID!) { evaluation(id: $id) { status createdAt startedAt finishedAt resultCounts { completed passed errored } } }',
      { id },
    );
    if (evaluation.status === 'COMPLETED') {
      const seconds = (Date.parse(evaluation.finishedAt) - Date.parse(evaluation.createdAt)) / 1000;
      if (
        evaluation.resultCounts.completed !== opts.items ||
        evaluation.resultCounts.passed !== opts.items
      )
        throw new Error(`unexpected counts: ${JSON.stringify(evaluation.resultCounts)}`);
      return {
        rate: opts.items / seconds,
        startMs: Date.parse(evaluation.startedAt) - Date.parse(evaluation.createdAt),
      };
    }
    if (evaluation.status !== 'RUNNING' && evaluation.status !== 'QUEUED')
      throw new Error(`evaluation ${evaluation.status}`);
  }
}

/**
 * Baseline: the same calls from this process, `concurrency` items at a time: the generation first
 * (generating case), then the two judge calls side by side.
 */
async function runBaseline(judgeUrl, opts, benchCase) {
  let next = 0;
  const call = (content) =>
    fetch(`${judgeUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
    }).then((r) => r.json());
  const started = performance.now();
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (next < opts.items) {
        const i = next++;
        if (benchCase === 'generating') await call(`Answer the question: question ${i}`);
        await Promise.all([call(`Rate answer ${i}`), call(`Tone of answer ${i}; "label"`)]);
      }
    }),
  );
  return opts.items / ((performance.now() - started) / 1000);
}

/** One case: a warm-up, then rounds of ours and the baseline; prints its table. */
async function measure(url, key, projectId, judge, opts, benchCase) {
  const { label, rounds } = CASES[benchCase];
  // Each item waits for `rounds` provider calls one after the other.
  const ideal = opts.concurrency / ((rounds * opts.delayMs) / 1000);
  process.stderr.write(`case ${benchCase}: ${label}\n`);
  // Warm-up, not counted: a tenth of the items through both, as the other benchmarks warm up.
  const warm = { ...opts, items: Math.max(1, Math.round(opts.items / 10)) };
  await runOurs(url, key, projectId, warm, benchCase);
  await runBaseline(judge.url, warm, benchCase);
  const ours = [];
  const base = [];
  for (let round = 1; round <= opts.runs; round++) {
    const { rate: o, startMs } = await runOurs(url, key, projectId, opts, benchCase);
    const b = await runBaseline(judge.url, opts, benchCase);
    ours.push(o);
    base.push(b);
    process.stderr.write(
      `round ${round}  ours ${o.toFixed(1)} items/s (created → started ${startMs} ms)  baseline ${b.toFixed(1)} items/s\n`,
    );
  }
  const o = median(ours);
  const b = median(base);
  console.log(
    `\nevaluations (${benchCase}): ${opts.items} items × ${label}, fake provider ${opts.delayMs} ms, concurrency ${opts.concurrency} (Postgres)`,
  );
  console.log(
    `${opts.runs} runs, medians; ideal = concurrency / (${rounds} × latency) = ${ideal.toFixed(1)} items/s\n`,
  );
  console.log('target      items/s   / ideal');
  console.log(`ours       ${o.toFixed(1).padStart(8)}   ${(o / ideal).toFixed(2)}x`);
  console.log(
    `baseline   ${b.toFixed(1).padStart(8)}   ${(b / ideal).toFixed(2)}x   (the fake driven straight from the benchmark process)`,
  );
  console.log(
    `ours / baseline ${(o / b).toFixed(2)}x; per run: ${ours.map((x, i) => (x / base[i]).toFixed(2)).join(' ')}`,
  );
  console.log(
    `\ngoal ours / ideal ≥ 0.90x: ${o / ideal >= 0.9 ? 'met' : 'NOT met'} (${(o / ideal).toFixed(2)}x)`,
  );
}

module.exports = async function evaluations() {
  const opts = settings();
  const judge = await startFakeJudge({ delayMs: opts.delayMs });
  const dbName = `evalgraph_bench_eval_${crypto.randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: opts.pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  let server = null;
  try {
    const key = `evg_bench_${crypto.randomBytes(24).toString('base64url')}`;
    process.stderr.write(
      `database ${dbName}; starting ours (concurrency ${opts.concurrency}, fake judge ${opts.delayMs} ms)…\n`,
    );
    let url;
    ({ server, url } = await startOurs({
      databaseUrl: withDatabase(opts.pgUrl, dbName),
      key,
      env: {
        EVALGRAPH_JUDGE_BASE_URL: judge.url,
        EVALGRAPH_JUDGE_API_KEY: 'sk-bench',
        EVALGRAPH_EVAL_CONCURRENCY: String(opts.concurrency),
        // Both graders of every item in flight at once (an item generates before it is graded).
        EVALGRAPH_JUDGE_CONCURRENCY: String(opts.concurrency * 2),
      },
    }));
    const projectId = (await gql(url, key, '{ projects { edges { node { id } } } }')).projects
      .edges[0].node.id;
    // The admin is ENTERPRISE (no daily quotas), so runs are not cut short.
    for (const benchCase of opts.cases) await measure(url, key, projectId, judge, opts, benchCase);
    return 0;
  } catch (error) {
    if (server?.exited)
      process.stderr.write(
        `ours exited: ${describeExit(server.exited)}\n${server.tail.join('\n')}\n`,
      );
    throw error;
  } finally {
    if (server) await server.stop();
    await judge.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
};
