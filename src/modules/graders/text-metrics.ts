// Text similarity metrics for the text_similarity grader. Pure. BLEU follows sacreBLEU's
// sentence_bleu with its defaults (Post 2018; Papineni et al. 2002): the mteval-v13a tokenizer
// ("13a"), case kept, clipped n-gram precision up to 4-grams, brevity penalty against the closest
// reference length, "exp" smoothing (the k-th order with no match counts 1 / (2^k * its n-grams))
// and effective order (orders the hypothesis is too short to have are left out), so a short exact
// match scores 1. sacreBLEU reports 0-100; we report the same number on 0-1, like every other
// metric here. ROUGE follows Google's rouge-score (Lin 2004: lowercase alphanumeric tokens,
// F-measure of n-gram overlap or of the longest common subsequence). Our own logic: these are the
// grader, and no maintained JS package implements both to those references.
import { distance } from 'fastest-levenshtein';

// Python's str.isspace() set: sacreBLEU strips and splits with Python's notion of whitespace,
// which differs from JS's \s (it has \x1c-\x1f and \x85, and not \ufeff).
const PY_SPACE =
  '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const pySpaces = new RegExp(`[${PY_SPACE}]+`, 'u');
const pySpace = new RegExp(`^[${PY_SPACE}]$`, 'u');

/** Python's str.rstrip(), by a loop: a `\s+$` regex is quadratic on long inner runs of spaces. */
function rstrip(text: string): string {
  let end = text.length;
  while (end > 0 && pySpace.test(text[end - 1])) end--;
  return text.slice(0, end);
}

// mteval-v13a's punctuation rules, applied in this order: ASCII symbols (not ' , - . or
// alphanumerics) are split off; periods and commas are split off unless between two digits; a
// dash after a digit is split off.
const TOKENIZE_13A: [RegExp, string][] = [
  [/([\x20-\x26\x28-\x2b\x2f\x3a-\x40\x5b-\x60\x7b-\x7e])/gu, ' $1 '],
  [/([^0-9])([.,])/gu, '$1 $2 '],
  [/([.,])([^0-9])/gu, ' $1 $2'],
  [/([0-9])(-)/gu, '$1 $2 '],
];

/** BLEU's tokens: sacreBLEU's "13a" tokenizer (mteval-v13a), case kept. */
export function bleuTokens(text: string): string[] {
  let line = rstrip(text)
    .replaceAll('<skipped>', '')
    .replaceAll('-\n', '') // a word hyphenated across lines is joined
    .replaceAll('\n', ' ')
    .replaceAll('&quot;', '"')
    .replaceAll('&amp;', '&')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>');
  // The padding lets the period and comma rules see a space at either end.
  line = ` ${line} `;
  for (const [pattern, replacement] of TOKENIZE_13A) line = line.replace(pattern, replacement);
  return line.split(pySpaces).filter(Boolean);
}

/** rouge-score's tokens: lowercased, runs of [a-z0-9]. */
export const rougeTokens = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .split(' ')
    .filter(Boolean);

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const gram = tokens.slice(i, i + n).join('\u0000');
    counts.set(gram, (counts.get(gram) ?? 0) + 1);
  }
  return counts;
}

/** BLEU's sufficient statistics: lengths, and clipped matches and totals per n-gram order. */
export interface BleuStats {
  hypLength: number;
  refLength: number;
  matches: number[];
  totals: number[];
}

export function bleuStats(references: readonly string[], hypothesis: string, maxN = 4): BleuStats {
  const hyp = bleuTokens(hypothesis);
  const refs = references.map(bleuTokens);
  const matches: number[] = [];
  const totals: number[] = [];
  for (let n = 1; n <= maxN; n++) {
    // Each n-gram counts at most as often as it appears in any one reference (clipping).
    const maxRef = new Map<string, number>();
    for (const ref of refs)
      for (const [gram, c] of ngramCounts(ref, n))
        maxRef.set(gram, Math.max(maxRef.get(gram) ?? 0, c));
    let matched = 0;
    let total = 0;
    for (const [gram, c] of ngramCounts(hyp, n)) {
      matched += Math.min(c, maxRef.get(gram) ?? 0);
      total += c;
    }
    matches.push(matched);
    totals.push(total);
  }
  const c = hyp.length;
  // Closest reference length; on a tie, the shorter one.
  const refLength = refs
    .map((ref) => ref.length)
    .reduce(
      (best, len) =>
        Math.abs(len - c) < Math.abs(best - c) ||
        (Math.abs(len - c) === Math.abs(best - c) && len < best)
          ? len
          : best,
      Infinity,
    );
  return { hypLength: c, refLength: refs.length ? refLength : 0, matches, totals };
}

/** BLEU in [0, 1] from its statistics, with exp smoothing and effective order. */
export function bleuFromStats({ hypLength, refLength, matches, totals }: BleuStats): number {
  // Nothing matched at all: 0, smoothing or not (as sacreBLEU).
  if (!matches.some((m) => m > 0)) return 0;
  let logSum = 0;
  let order = 0;
  let unmatched = 0;
  for (let n = 0; n < totals.length && totals[n] > 0; n++) {
    order = n + 1;
    if (matches[n] > 0) logSum += Math.log(matches[n] / totals[n]);
    else logSum += Math.log(1 / (2 ** ++unmatched * totals[n]));
  }
  const brevity = hypLength < refLength ? Math.exp(1 - refLength / hypLength) : 1;
  return brevity * Math.exp(logSum / order);
}

/** Sentence BLEU of `hypothesis` against one or more references, in [0, 1]. */
export const bleu = (references: readonly string[], hypothesis: string, maxN = 4) =>
  bleuFromStats(bleuStats(references, hypothesis, maxN));

export interface Prf {
  precision: number;
  recall: number;
  fmeasure: number;
}

const prf = (overlap: number, predicted: number, target: number): Prf => {
  const precision = predicted ? overlap / predicted : 0;
  const recall = target ? overlap / target : 0;
  return {
    precision,
    recall,
    fmeasure: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
  };
};

/** ROUGE-N of `prediction` against `target`. */
export function rougeN(target: string, prediction: string, n: number): Prf {
  const t = ngramCounts(rougeTokens(target), n);
  const p = ngramCounts(rougeTokens(prediction), n);
  let overlap = 0;
  for (const [gram, c] of p) overlap += Math.min(c, t.get(gram) ?? 0);
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  return prf(overlap, sum(p), sum(t));
}

/** ROUGE-L (sentence level): longest common subsequence of the token lists. */
export function rougeL(target: string, prediction: string): Prf {
  const t = rougeTokens(target);
  const p = rougeTokens(prediction);
  return prf(lcsLength(t, p), p.length, t.length);
}

function lcsLength(a: readonly string[], b: readonly string[]): number {
  let previous = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const row = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++)
      row[j] = a[i - 1] === b[j - 1] ? previous[j - 1] + 1 : Math.max(previous[j], row[j - 1]);
    previous = row;
  }
  return previous[b.length];
}

/** 1 − Levenshtein distance / length of the longer text: 1 for equal texts, 0 for nothing in common. */
export function fuzzyRatio(a: string, b: string): number {
  const longest = Math.max(a.length, b.length);
  return longest === 0 ? 1 : 1 - distance(a, b) / longest;
}

/** Cosine similarity of two vectors of the same length. */
export function cosine(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length === 0)
    throw new Error(`vectors of different or zero length (${a.length}, ${b.length})`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}
