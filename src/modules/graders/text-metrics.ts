// Text similarity metrics for the text_similarity grader. Pure. BLEU follows NLTK's sentence_bleu
// (Papineni et al. 2002: clipped n-gram precision up to 4-grams, uniform weights, brevity penalty
// against the closest reference length, no smoothing); ROUGE follows Google's rouge-score (Lin
// 2004: lowercase alphanumeric tokens, F-measure of n-gram overlap or of the longest common
// subsequence). Our own logic: these are the grader, and no maintained JS package implements both
// to those references.
import { distance } from 'fastest-levenshtein';

/** BLEU's tokens: whitespace-separated, case kept (as in NLTK's examples). */
export const bleuTokens = (text: string) => text.split(/\s+/).filter(Boolean);

/** rouge-score's tokens: lowercased, runs of [a-z0-9]. */
export const rougeTokens = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, ' ').split(' ').filter(Boolean);

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const gram = tokens.slice(i, i + n).join('\u0000');
    counts.set(gram, (counts.get(gram) ?? 0) + 1);
  }
  return counts;
}

/** Sentence BLEU of `hypothesis` against one or more references, in [0, 1]. */
export function bleu(references: readonly string[], hypothesis: string, maxN = 4): number {
  const hyp = bleuTokens(hypothesis);
  const refs = references.map(bleuTokens);
  if (hyp.length === 0 || refs.length === 0) return 0;
  let logSum = 0;
  for (let n = 1; n <= maxN; n++) {
    const hypCounts = ngramCounts(hyp, n);
    // Each n-gram counts at most as often as it appears in any one reference (clipping).
    const maxRef = new Map<string, number>();
    for (const ref of refs) for (const [gram, c] of ngramCounts(ref, n)) maxRef.set(gram, Math.max(maxRef.get(gram) ?? 0, c));
    let matches = 0;
    let total = 0;
    for (const [gram, c] of hypCounts) {
      matches += Math.min(c, maxRef.get(gram) ?? 0);
      total += c;
    }
    // Without smoothing, a zero precision makes the geometric mean zero.
    if (matches === 0) return 0;
    logSum += Math.log(matches / Math.max(1, total)) / maxN;
  }
  const c = hyp.length;
  // Closest reference length; on a tie, the shorter one.
  const r = refs.map((ref) => ref.length).reduce((best, len) => (Math.abs(len - c) < Math.abs(best - c) || (Math.abs(len - c) === Math.abs(best - c) && len < best) ? len : best));
  const brevity = c > r ? 1 : Math.exp(1 - r / c);
  return brevity * Math.exp(logSum);
}

export interface Prf {
  precision: number;
  recall: number;
  fmeasure: number;
}

const prf = (overlap: number, predicted: number, target: number): Prf => {
  const precision = predicted ? overlap / predicted : 0;
  const recall = target ? overlap / target : 0;
  return { precision, recall, fmeasure: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
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
    for (let j = 1; j <= b.length; j++) row[j] = a[i - 1] === b[j - 1] ? previous[j - 1] + 1 : Math.max(previous[j], row[j - 1]);
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
  if (a.length !== b.length || a.length === 0) throw new Error(`vectors of different or zero length (${a.length}, ${b.length})`);
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
