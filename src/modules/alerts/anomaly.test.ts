import { baselineOf, boundNear, outside } from './anomaly';

describe('baselineOf', () => {
  it('spreads k MADs either side of the median', () => {
    const b = baselineOf(10, 2, 7, 3, 7)!;
    expect(b).toEqual({ median: 10, mad: 2, lower: 4, upper: 16, periods: 7 });
    expect(outside(16, b)).toBe(false);
    expect(outside(16.5, b)).toBe(true);
    expect(outside(3.9, b)).toBe(true);
    expect(boundNear(20, b)).toBe(16);
    expect(boundNear(1, b)).toBe(4);
  });

  it('is null with fewer periods of history than asked for, or none', () => {
    expect(baselineOf(10, 2, 6, 3, 7)).toBeNull();
    expect(baselineOf(null, null, 0, 3, 7)).toBeNull();
  });

  it('takes any change from a flat history as an anomaly, beyond float noise', () => {
    const b = baselineOf(5, 0, 3, 3, 3)!;
    expect(outside(5 + 1e-12, b)).toBe(false);
    expect(outside(5.001, b)).toBe(true);
    expect(outside(4.999, b)).toBe(true);
  });
});
