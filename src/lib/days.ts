const DAY_MS = 86_400_000;
let today = { start: Number.NaN, day: '' };

/** The UTC calendar day of an instant, as `YYYY-MM-DD`: the day usage counters and daily quotas are kept by. */
export function utcDay(at: Date): string {
  const t = at.getTime();
  // Asked for every request (the usage counters): the day's text is made once a day, not each time.
  if (t >= today.start && t < today.start + DAY_MS) return today.day;
  const start = Math.floor(t / DAY_MS) * DAY_MS;
  today = { start, day: new Date(start).toISOString().slice(0, 10) };
  return today.day;
}

/** The start of the UTC minute of an instant: the window per-minute quotas are kept by. */
export const utcMinute = (at: Date): Date => new Date(Math.floor(at.getTime() / 60_000) * 60_000);
