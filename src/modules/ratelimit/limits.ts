// A user's cost-point bucket: their tier's, with their own overrides (setUserLimits) on top.
import type { Config } from '../../config';
import type { Principal } from '../auth/permissions';
import type { BucketLimits } from './bucket';

export interface LimitOverrides {
  bucket?: Partial<BucketLimits>;
  daily?: Record<string, unknown>;
}

export function bucketLimits(config: Config['rateLimit'], principal: Principal): BucketLimits {
  const own = (principal.user?.limitOverrides as LimitOverrides | null | undefined)?.bucket ?? {};
  return { ...config.tiers[principal.tier], ...own };
}

/** The user's requests per day (null: unlimited), and the count at which they are refused (with the burst allowance). */
export function requestQuota(
  config: Config['quotas'],
  principal: Principal,
): { quota: number; refusedAt: number } | null {
  const own = (principal.user?.limitOverrides as LimitOverrides | null | undefined)?.daily
    ?.requests;
  const quota = own !== undefined ? (own as number | null) : config.tiers[principal.tier].requests;
  return quota === null
    ? null
    : { quota, refusedAt: quota + Math.floor((quota * config.burstPercent) / 100) };
}

/** Seconds until the next UTC midnight, when daily quotas start again. */
export const secondsToMidnight = (now: Date) =>
  Math.ceil(
    (Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime()) /
      1000,
  );
