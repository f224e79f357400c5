/** The UTC calendar day of an instant, as `YYYY-MM-DD`: the day usage counters and daily quotas are kept by. */
export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

/** The start of the UTC minute of an instant: the window per-minute quotas are kept by. */
export const utcMinute = (at: Date): Date => new Date(Math.floor(at.getTime() / 60_000) * 60_000);
