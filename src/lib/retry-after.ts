/**
 * A Retry-After header in ms from `now`: delay-seconds (whole or, as some providers send,
 * fractional) or an HTTP date; null when absent or unreadable. Never negative.
 */
export function parseRetryAfter(
  value: string | string[] | null | undefined,
  now = Date.now(),
): number | null {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its day and month ("Sun, 06 Nov 1994 08:49:37 GMT"); Date.parse alone would read "-3" as a year.
  const at = /[a-z]/i.test(text) ? Date.parse(text) : NaN;
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
