/** The UTC calendar day of an instant, as `YYYY-MM-DD`: the day usage counters and daily quotas are kept by. */
export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);
