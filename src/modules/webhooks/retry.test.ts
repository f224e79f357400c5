import { classify, nextAttemptDelay } from './retry';

const SCHEDULE = [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

describe('webhook retries', () => {
  it('follow the schedule now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then stop', () => {
    const mid = () => 0.5; // no jitter
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => nextAttemptDelay(n, SCHEDULE, null, mid))).toEqual(
      SCHEDULE.slice(1),
    );
    expect(nextAttemptDelay(8, SCHEDULE, null, mid)).toBeNull();
  });

  it('jitter stays within ±10 %', () => {
    expect(nextAttemptDelay(2, SCHEDULE, null, () => 0)).toBe(270_000);
    expect(nextAttemptDelay(2, SCHEDULE, null, () => 1)).toBe(330_000);
  });

  it('honours a longer Retry-After, capped at a day', () => {
    expect(nextAttemptDelay(1, SCHEDULE, 60_000, () => 0.5)).toBe(60_000);
    expect(nextAttemptDelay(2, SCHEDULE, 60_000, () => 0.5)).toBe(300_000);
    expect(nextAttemptDelay(1, SCHEDULE, 7 * 86_400_000, () => 0.5)).toBe(86_400_000);
  });

  it('classifies answers', () => {
    expect([200, 204, 299, 410, 429, 500, 503, 404, 301, null].map(classify)).toEqual([
      'delivered',
      'delivered',
      'delivered',
      'gone',
      'retry',
      'retry',
      'retry',
      'retry',
      'retry',
      'retry',
    ]);
  });
});
