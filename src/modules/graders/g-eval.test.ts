import { normalise, sampledScore, weightedScore } from './g-eval';
import { averagePrecision } from './rag';

describe('G-Eval scoring', () => {
  it('weights the score tokens by their probabilities, merging " 4" and "4"', () => {
    const lp = (p: number) => Math.log(p);
    const score = weightedScore(
      [
        {
          token: '4',
          logprob: lp(0.5),
          top: [
            { token: '4', logprob: lp(0.5) },
            { token: '3', logprob: lp(0.2) },
            { token: ' 4', logprob: lp(0.1) },
            { token: 'five', logprob: lp(0.1) },
            { token: '9', logprob: lp(0.1) },
          ],
        },
      ],
      [1, 5],
    );
    // (4·0.6 + 3·0.2) / 0.8: "five" and 9 (out of range) are not scores.
    expect(score).toBeCloseTo((4 * 0.6 + 3 * 0.2) / 0.8, 12);
  });

  it('skips leading tokens that are not scores and gives null without any', () => {
    const lp = Math.log(1);
    expect(
      weightedScore(
        [
          { token: 'Score', logprob: lp, top: [] },
          { token: ':', logprob: lp, top: [] },
          { token: '2', logprob: lp, top: [] },
        ],
        [1, 5],
      ),
    ).toBe(2);
    expect(weightedScore([{ token: 'Great', logprob: lp, top: [] }], [1, 5])).toBeNull();
    expect(weightedScore(null, [1, 5])).toBeNull();
  });

  it('reads sampled answers and normalises onto [0, 1]', () => {
    expect(sampledScore('Score: 4 out of 5', [1, 5])).toBe(4);
    expect(sampledScore('7', [1, 5])).toBeNull();
    expect(normalise(4, [1, 5])).toBe(0.75);
  });
});

describe('context precision@K (RAGAS average precision)', () => {
  it('rewards relevant contexts ranked first', () => {
    expect(averagePrecision([1, 1, 0])).toBe(1);
    // RAGAS's example shape: relevant at ranks 1 and 3 → (1/1 + 2/3) / 2.
    expect(averagePrecision([1, 0, 1])).toBeCloseTo((1 + 2 / 3) / 2, 12);
    expect(averagePrecision([0, 0, 1])).toBeCloseTo(1 / 3, 12);
    expect(averagePrecision([0, 0])).toBe(0);
  });
});
