/**
 * Exponential backoff: `baseMs` after the first failure, doubling with each one after, up to
 * `capMs`; jittered by ±10 % so that workers in many processes do not all retry at the same moment.
 */
export function backoffDelay(
  failures: number,
  options: { baseMs: number; capMs: number },
  random: () => number = Math.random,
): number {
  const exact = Math.min(
    options.capMs,
    options.baseMs * 2 ** Math.max(0, Math.min(failures - 1, 30)),
  );
  return Math.round(exact * (0.9 + 0.2 * random()));
}
