import { keyValue, quantile, SIGNED_TINY, SKETCH_ALPHA, signedKeyValue } from './sketch';

describe('signed keys', () => {
  it('stand for 0, and for values mirrored around it that grow with the key', () => {
    expect(signedKeyValue(0)).toBe(0);
    let last = 0;
    // Up to the key of the largest double (about 40,584).
    for (let k = 1; k <= 40_584; k += 7) {
      const v = signedKeyValue(k);
      expect(v).toBeGreaterThan(last);
      expect(signedKeyValue(-k)).toBe(-v);
      last = v;
    }
    const top = signedKeyValue(40_584);
    expect(top).toBeGreaterThan(last);
    expect(top).toBeLessThanOrEqual(Number.MAX_VALUE);
    expect(Number.MAX_VALUE / top).toBeLessThan(1 + SKETCH_ALPHA);
  });

  it('start just above SIGNED_TINY, one bucket of width γ per key', () => {
    const gamma = (1 + SKETCH_ALPHA) / (1 - SKETCH_ALPHA);
    // Key 1 holds (TINY, γ^i] for the i with γ^(i−1) < TINY ≤ γ^i: its value is within α of both ends.
    const first = signedKeyValue(1);
    expect(first).toBeGreaterThan(SIGNED_TINY * (1 - SKETCH_ALPHA));
    expect(first).toBeLessThan(SIGNED_TINY * gamma * (1 + SKETCH_ALPHA));
    expect(signedKeyValue(101) / signedKeyValue(100)).toBeCloseTo(gamma, 12);
  });

  it('read quantiles in key order, negative keys first, interpolated like percentile_cont', () => {
    const sketch = { keys: [-1500, 0, 1500], counts: [1, 2, 1] };
    expect(quantile(sketch, 0, signedKeyValue)).toBe(signedKeyValue(-1500));
    expect(quantile(sketch, 0.5, signedKeyValue)).toBe(0);
    // Rank 2.7 of 4: 0.7 of the way from 0 to the last.
    expect(quantile(sketch, 0.9, signedKeyValue)).toBeCloseTo(0.7 * signedKeyValue(1500), 12);
    expect(quantile({ keys: [], counts: [] }, 0.5, signedKeyValue)).toBeNull();
  });

  it('leave latency keys as they were', () => {
    expect(quantile({ keys: [0, 1, 2], counts: [1, 1, 1] }, 1)).toBe(keyValue(2));
    expect(keyValue(0)).toBe(0);
  });
});
