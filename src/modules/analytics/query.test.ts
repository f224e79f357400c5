// sumRows: rows of one group summed as the aggregation would have answered them together.
import { type SpanAggregateRow, sumRows } from './query';

const row = (over: Partial<SpanAggregateRow>): SpanAggregateRow => ({
  time: null,
  keys: { MODEL: 'gpt-4o' },
  spans: 1,
  errors: 0,
  inputTokens: 10n,
  outputTokens: 5n,
  cachedInputTokens: 0n,
  totalTokens: 15n,
  cost: null,
  priced: 0,
  unpriced: 1,
  defaultPriced: 0,
  latency: { keys: [], counts: [] },
  ...over,
});

describe('sumRows', () => {
  it('adds counts, tokens and decimal cost exactly, and merges the sketches', () => {
    const total = sumRows([
      row({
        spans: 2,
        errors: 1,
        cost: '0.1000000000',
        priced: 2,
        unpriced: 0,
        latency: { keys: [3, 9], counts: [1, 1] },
      }),
      row({
        spans: 3,
        inputTokens: 9_007_199_254_740_993n,
        cost: '0.2',
        priced: 3,
        unpriced: 0,
        latency: { keys: [9], counts: [3] },
      }),
      row({}),
    ]);
    expect(total).toMatchObject({
      keys: { MODEL: 'gpt-4o' },
      spans: 6,
      errors: 1,
      inputTokens: 9_007_199_254_741_013n,
      totalTokens: 45n,
      cost: '0.3',
      priced: 5,
      unpriced: 1,
      latency: { keys: [3, 9], counts: [1, 4] },
    });
  });

  it('has no cost when no row was priced', () => {
    expect(sumRows([row({}), row({})]).cost).toBeNull();
  });
});
