// Daily quotas of a user's tier, and daily budgets of a project (set by its admins): evaluations
// started, judge tokens and judge cost (USD) per UTC day. The one place that says how much may
// still be spent today; the evaluation engine asks it when an evaluation is created and while it
// runs. Usage is counted in usage_counters (usage-sql.ts), in the same transactions that record
// the spending. Each tier also has per-minute quotas of the same three (UTC minute windows,
// refused once a minute's use reaches its burst), counted in usage_minutes by the same statements:
// Postgres, like the daily counters, so every API and worker process sees one count and a
// counter moves in the transaction of the spending it counts.
import { utcDay, utcMinute } from '../../lib/days';
import type { Config } from '../../config';
import type { Deps } from '../../deps';
import type { Tier } from '../../generated/prisma/enums';
import { toUnits } from '../../lib/money';
import { instanceLimitExceeded } from '../../errors';
import { secondsToMidnight } from './limits';
import { readInstanceJudgeCost, readMinute, readUsage } from './usage-sql';

export interface DailyQuota {
  /** null: unlimited. */
  requests: number | null;
  evaluations: number | null;
  judgeTokens: number | null;
  /** USD, as a decimal string. */
  judgeCost: string | null;
}

export interface DailyUsage {
  requests: number;
  costPoints: number;
  evaluations: number;
  judgeTokens: number;
  judgeCost: string;
}

/** Per-minute quotas of a tier: `perMinute` the rate it is sized for, `burst` the most one minute may reach (null: unlimited). */
export type MinuteQuota = Config['quotas']['minuteTiers'][Tier];

export interface MinuteUsage {
  /** The minute's start and end (when it frees). */
  startsAt: Date;
  resetsAt: Date;
  evaluations: number;
  judgeTokens: number;
  judgeCost: string;
}

/** Why a quota refuses, and (for a minute window) in how many seconds it frees. */
export interface Refusal {
  message: string;
  /** Seconds; null for a daily quota (it frees at 00:00 UTC). */
  retryAfter: number | null;
}

/** Seconds until the minute of `now` ends (at least 1). */
export const secondsToNextMinute = (now: Date) =>
  Math.max(1, Math.ceil((utcMinute(now).getTime() + 60_000 - now.getTime()) / 1000));

function quotaOf(tiers: Config['quotas']['tiers'], tier: Tier, overrides: unknown): DailyQuota {
  const daily = (overrides as { daily?: Partial<DailyQuota> } | null)?.daily ?? {};
  const base = tiers[tier];
  const pick = <K extends keyof DailyQuota>(k: K) =>
    (daily[k] !== undefined ? daily[k] : base[k]) as DailyQuota[K];
  return {
    requests: pick('requests'),
    evaluations: pick('evaluations'),
    judgeTokens: pick('judgeTokens'),
    judgeCost: pick('judgeCost'),
  };
}

export function createQuotas(deps: Deps) {
  /** A user's (or a project's) counters of today. */
  async function usageToday(
    subjectId: string,
    subject: 'USER' | 'PROJECT' = 'USER',
  ): Promise<DailyUsage> {
    const row = await readUsage(deps.db.query, subject, subjectId, utcDay(deps.clock.now()));
    return {
      requests: row?.requests ?? 0,
      costPoints: Number(row?.cost_points ?? 0),
      evaluations: row?.evaluations ?? 0,
      judgeTokens: Number(row?.judge_tokens ?? 0),
      judgeCost: row?.judge_cost ?? '0',
    };
  }

  /** A user's (or a project's) counters of the current UTC minute. */
  async function usageThisMinute(
    subjectId: string,
    subject: 'USER' | 'PROJECT' = 'USER',
  ): Promise<MinuteUsage> {
    const startsAt = utcMinute(deps.clock.now());
    const row = await readMinute(deps.db.query, subject, subjectId, startsAt);
    return {
      startsAt,
      resetsAt: new Date(startsAt.getTime() + 60_000),
      evaluations: row?.evaluations ?? 0,
      judgeTokens: Number(row?.judge_tokens ?? 0),
      judgeCost: row?.judge_cost ?? '0',
    };
  }

  /** Why the minute's quota is spent (for `what`), or null when it is not. */
  function minuteSpent(
    quota: MinuteQuota,
    used: MinuteUsage,
    unwritten: Spending,
    what: 'evaluations' | 'judge',
  ): Refusal | null {
    const retryAfter = secondsToNextMinute(deps.clock.now());
    const refuse = (what: string, w: { perMinute: unknown; burst: unknown }) => ({
      message: `Your per-minute quota of ${w.perMinute} ${what} (bursts of ${w.burst}) reached; it frees at ${used.resetsAt.toISOString()}.`,
      retryAfter,
    });
    if (what === 'evaluations') {
      const w = quota.evaluations;
      return w.burst !== null && used.evaluations >= w.burst ? refuse('evaluations', w) : null;
    }
    const tokens = used.judgeTokens + unwritten.judgeTokens;
    const cost = toUnits(used.judgeCost) + toUnits(unwritten.judgeCost);
    if (quota.judgeTokens.burst !== null && tokens >= quota.judgeTokens.burst)
      return refuse('judge tokens', quota.judgeTokens);
    if (quota.judgeCost.burst !== null && cost >= toUnits(quota.judgeCost.burst))
      return refuse('USD of judge cost', quota.judgeCost);
    return null;
  }

  async function tierOf(userId: string) {
    const user = await deps.db.prisma.user.findUnique({
      where: { id: userId },
      select: { tier: true, limitOverrides: true },
    });
    return { tier: user?.tier ?? 'FREE', overrides: user?.limitOverrides ?? null };
  }

  type Spending = { judgeTokens: number; judgeCost: string };
  const NONE: Spending = { judgeTokens: 0, judgeCost: '0' };

  /** Why `quota` is spent (for `what`), given the counters and what is not written yet; null when it is not. */
  function spent(
    quota: DailyQuota,
    stored: DailyUsage,
    unwritten: Spending,
    what: 'evaluations' | 'judge',
    whose: 'Your' | "The project's",
  ): string | null {
    const limit = whose === 'Your' ? 'quota' : 'budget';
    if (what === 'evaluations') {
      return quota.evaluations !== null && stored.evaluations >= quota.evaluations
        ? `${whose} daily ${limit} of ${quota.evaluations} evaluations reached; it resets at 00:00 UTC.`
        : null;
    }
    const tokens = stored.judgeTokens + unwritten.judgeTokens;
    const cost = toUnits(stored.judgeCost) + toUnits(unwritten.judgeCost);
    if (quota.judgeTokens !== null && tokens >= quota.judgeTokens)
      return `${whose} daily ${limit} of ${quota.judgeTokens} judge tokens reached; it resets at 00:00 UTC.`;
    if (quota.judgeCost !== null && cost >= toUnits(quota.judgeCost))
      return `${whose} daily judge budget of ${quota.judgeCost} USD reached; it resets at 00:00 UTC.`;
    return null;
  }

  /** Judge spending of every project today (USD). */
  const instanceJudgeCostToday = () =>
    readInstanceJudgeCost(deps.db.query, utcDay(deps.clock.now()));
  const instanceLimit = deps.config.instanceLimits.judgeCostPerDayUsd;

  return {
    usageToday,
    instanceJudgeCostToday,
    /** Whether the instance limits judge spending per day (else no check is needed). */
    instanceLimitsJudges: instanceLimit !== null,
    /**
     * Why no judge may spend more today on this instance (EVALGRAPH_GLOBAL_LIMITS
     * judgeCostPerDayUsd, every project together), or null. `unwritten`: judge cost spent and not
     * yet committed (USD). `counted`: a refusal to count in the metric (not a check for resuming).
     */
    async instanceExceeded(unwritten = '0', counted = true): Promise<string | null> {
      if (instanceLimit === null) return null;
      const spent = toUnits(await instanceJudgeCostToday()) + toUnits(unwritten);
      if (spent < toUnits(instanceLimit)) return null;
      if (counted) deps.meters.instanceLimitRefused.inc({ limit: 'judgeCostPerDayUsd' });
      return `This instance's daily judge budget of ${instanceLimit} USD (for all projects together) is spent; it resets at 00:00 UTC.`;
    },
    /** The error for a judge spending refused by instanceExceeded's reason (429 until midnight UTC). */
    instanceRefusal: (reason: string) =>
      instanceLimitExceeded('judgeCostPerDayUsd', reason, secondsToMidnight(deps.clock.now())),
    usageThisMinute,
    async quota(userId: string): Promise<DailyQuota> {
      const { tier, overrides } = await tierOf(userId);
      return quotaOf(deps.config.quotas.tiers, tier, overrides);
    },
    /** A user's per-minute quotas (their tier's). */
    async minuteQuota(userId: string): Promise<MinuteQuota> {
      return deps.config.quotas.minuteTiers[(await tierOf(userId)).tier];
    },
    /** A project's daily budget (null fields: no limit); requests are limited per user only. */
    async projectBudget(projectId: string): Promise<DailyQuota> {
      const project = await deps.db.prisma.project.findUnique({
        where: { id: projectId },
        select: { limits: true },
      });
      return { ...budgetOf(project?.limits ?? null), requests: null };
    },
    /**
     * Why the user or the project may not spend more today ('evaluations': start one; 'judge':
     * call judges), or null when both may. Spending already under way is not cut short by this check.
     * `unwritten`: spending made but not yet committed (the caller's own pending writes).
     */
    async exceeded(
      subjects: { userId: string | null; projectId: string | null },
      what: 'evaluations' | 'judge',
      unwritten: { user?: Spending; project?: Spending } = {},
    ): Promise<string | null> {
      return (await this.refusal(subjects, what, unwritten))?.message ?? null;
    },
    /** As `exceeded`, with when a minute window frees (`retryAfter`). */
    async refusal(
      subjects: { userId: string | null; projectId: string | null },
      what: 'evaluations' | 'judge',
      unwritten: { user?: Spending; project?: Spending } = {},
    ): Promise<Refusal | null> {
      const daily = (message: string | null) => (message ? { message, retryAfter: null } : null);
      if (subjects.userId) {
        const reason = spent(
          await this.quota(subjects.userId),
          await usageToday(subjects.userId),
          unwritten.user ?? NONE,
          what,
          'Your',
        );
        if (reason) return daily(reason);
        const minute = minuteSpent(
          await this.minuteQuota(subjects.userId),
          await usageThisMinute(subjects.userId),
          unwritten.user ?? NONE,
          what,
        );
        if (minute) return minute;
      }
      if (subjects.projectId) {
        const budget = await this.projectBudget(subjects.projectId);
        if (Object.values(budget).every((v) => v === null)) return null;
        return daily(
          spent(
            budget,
            await usageToday(subjects.projectId, 'PROJECT'),
            unwritten.project ?? NONE,
            what,
            "The project's",
          ),
        );
      }
      return null;
    },
  };
}

/** The budget stored on a project ({ daily: { evaluations, judgeTokens, judgeCost } }). */
export function budgetOf(limits: unknown): Omit<DailyQuota, 'requests'> {
  const daily = (limits as { daily?: Partial<DailyQuota> } | null)?.daily ?? {};
  return {
    evaluations: daily.evaluations ?? null,
    judgeTokens: daily.judgeTokens ?? null,
    judgeCost: daily.judgeCost ?? null,
  };
}

/** Whether a tier's minute quotas limit judge spending at all. */
export const minuteLimitsJudges = (quota: MinuteQuota) =>
  quota.judgeTokens.burst !== null || quota.judgeCost.burst !== null;

/** Whether a quota limits judge spending at all (else the engine need not check it per item). */
export const limitsJudges = (quota: Pick<DailyQuota, 'judgeTokens' | 'judgeCost'>) =>
  quota.judgeTokens !== null || quota.judgeCost !== null;

export type Quotas = ReturnType<typeof createQuotas>;
