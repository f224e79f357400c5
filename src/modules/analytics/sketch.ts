// The latency sketch of rollups, in the manner of DDSketch (Masson, Rim, Lee, VLDB 2019): a value
// x ≥ 1 goes to bucket ceil(log_γ x) with γ = (1 + α) / (1 − α), and a bucket answers with
// 2γ^i / (γ + 1), which is within α of every value in it. Buckets are fixed, so two sketches merge
// by adding their counts per key, in SQL as anywhere else. Latencies are whole milliseconds: 0 (and
// a negative latency, an end before the start) has its own key.

/** Relative error of a quantile: under 1 % with room for floating point at bucket edges. */
export const SKETCH_ALPHA = 0.009;
const GAMMA = (1 + SKETCH_ALPHA) / (1 - SKETCH_ALPHA);
const LN_GAMMA = Math.log(GAMMA);

/** The key of a latency (ms) in SQL: null for null, 0 for x ≤ 0, else ceil(log_γ x) + 1. */
export function sketchKeySql(x: string): string {
  return `(CASE WHEN ${x} IS NULL THEN NULL WHEN ${x} <= 0 THEN 0 ELSE ceil(ln(${x}::float8) / ${LN_GAMMA})::int + 1 END)`;
}

/** The value a key stands for. */
export function keyValue(key: number): number {
  if (key <= 0) return 0;
  return (2 * GAMMA ** (key - 1)) / (GAMMA + 1);
}

// Score values are any finite number: negative, fractional, 0. Their keys are signed: x > TINY goes
// to ceil(log_γ x) + KEY_SHIFT (≥ 1 from TINY up, about 40,600 at the largest double), x < −TINY
// to the mirror of |x|, and |x| ≤ TINY to 0, which stands for 0 (an absolute error ≤ TINY, the
// only one not relative). Keys ascend as values do, so a sketch's order is its keys' order.

/** Values at most this far from 0 share the zero key. */
export const SIGNED_TINY = 1e-9;
// So that the key of the smallest value above TINY is 1 (positive: no `- -n`, a comment in SQL).
const KEY_SHIFT = 1 - Math.ceil(Math.log(SIGNED_TINY) / LN_GAMMA);
// ln of 2 / (γ + 1): a key's value is computed in logs, so the largest keys do not overflow.
const LN_MID = Math.log(2 / (GAMMA + 1));

/** The signed key of a value in SQL: null for null (see above). */
export function signedKeySql(x: string): string {
  return `(CASE WHEN ${x} IS NULL THEN NULL WHEN abs(${x}) <= ${SIGNED_TINY} THEN 0
    ELSE sign(${x})::int * (ceil(ln(abs(${x})::float8) / ${LN_GAMMA})::int + ${KEY_SHIFT}) END)`;
}

/** The value a signed key stands for. */
export function signedKeyValue(key: number): number {
  if (key === 0) return 0;
  const i = Math.abs(key) - KEY_SHIFT;
  let magnitude = Math.exp(i * LN_GAMMA + LN_MID);
  if (!Number.isFinite(magnitude)) {
    // The top key: its bucket ends at the largest double, so the middle of what is left of it.
    const low = Math.exp((i - 1) * LN_GAMMA);
    magnitude = low + (Number.MAX_VALUE - low) / 2;
  }
  return key < 0 ? -magnitude : magnitude;
}

/** A merged sketch: keys ascending, each with its count. */
export interface Sketch {
  keys: number[];
  counts: number[];
}

/** The value of the item of rank r (0-based, in ascending order) of a sketch holding n items. */
function valueAt(sketch: Sketch, rank: number, value: (key: number) => number): number {
  let seen = 0;
  for (let i = 0; i < sketch.keys.length; i++) {
    seen += sketch.counts[i];
    if (seen > rank) return value(sketch.keys[i]);
  }
  return value(sketch.keys[sketch.keys.length - 1]);
}

/**
 * The q-quantile (0..1), interpolated between the items of ranks ⌊q·(n − 1)⌋ and ⌈q·(n − 1)⌉ as
 * Postgres' percentile_cont is: each is within α of its item, so the result is within α of
 * percentile_cont's (of signed values: within α·((1 − f)·|low| + f·|high|), f the fraction
 * between them, which is α of the result unless the two differ in sign). Null for an empty sketch.
 * `value` reads the keys: keyValue (latencies) or signedKeyValue (scores).
 */
export function quantile(
  sketch: Sketch,
  q: number,
  value: (key: number) => number = keyValue,
): number | null {
  let n = 0;
  for (const c of sketch.counts) n += c;
  if (n <= 0) return null;
  const rank = q * (n - 1);
  const lo = Math.floor(rank);
  const low = valueAt(sketch, lo, value);
  if (rank === lo) return low;
  return low + (rank - lo) * (valueAt(sketch, lo + 1, value) - low);
}

/** Sketches merged: counts added per key, keys ascending (keys whose counts sum to 0 left out). */
export function mergeSketches(sketches: readonly Sketch[]): Sketch {
  const counts = new Map<number, number>();
  for (const s of sketches)
    for (let i = 0; i < s.keys.length; i++)
      counts.set(s.keys[i], (counts.get(s.keys[i]) ?? 0) + s.counts[i]);
  const keys = [...counts.keys()].filter((k) => counts.get(k) !== 0).sort((a, b) => a - b);
  return { keys, counts: keys.map((k) => counts.get(k)!) };
}
