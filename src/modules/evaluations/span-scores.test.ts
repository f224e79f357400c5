import { checkScore, MAX_COMMENT } from '../scores/input';
import type { ItemOutcome, ResultRow } from './queue-sql';
import { spanScores } from './span-scores';

const NOW = new Date('2026-03-01T12:00:00Z');
const result = (over: Partial<ResultRow>): ResultRow => ({
  grader_name: 'quality',
  grader_type: 'score_model',
  score: 0.5,
  passed: true,
  reasoning: 'fine',
  input_tokens: 0,
  output_tokens: 0,
  cost: '0',
  calls: 0,
  unpriced_calls: 0,
  latency_ms: 1,
  error: null,
  provider: 'default',
  ...over,
});
const outcome = (results: ResultRow[], source: ItemOutcome['source']): ItemOutcome => ({
  itemId: 'item',
  evaluationId: 'evaluation',
  source,
  results,
  state: 'DONE',
  passed: true,
  lastError: null,
  judgeInputTokens: 0,
  judgeOutputTokens: 0,
  judgeCost: '0',
  judgeCalls: 0,
  judgeUnpricedCalls: 0,
});
const source = { spanId: 'span', traceId: 'trace' };

describe('spanScores', () => {
  it('scores the span of an item taken from one, with each result that has a score', () => {
    const drafts = spanScores(
      outcome(
        [result({}), result({ grader_name: 'broken', score: null, error: 'judge said no' })],
        source,
      ),
      'project',
      NOW,
    );
    expect(drafts).toEqual([
      {
        projectId: 'project',
        input: {
          spanId: 'span',
          name: 'quality',
          value: 0.5,
          comment: 'fine',
          source: 'EVALUATION',
          timestamp: NOW,
        },
        traceId: 'trace',
        evaluationId: 'evaluation',
        evaluationRuleId: null,
        graderName: 'quality',
      },
    ]);
    expect(spanScores(outcome([result({})], null), 'project', NOW)).toEqual([]);
  });

  it('cuts a long reasoning to what a score may hold, so no config-less score is refused', () => {
    const [draft] = spanScores(
      outcome([result({ reasoning: 'x'.repeat(MAX_COMMENT + 5) })], source),
      'project',
      NOW,
    );
    expect(draft.input.comment).toHaveLength(MAX_COMMENT);
    const checked = checkScore(draft.input, 0, undefined, NOW, { internal: true });
    expect(checked.problems).toEqual([]);
    expect(checked.score).toMatchObject({ dataType: 'NUMERIC', value: 0.5 });
  });
});
