import { knownCost } from '../costs/unpriced';
import { parseTestingCriteria } from '../graders/definitions';
import type { JudgeUsage } from '../graders/judges';
import { JudgeUnavailableError, type ChatRequest } from '../providers/judge';
import { gradeItem, priceUsage, type GradingDeps, type Pricer } from './grading';

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

/** A judge in process: answers every chat with `text`, 100 tokens in and 20 out (or, `usage` null, no usage reported). */
function fakeJudge(
  answer: (request: ChatRequest) => string | Error,
  usage: { inputTokens: number; outputTokens: number } | null = {
    inputTokens: 100,
    outputTokens: 20,
  },
) {
  return {
    async chat(request: ChatRequest) {
      const text = answer(request);
      if (text instanceof Error) throw text;
      return {
        model: request.model ?? 'judge-model',
        provider: 'fake',
        choices: [{ text, logprobs: null }],
        usage,
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
    judgeCalls: 1,
    judgeUnpricedCalls: 0,
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
      calls: 1,
      unpriced_calls: 0,
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
      calls: 0,
      unpriced_calls: 0,
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

const unknownModel = parseTestingCriteria([
  {
    type: 'score_model',
    name: 'quality',
    model: 'unknown-model',
    input: [{ role: 'user', content: 'Rate: {{sample.output_text}}' }],
  },
]).graders;

it('counts a call of a model without a price as unpriced, its tokens kept, rather than free', async () => {
  const outcome = await gradeItem(
    deps(fakeJudge(() => '{"score": 0.2}')),
    unknownModel,
    item,
    new AbortController().signal,
  );
  expect(outcome).toMatchObject({
    state: 'DONE',
    passed: false,
    judgeInputTokens: 100,
    judgeOutputTokens: 20,
    judgeCost: '0',
    judgeCalls: 1,
    judgeUnpricedCalls: 1,
  });
  const [row] = outcome.results;
  expect([row.cost, row.calls, row.unpriced_calls]).toEqual(['0', 1, 1]);
  // As read back: unknown, not 0.
  expect(knownCost(outcome.judgeCost, outcome.judgeCalls, outcome.judgeUnpricedCalls)).toBeNull();
});

it('counts a call whose provider reported no usage as unpriced, even for a model with a price', async () => {
  const asked: Date[] = [];
  const outcome = await gradeItem(
    deps(
      fakeJudge(() => '{"score": 0.9}', null),
      asked,
    ),
    graders,
    item,
    new AbortController().signal,
  );
  expect(outcome).toMatchObject({
    state: 'DONE',
    judgeInputTokens: 0,
    judgeOutputTokens: 0,
    judgeCost: '0',
    judgeCalls: 1,
    judgeUnpricedCalls: 1,
  });
  expect(knownCost(outcome.judgeCost, outcome.judgeCalls, outcome.judgeUnpricedCalls)).toBeNull();
  // Its 0 tokens were never priced (which would have said it cost nothing).
  expect(asked).toEqual([]);
});

describe('priceUsage', () => {
  const usage = (model: string, reported = true): JudgeUsage => ({
    model,
    inputTokens: reported ? 1000 : 0,
    outputTokens: reported ? 1000 : 0,
    reported,
  });
  const price = (calls: JudgeUsage[]) => priceUsage(deps(fakeJudge(() => '')), calls);

  it('sums the priced calls and counts the unpriced ones apart', () => {
    const priced = price([
      usage('judge-model'),
      usage('unknown-model'),
      usage('judge-model', false),
    ]);
    expect(priced).toMatchObject({ cost: '3', calls: 3, unpricedCalls: 2 });
    expect(priced.priced.map((u) => u.cost)).toEqual(['3', null, null]);
    expect(knownCost(priced.cost, priced.calls, priced.unpricedCalls)).toBe('3');
  });

  it('knows the cost of no calls (0) and not of calls none of which was priced (null)', () => {
    const none = price([]);
    expect(knownCost(none.cost, none.calls, none.unpricedCalls)).toBe('0');
    const unpriced = price([usage('unknown-model'), usage('judge-model', false)]);
    expect(knownCost(unpriced.cost, unpriced.calls, unpriced.unpricedCalls)).toBeNull();
  });
});

it('rejects the whole item when the judge is unavailable, to be tried again', async () => {
  const down = fakeJudge(() => new JudgeUnavailableError('circuit open'));
  await expect(gradeItem(deps(down), graders, item, new AbortController().signal)).rejects.toThrow(
    'circuit open',
  );
});
