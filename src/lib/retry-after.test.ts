import { parseRetryAfter } from './retry-after';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-12-05T12:00:00Z');
  it('reads delay-seconds, whole or fractional, and HTTP dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 1.5 ', now)).toBe(1_500);
    expect(parseRetryAfter('Sat, 05 Dec 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter(['7', '9'], now)).toBe(7_000);
  });
  it('is null when absent or unreadable, and never negative', () => {
    expect([
      parseRetryAfter(undefined, now),
      parseRetryAfter(null, now),
      parseRetryAfter('', now),
      parseRetryAfter('soon', now),
      parseRetryAfter('-3', now),
    ]).toEqual([null, null, null, null, null]);
    expect(parseRetryAfter('Sat, 05 Dec 2026 11:00:00 GMT', now)).toBe(0);
  });
});
