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

/**
 * The central `level` interval of the mean of `differences`: `resamples` times, draw as many
 * differences with replacement (index ⌊u·n⌋ from one mulberry32 stream seeded with `seed`) and
 * take their mean (summed in draw order); then the quantiles (1 − level)/2 and (1 + level)/2 of
 * those means. Null without differences.
 */
export async function bootstrapInterval(
  differences: readonly number[],
  options: { seed: number; resamples: number; level: number },
): Promise<{ lower: number; upper: number } | null> {
  const n = differences.length;
  if (n === 0) return null;
  const random = mulberry32(options.seed);
  const means = new Float64Array(options.resamples);
  let drawn = 0;
  for (let b = 0; b < options.resamples; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += differences[Math.floor(random() * n)];
    means[b] = sum / n;
    drawn += n;
    if (drawn >= CHUNK) {
      drawn = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  means.sort();
  const tail = (1 - options.level) / 2;
  return { lower: quantile(means, tail), upper: quantile(means, 1 - tail) };
}
