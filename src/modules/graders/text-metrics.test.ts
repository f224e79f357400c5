import {
  bleu,
  bleuFromStats,
  bleuStats,
  bleuTokens,
  cosine,
  fuzzyRatio,
  rougeL,
  rougeN,
  type BleuStats,
} from './text-metrics';

// BLEU follows sacreBLEU's sentence_bleu defaults. Vectors from sacreBLEU's own test suite
// (https://github.com/mjpost/sacrebleu), scores there on 0-100, here on 0-1:
// - test/test_sentence_bleu.py (issue #98): sentence_bleu(SYS, [REF]) with smooth_method 'exp',
//   tokenize '13a', lowercase False, effective_order True = 8.493 (EPSILON 1e-3); and (issue #141)
//   "this is a cat" against "okay thanks" = 0.0 with every smoothing.
// - test/test_bleu.py: test_corpus_bleu, the README example, corpus_bleu(_hyps, _refs) with the
//   defaults (13a, exp) = 48.530827, and 0.0 for empty hypotheses; test_statistics, counts [4, 2, 1,
//   0] and totals [6, 5, 4, 3] for "am I am a character sequence" against "I am a symbol string
//   sequence a a"; test_scoring, compute_bleu([9, 7, 5, 3], [10, 8, 6, 4], 11, 11) = 0.8375922397;
//   test_effective_order, "test" against "a test" = 0.3678794411714425 and "a test" = 1.0.
const REF_98 = 'producţia de zahăr brut se exprimă în zahăr alb;';
const SYS_98 = 'Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;';
const readmeRefs = [
  ['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.'],
  ['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.'],
];
const readmeHyps = [
  'The dog bit the man.',
  "It wasn't surprising.",
  'The man had just bitten him.',
];

/** sacreBLEU's corpus BLEU: the sentences' statistics summed, then scored once. */
function corpusBleu(hyps: readonly string[], refStreams: readonly (readonly string[])[]): number {
  const stats = hyps.map((hyp, i) =>
    bleuStats(
      refStreams.map((stream) => stream[i]),
      hyp,
    ),
  );
  const add = (a: number[], b: number[]) => a.map((x, k) => x + b[k]);
  return bleuFromStats(
    stats.reduce((a: BleuStats, b) => ({
      hypLength: a.hypLength + b.hypLength,
      refLength: a.refLength + b.refLength,
      matches: add(a.matches, b.matches),
      totals: add(a.totals, b.totals),
    })),
  );
}

describe('bleu (sacreBLEU sentence_bleu)', () => {
  it('matches sacreBLEU on its sentence vectors (exp smoothing, 13a tokens, case kept)', () => {
    expect(bleu([REF_98], SYS_98)).toBeCloseTo(0.08493, 5);
    expect(bleu(['okay thanks'], 'this is a cat')).toBe(0);
  });

  it('matches sacreBLEU on its corpus, statistics and scoring vectors', () => {
    expect(corpusBleu(readmeHyps, readmeRefs)).toBeCloseTo(0.48530827, 9);
    expect(corpusBleu(['', '', ''], readmeRefs)).toBe(0);
    expect(
      bleuStats(['I am a symbol string sequence a a'], 'am I am a character sequence'),
    ).toEqual({ hypLength: 6, refLength: 8, matches: [4, 2, 1, 0], totals: [6, 5, 4, 3] });
    expect(
      bleuFromStats({ hypLength: 11, refLength: 11, matches: [9, 7, 5, 3], totals: [10, 8, 6, 4] }),
    ).toBeCloseTo(0.8375922397, 9);
  });

  it('leaves out the orders a short hypothesis cannot have (effective order)', () => {
    expect(bleu(['a test'], 'test')).toBeCloseTo(0.3678794411714425, 12);
    expect(bleu(['a test'], 'a test')).toBe(1);
    expect(bleu(['answer 16'], 'answer 16')).toBe(1);
  });

  it('smooths an order without matches as 1 / (2^k * its n-grams)', () => {
    // The statistics vector above: p4 has no match, the first such order, so p4 = 1 / (2 * 3).
    const p = [4 / 6, 2 / 5, 1 / 4, 1 / (2 * 3)];
    const expected = Math.exp(1 - 8 / 6) * Math.exp(p.reduce((s, x) => s + Math.log(x), 0) / 4);
    expect(bleu(['I am a symbol string sequence a a'], 'am I am a character sequence')).toBeCloseTo(
      expected,
      12,
    );
    // Two orders without matches: 1 / (2 * 2) for bigrams, 1 / (4 * 1) for trigrams.
    expect(bleu(['a test'], 'a little test')).toBeCloseTo(
      Math.cbrt((2 / 3) * (1 / 4) * (1 / 4)),
      12,
    );
  });

  it('tokenizes as mteval-v13a', () => {
    expect(bleuTokens("It wasn't surprising.")).toEqual(['It', "wasn't", 'surprising', '.']);
    // Periods and commas split off unless between digits; a dash after a digit split off.
    expect(bleuTokens('Pi is 3.14, not 3,2. Done,ok .5 5.')).toEqual([
      'Pi',
      'is',
      '3.14',
      ',',
      'not',
      '3,2',
      '.',
      'Done',
      ',',
      'ok',
      '.',
      '5',
      '5',
      '.',
    ]);
    expect(bleuTokens('pages 10-12 and well-known e-mail (see: x/y) $5!')).toEqual([
      'pages',
      '10',
      '-',
      '12',
      'and',
      'well-known',
      'e-mail',
      '(',
      'see',
      ':',
      'x',
      '/',
      'y',
      ')',
      '$',
      '5',
      '!',
    ]);
    // <skipped> dropped, line-end hyphens joined, the four entities decoded (in that order).
    expect(bleuTokens('a<skipped>b hyphen-\nated &quot;q&quot; &amp;lt; &gt;')).toEqual([
      'ab',
      'hyphenated',
      '"',
      'q',
      '"',
      '<',
      '>',
    ]);
    expect(bleuTokens('  \u3000 ')).toEqual([]);
  });

  it('keeps case and scores an exact match 1', () => {
    expect(bleu(['Answer 16'], 'answer 16')).toBeLessThan(1);
    expect(bleu([SYS_98], SYS_98)).toBe(1);
  });
});

// A classic vector: the example of Papineni et al. (2002), "BLEU: a method for automatic
// evaluation of machine translation", as in NLTK's documentation of sentence_bleu
// (https://www.nltk.org/api/nltk.translate.bleu_score.html): 0.5045666840058485, and NLTK's
// test_modified_precision (unigram 17/18, bigram 10/17 for hypothesis1). sacreBLEU agrees here:
// every order has matches (no smoothing) and there is no punctuation to tokenize.
const hypothesis1 =
  'It is a guide to action which ensures that the military always obeys the commands of the party';
const reference1 =
  'It is a guide to action that ensures that the military will forever heed Party commands';
const reference2 =
  'It is the guiding principle which guarantees the military forces always being under the command of the Party';
const reference3 =
  'It is the practical guide for the army always to heed the directions of the party';
const refs = [reference1, reference2, reference3];

describe('bleu (Papineni et al.)', () => {
  it("matches the paper's example with three references", () => {
    expect(bleu(refs, hypothesis1)).toBeCloseTo(0.5045666840058485, 12);
  });

  it('has the modified n-gram precisions of the paper (brevity penalty 1)', () => {
    expect(bleu(refs, hypothesis1, 1)).toBeCloseTo(17 / 18, 12);
    expect(bleu(refs, hypothesis1, 2)).toBeCloseTo(Math.sqrt((17 / 18) * (10 / 17)), 12);
  });

  it('clips repeated words (the paper\'s "the the the …" example: 2/7)', () => {
    expect(
      bleu(
        ['the cat is on the mat', 'there is a cat on the mat'],
        'the the the the the the the',
        1,
      ),
    ).toBeCloseTo(2 / 7, 12);
  });

  it('penalises short hypotheses and scores an empty one 0', () => {
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
    expect(rougeN('testing one two', 'testing', 1)).toEqual({
      precision: 1,
      recall: 1 / 3,
      fmeasure: 0.5,
    });
    const r2 = rougeN('testing one two', 'testing one', 2);
    expect([r2.precision, r2.recall, r2.fmeasure]).toEqual([1, 0.5, expect.closeTo(2 / 3, 12)]);
    const rl = rougeL('testing one two', 'testing two');
    expect([rl.precision, rl.recall, rl.fmeasure]).toEqual([
      1,
      expect.closeTo(2 / 3, 12),
      expect.closeTo(0.8, 12),
    ]);
  });

  it('matches rouge-score on the quick brown fox', () => {
    const target = 'The quick brown fox jumps over the lazy dog';
    const prediction = 'The quick brown dog jumps on the log.';
    const r1 = rougeN(target, prediction, 1);
    expect([r1.precision, r1.recall, r1.fmeasure]).toEqual([
      0.75,
      expect.closeTo(6 / 9, 12),
      expect.closeTo(12 / 17, 12),
    ]);
    const rl = rougeL(target, prediction);
    expect([rl.precision, rl.recall, rl.fmeasure]).toEqual([
      0.625,
      expect.closeTo(5 / 9, 12),
      expect.closeTo(10 / 17, 12),
    ]);
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
