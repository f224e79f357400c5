import { parseTestingCriteria } from '../graders/definitions';
import { JudgeUnavailableError, type ChatRequest } from '../providers/judge';
import { gradeItem, type GradingDeps, type Pricer } from './grading';

const NOW = new Date('2026-03-01T12:00:00Z');
const item = {
  input: 'What is 2 + 2?',
  expectedOutput: '4',
  output: '4',
  contexts: [],
  metadata: null,
};
const graders = parseTestingCriteria([
  {
    type: 'score_model',
    name: 'quality',
    model: 'judge-model',
    input: [{ role: 'user', content: 'Rate: {{sample.output_text}}' }],
  },
  {
    type: 'string_check',
    name: 'exact',
    input: '{{sample.output_text}}',
    reference: '{{item.expected_output}}',
    operation: 'eq',
  },
]).graders;

/** A judge in process: answers every chat with `text`, 100 tokens in and 20 out. */
function fakeJudge(answer: (request: ChatRequest) => string | Error) {
  return {
    async chat(request: ChatRequest) {
      const text = answer(request);
      if (text instanceof Error) throw text;
      return {
        model: request.model ?? 'judge-model',
        provider: 'fake',
        choices: [{ text, logprobs: null }],
        usage: { inputTokens: 100, outputTokens: 20 },
      };
    },
    async embed(): Promise<never> {
      throw new Error('no embeddings here');
    },
  };
}

/** $1 per 1,000 input tokens and $2 per 1,000 output tokens for `judge-model`; unknown otherwise. Remembers when it was asked for. */
function fakePricer(asked: Date[]): Pricer {
  return (model, usage, at) => {
    asked.push(at);
    if (model !== 'judge-model') return null;
    const input = usage.inputTokens / 1000;
    const output = (2 * usage.outputTokens) / 1000;
    return {
      inputCost: String(input),
      outputCost: String(output),
      cachedInputCost: '0',
      totalCost: String(input + output),
    };
  };
}

const deps = (judge: GradingDeps['judge'], asked: Date[] = []): GradingDeps => ({
  judge,
  pricer: fakePricer(asked),
  clock: { now: () => NOW },
});

it('grades an item with every grader, pricing each judge call at the time of the clock', async () => {
  const asked: Date[] = [];
  const outcome = await gradeItem(
    deps(
      fakeJudge(() => '{"score": 0.8, "reasoning": "right"}'),
      asked,
    ),
    graders,
    item,
    new AbortController().signal,
  );
  expect(outcome).toMatchObject({
    state: 'DONE',
    passed: true,
    lastError: null,
    judgeInputTokens: 100,
    judgeOutputTokens: 20,
    judgeCost: '0.14',
  });
  expect(outcome.results.map(({ latency_ms: _latency, ...row }) => row)).toEqual([
    {
      grader_name: 'quality',
      grader_type: 'SCORE_MODEL',
      score: 0.8,
      passed: true,
      reasoning: 'right',
      input_tokens: 100,
      output_tokens: 20,
      cost: '0.14',
      error: null,
      provider: 'fake',
    },
    {
      grader_name: 'exact',
      grader_type: 'STRING_CHECK',
      score: 1,
      passed: true,
      reasoning: null,
      input_tokens: 0,
      output_tokens: 0,
      cost: '0',
      error: null,
      provider: null,
    },
  ]);
  expect(asked).toEqual([NOW]);
});

it('errors the item when a judge answer cannot be read, keeping the other graders’ results', async () => {
  const outcome = await gradeItem(
    deps(fakeJudge(() => 'no JSON here')),
    graders,
    item,
    new AbortController().signal,
  );
  expect(outcome).toMatchObject({
    state: 'ERRORED',
    passed: false,
    judgeInputTokens: 100,
    judgeCost: '0.14',
  });
  expect(outcome.lastError).toMatch(/^quality: the judge did not answer with a JSON object/);
  expect(outcome.results.map((r) => [r.grader_name, r.passed])).toEqual([
    ['quality', null],
    ['exact', true],
  ]);
});

it('counts the tokens of a model without a price, at no cost', async () => {
  const unpriced = parseTestingCriteria([
    {
      type: 'score_model',
      name: 'quality',
      model: 'unknown-model',
      input: [{ role: 'user', content: 'Rate: {{sample.output_text}}' }],
    },
  ]).graders;
  const outcome = await gradeItem(
    deps(fakeJudge(() => '{"score": 0.2}')),
    unpriced,
    item,
    new AbortController().signal,
  );
  expect(outcome).toMatchObject({
    state: 'DONE',
    passed: false,
    judgeInputTokens: 100,
    judgeOutputTokens: 20,
    judgeCost: '0',
  });
});

it('rejects the whole item when the judge is unavailable, to be tried again', async () => {
  const down = fakeJudge(() => new JudgeUnavailableError('circuit open'));
  await expect(gradeItem(deps(down), graders, item, new AbortController().signal)).rejects.toThrow(
    'circuit open',
  );
});
