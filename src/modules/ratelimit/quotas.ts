// Daily quotas of a user's tier: evaluations started, judge tokens and judge cost (USD) per UTC
// day. The one place that says how much a user may still spend today; the evaluation engine asks
// it when an evaluation is created and while it runs. Usage is counted in usage_counters, in the
// same transactions that record the spending.
import type { Config } from '../../config';
import type { Deps } from '../../deps';
import type { Tier } from '../../generated/prisma/enums';
import type { Sql } from '../../storage/db';
import { fromUnits, toUnits } from '../../lib/money';

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

const dayOf = (now: Date) => now.toISOString().slice(0, 10);

function quotaOf(tiers: Config['quotas']['tiers'], tier: Tier, overrides: unknown): DailyQuota {
  const daily = (overrides as { daily?: Partial<DailyQuota> } | null)?.daily ?? {};
  const base = tiers[tier];
  const pick = <K extends keyof DailyQuota>(k: K) => (daily[k] !== undefined ? daily[k] : base[k]) as DailyQuota[K];
  return { requests: pick('requests'), evaluations: pick('evaluations'), judgeTokens: pick('judgeTokens'), judgeCost: pick('judgeCost') };
}

/** Adds to a user's and a project's counters of today, inside the caller's transaction. */
export async function countUsage(sql: Sql, day: Date, subjects: { userId: string | null; projectId: string }, add: { evaluations?: number; judgeTokens?: number; judgeCost?: string }) {
  const rows = [
    ...(subjects.userId ? [['USER', subjects.userId]] : []),
    ['PROJECT', subjects.projectId],
  ];
  for (const [type, id] of rows) {
    await sql(
      `INSERT INTO usage_counters (id, subject_type, subject_id, day, evaluations, judge_tokens, judge_cost)
       VALUES (gen_random_uuid(), $1::"UsageSubject", $2::uuid, $3::date, $4, $5, $6::numeric)
       ON CONFLICT (subject_type, subject_id, day) DO UPDATE SET
         evaluations = usage_counters.evaluations + EXCLUDED.evaluations,
         judge_tokens = usage_counters.judge_tokens + EXCLUDED.judge_tokens,
         judge_cost = usage_counters.judge_cost + EXCLUDED.judge_cost`,
      [type, id, dayOf(day), add.evaluations ?? 0, add.judgeTokens ?? 0, add.judgeCost ?? '0'],
    );
  }
}

export function createQuotas(deps: Deps) {
  /** A user's (or a project's) counters of today. */
  async function usageToday(subjectId: string, subject: 'USER' | 'PROJECT' = 'USER'): Promise<DailyUsage> {
    const rows = await deps.db.query<{ requests: number; cost_points: string; evaluations: number; judge_tokens: string; judge_cost: string }>(
      `SELECT requests, cost_points::text, evaluations, judge_tokens::text, trim_scale(judge_cost)::text AS judge_cost FROM usage_counters
       WHERE subject_type = $3::"UsageSubject" AND subject_id = $1::uuid AND day = $2::date`,
      [subjectId, dayOf(deps.clock.now()), subject],
    );
    const row = rows[0];
    return {
      requests: row?.requests ?? 0,
      costPoints: Number(row?.cost_points ?? 0),
      evaluations: row?.evaluations ?? 0,
      judgeTokens: Number(row?.judge_tokens ?? 0),
      judgeCost: row?.judge_cost ?? '0',
    };
  }

  return {
    usageToday,
    async quota(userId: string): Promise<DailyQuota> {
      const user = await deps.db.prisma.user.findUnique({ where: { id: userId }, select: { tier: true, limitOverrides: true } });
      return quotaOf(deps.config.quotas.tiers, user?.tier ?? 'FREE', user?.limitOverrides ?? null);
    },
    /**
     * Why `userId` may not spend more today ('evaluations': start one; 'judge': call judges), or
     * null when they may. Spending already under way is not cut short by this check.
     */
    async exceeded(userId: string | null, what: 'evaluations' | 'judge', unwritten: { judgeTokens: number; judgeCost: string } = { judgeTokens: 0, judgeCost: '0' }): Promise<string | null> {
      if (!userId) return null;
      const [quota, stored] = [await this.quota(userId), await usageToday(userId)];
      // Spending already made but not yet committed (the caller's own pending writes) counts too.
      const used = { ...stored, judgeTokens: stored.judgeTokens + unwritten.judgeTokens, judgeCost: fromUnits(toUnits(stored.judgeCost) + toUnits(unwritten.judgeCost)) };
      if (what === 'evaluations') {
        return quota.evaluations !== null && used.evaluations >= quota.evaluations ? `Daily quota of ${quota.evaluations} evaluations reached; it resets at 00:00 UTC.` : null;
      }
      if (quota.judgeTokens !== null && used.judgeTokens >= quota.judgeTokens) return `Daily quota of ${quota.judgeTokens} judge tokens reached; it resets at 00:00 UTC.`;
      if (quota.judgeCost !== null && toUnits(used.judgeCost) >= toUnits(quota.judgeCost)) return `Daily judge budget of ${quota.judgeCost} USD reached; it resets at 00:00 UTC.`;
      return null;
    },
  };
}

export type Quotas = ReturnType<typeof createQuotas>;
