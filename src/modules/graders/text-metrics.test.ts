import { bleu, cosine, fuzzyRatio, rougeL, rougeN } from './text-metrics';

// BLEU reference vectors: the example of Papineni et al. (2002), "BLEU: a method for automatic
// evaluation of machine translation", as used in NLTK's documentation of
// nltk.translate.bleu_score.sentence_bleu (https://www.nltk.org/api/nltk.translate.bleu_score.html),
// where sentence_bleu([reference1, reference2, reference3], hypothesis1) = 0.5045666840058485,
// and NLTK's test_modified_precision (unigram 17/18, bigram 10/17 for hypothesis1).
const hypothesis1 = 'It is a guide to action which ensures that the military always obeys the commands of the party';
const reference1 = 'It is a guide to action that ensures that the military will forever heed Party commands';
const reference2 = 'It is the guiding principle which guarantees the military forces always being under the command of the Party';
const reference3 = 'It is the practical guide for the army always to heed the directions of the party';
const refs = [reference1, reference2, reference3];

describe('bleu', () => {
  it('matches NLTK sentence_bleu on the Papineni et al. example', () => {
    expect(bleu(refs, hypothesis1)).toBeCloseTo(0.5045666840058485, 12);
  });

  it('has the modified n-gram precisions of the paper (brevity penalty 1)', () => {
    expect(bleu(refs, hypothesis1, 1)).toBeCloseTo(17 / 18, 12);
    expect(bleu(refs, hypothesis1, 2)).toBeCloseTo(Math.sqrt((17 / 18) * (10 / 17)), 12);
  });

  it('clips repeated words (the paper\'s "the the the …" example: 2/7)', () => {
    expect(bleu(['the cat is on the mat', 'there is a cat on the mat'], 'the the the the the the the', 1)).toBeCloseTo(2 / 7, 12);
  });

  it('is 1 for an exact match, 0 without a matching 4-gram, and penalises short hypotheses', () => {
    expect(bleu([reference1], reference1)).toBeCloseTo(1, 12);
    expect(bleu([reference1], 'It is to insure the troops forever hearing the activity guidebook that party direct')).toBe(0);
    // Six of sixteen words, all matching: BP = exp(1 - 16/6).
    expect(bleu([reference1], 'It is a guide to action')).toBeCloseTo(Math.exp(1 - 16 / 6), 12);
    expect(bleu([reference1], '')).toBe(0);
  });
});

// ROUGE reference vectors: rouge-score (google-research/rouge, rouge_scorer_test.py):
// rouge1("testing one two", "testing") = P 1, R 1/3, F 1/2; rouge2("testing one two", "testing one")
// = P 1, R 1/2, F 2/3; rougeL("testing one two", "testing two") = P 1, R 2/3, F 4/5. And the
// README's example, target "The quick brown fox jumps over the lazy dog", prediction "The quick
// brown dog jumps on the log.": rouge1 P 6/8, R 6/9; rougeL P 5/8, R 5/9.
describe('rouge', () => {
  it('matches rouge-score on its test vectors', () => {
    expect(rougeN('testing one two', 'testing', 1)).toEqual({ precision: 1, recall: 1 / 3, fmeasure: 0.5 });
    const r2 = rougeN('testing one two', 'testing one', 2);
    expect([r2.precision, r2.recall, r2.fmeasure]).toEqual([1, 0.5, expect.closeTo(2 / 3, 12)]);
    const rl = rougeL('testing one two', 'testing two');
    expect([rl.precision, rl.recall, rl.fmeasure]).toEqual([1, expect.closeTo(2 / 3, 12), expect.closeTo(0.8, 12)]);
  });

  it('matches rouge-score on the quick brown fox', () => {
    const target = 'The quick brown fox jumps over the lazy dog';
    const prediction = 'The quick brown dog jumps on the log.';
    const r1 = rougeN(target, prediction, 1);
    expect([r1.precision, r1.recall, r1.fmeasure]).toEqual([0.75, expect.closeTo(6 / 9, 12), expect.closeTo(12 / 17, 12)]);
    const rl = rougeL(target, prediction);
    expect([rl.precision, rl.recall, rl.fmeasure]).toEqual([0.625, expect.closeTo(5 / 9, 12), expect.closeTo(10 / 17, 12)]);
  });

  it('is 0 when nothing overlaps or a side is empty', () => {
    expect(rougeN('alpha beta', 'gamma delta', 1).fmeasure).toBe(0);
    expect(rougeL('', 'anything').fmeasure).toBe(0);
  });
});

describe('fuzzyRatio and cosine', () => {
  it('scores edit distance against the longer text', () => {
    expect(fuzzyRatio('kitten', 'sitting')).toBeCloseTo(1 - 3 / 7, 12);
    expect(fuzzyRatio('', '')).toBe(1);
    expect(fuzzyRatio('abc', '')).toBe(0);
  });

  it('computes cosine similarity and refuses mismatched vectors', () => {
    expect(cosine([1, 0], [0, 1])).toBe(0);
    expect(cosine([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(() => cosine([1], [1, 2])).toThrow(/different/);
  });
});
