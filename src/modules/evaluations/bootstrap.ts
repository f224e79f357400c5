// The uncertainty of a mean paired difference: a percentile bootstrap interval, seeded so the same
// question gets the same answer. Resampling runs in this process over the differences alone (one
// float per pair), yielding to the event loop between chunks so a large one does not hold it.

/**
 * mulberry32 (Tommy Ettinger's 32-bit generator): a uniform float in [0, 1) per call. The state
 * is kept a 32-bit integer (`| 0`): the common one-liner lets it grow as a double, which loses
 * precision after a few million draws.
 */
export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Linear interpolation between order statistics (NumPy's and R's default, type 7). */
function quantile(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Draws between two yields to the event loop. */
const CHUNK = 1 << 20;

export interface BootstrapOptions {
  seed: number;
  resamples: number;
  level: number;
}

/**
 * For each list of differences, the central `level` interval of its mean: `resamples` times,
 * draw as many differences with replacement (index ⌊u·n⌋, u from one mulberry32 stream seeded
 * with `seed`) and take their mean (summed in draw order); then the quantiles (1 − level)/2 and
 * (1 + level)/2 of those means. Null for an empty list. Each list's interval is what it would get
 * alone; lists of the same length draw the same indices, so they share one stream (paired across
 * graders, and the generator runs once for all of them).
 */
export async function bootstrapIntervals(
  lists: readonly (readonly number[])[],
  options: BootstrapOptions,
): Promise<({ lower: number; upper: number } | null)[]> {
  const byLength = new Map<number, number[]>();
  lists.forEach((list, i) => {
    if (list.length) byLength.set(list.length, [...(byLength.get(list.length) ?? []), i]);
  });
  const out: ({ lower: number; upper: number } | null)[] = lists.map(() => null);
  const tail = (1 - options.level) / 2;
  for (const [n, members] of byLength) {
    const random = mulberry32(options.seed);
    const values = members.map((i) => Float64Array.from(lists[i]));
    const means = members.map(() => new Float64Array(options.resamples));
    const drawn = new Int32Array(n);
    let sinceYield = 0;
    for (let b = 0; b < options.resamples; b++) {
      for (let i = 0; i < n; i++) drawn[i] = Math.floor(random() * n);
      for (let m = 0; m < members.length; m++) {
        const v = values[m];
        let sum = 0;
        for (let i = 0; i < n; i++) sum += v[drawn[i]];
        means[m][b] = sum / n;
      }
      sinceYield += n * (members.length + 1);
      if (sinceYield >= CHUNK) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    members.forEach((i, m) => {
      const sorted = means[m].sort();
      out[i] = { lower: quantile(sorted, tail), upper: quantile(sorted, 1 - tail) };
    });
  }
  return out;
}
