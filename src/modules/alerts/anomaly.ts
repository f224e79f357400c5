// What an ANOMALY rule compares with: the median of the same window over the previous
// anomalyPeriods periods, and how far from it a value may be (anomalyK MADs). Pure; the median
// and the MAD themselves are computed in SQL (measure-sql.ts).

export interface Baseline {
  median: number;
  /** Median absolute deviation from the median (not scaled to a standard deviation). */
  mad: number;
  lower: number;
  upper: number;
  /** Periods of history it was taken from. */
  periods: number;
}

/**
 * A flat history (MAD 0) makes any change an anomaly: the bounds are then the median ± this much
 * (relative to the median, at least this absolute), only so that float noise in an average is not one.
 */
export const FLAT_EPSILON = 1e-9;

/** The baseline from the history's median and MAD; null unless all `periods` periods had a value. */
export function baselineOf(
  median: number | null,
  mad: number | null,
  found: number,
  k: number,
  periods: number,
): Baseline | null {
  if (median === null || mad === null || found < periods) return null;
  const spread = mad > 0 ? k * mad : FLAT_EPSILON * Math.max(1, Math.abs(median));
  return { median, mad, lower: median - spread, upper: median + spread, periods: found };
}

/** Whether a value leaves the baseline's bounds. */
export const outside = (value: number, b: Baseline) => value < b.lower || value > b.upper;

/** The bound on the value's side: the one it crossed when it fired. */
export const boundNear = (value: number, b: Baseline) => (value < b.median ? b.lower : b.upper);
