// When to try a failed delivery again: the schedule gives the delay before each attempt (the
// first is immediate); each delay is jittered by ±10 % so that an endpoint's failed deliveries
// do not all come back at once, and a Retry-After longer than the delay wins (up to a day).
const MAX_RETRY_AFTER_MS = 24 * 3600_000;

/** `attempts` made so far (the one that just failed included); null when none is left. */
export function nextAttemptDelay(
  attempts: number,
  scheduleMs: number[],
  retryAfterMs: number | null,
  random: () => number = Math.random,
): number | null {
  if (attempts >= scheduleMs.length) return null;
  const base = scheduleMs[attempts];
  const jittered = Math.round(base * (0.9 + 0.2 * random()));
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
}

/** 2xx delivered; 410 Gone: the receiver wants no more (the endpoint is disabled); anything else is retried. */
export function classify(statusCode: number | null): 'delivered' | 'gone' | 'retry' {
  if (statusCode !== null && statusCode >= 200 && statusCode < 300) return 'delivered';
  if (statusCode === 410) return 'gone';
  return 'retry';
}
