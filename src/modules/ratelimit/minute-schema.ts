// The per-minute window as `limits { perMinute }` and `usage { minute }` show it: each quota's
// limit and burst (the tier's; null: unlimited) beside what the current UTC minute has used.
import { builder } from '../../schema/builder';
import type { MinuteQuota, MinuteUsage } from './quotas';

type Count = { limit: number | null; burst: number | null; used: number };
type Cost = { limit: string | null; burst: string | null; used: string };
export type MinuteWindowShape = {
  startsAt: Date;
  resetsAt: Date;
  evaluations: Count;
  judgeTokens: Count;
  judgeCost: Cost;
};

const MinuteCountRef = builder.objectRef<Count>('MinuteCount').implement({
  description:
    'One per-minute quota: `limit` a minute is the rate sized for, `burst` the most one minute may reach (null: unlimited).',
  fields: (t) => ({
    limit: t.field({ type: 'SafeInt', nullable: true, resolve: (c) => c.limit }),
    burst: t.field({ type: 'SafeInt', nullable: true, resolve: (c) => c.burst }),
    used: t.field({ type: 'SafeInt', resolve: (c) => c.used }),
  }),
});

const MinuteCostRef = builder.objectRef<Cost>('MinuteCost').implement({
  description: 'The per-minute judge cost quota, in USD (null: unlimited).',
  fields: (t) => ({
    limit: t.field({ type: 'Decimal', nullable: true, resolve: (c) => c.limit }),
    burst: t.field({ type: 'Decimal', nullable: true, resolve: (c) => c.burst }),
    used: t.field({ type: 'Decimal', resolve: (c) => c.used }),
  }),
});

export const MinuteWindowRef = builder.objectRef<MinuteWindowShape>('MinuteWindow').implement({
  description:
    'The current UTC minute: evaluations created, judge tokens and judge cost against their per-minute quotas. Refused with QUOTA_EXCEEDED once `used` reaches `burst`, until `resetsAt`.',
  fields: (t) => ({
    startsAt: t.expose('startsAt', { type: 'DateTime' }),
    resetsAt: t.expose('resetsAt', { type: 'DateTime', description: 'When the window frees.' }),
    evaluations: t.field({ type: MinuteCountRef, resolve: (w) => w.evaluations }),
    judgeTokens: t.field({ type: MinuteCountRef, resolve: (w) => w.judgeTokens }),
    judgeCost: t.field({ type: MinuteCostRef, resolve: (w) => w.judgeCost }),
  }),
});

/** The window from a quota (null: a project's, which has none per minute) and the minute's use. */
export function minuteWindow(quota: MinuteQuota | null, used: MinuteUsage): MinuteWindowShape {
  return {
    startsAt: used.startsAt,
    resetsAt: used.resetsAt,
    evaluations: {
      limit: quota?.evaluations.perMinute ?? null,
      burst: quota?.evaluations.burst ?? null,
      used: used.evaluations,
    },
    judgeTokens: {
      limit: quota?.judgeTokens.perMinute ?? null,
      burst: quota?.judgeTokens.burst ?? null,
      used: used.judgeTokens,
    },
    judgeCost: {
      limit: quota?.judgeCost.perMinute ?? null,
      burst: quota?.judgeCost.burst ?? null,
      used: used.judgeCost,
    },
  };
}
