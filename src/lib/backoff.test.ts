import { backoffDelay } from './backoff';

describe('backoffDelay', () => {
  const options = { baseMs: 1_000, capMs: 10_000 };
  const exact = () => 0.5;

  it('doubles from the base after each failure, up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 100].map((n) => backoffDelay(n, options, exact))).toEqual([
      1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000,
    ]);
  });

  it('jitters by ±10 %', () => {
    expect(backoffDelay(2, options, () => 0)).toBe(1_800);
    expect(backoffDelay(2, options, () => 0.999_999)).toBe(2_200);
    expect(backoffDelay(100, options, () => 0)).toBe(9_000);
  });

  it('treats a count below one as the first failure', () => {
    expect(backoffDelay(0, options, exact)).toBe(1_000);
  });
});
