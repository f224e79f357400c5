// A user's cost-point bucket: their tier's, with their own overrides (setUserLimits) on top.
import type { Config } from '../../config';
import type { Principal } from '../auth/permissions';
import { bucketBeside, type BucketLimits } from './bucket';

export interface LimitOverrides {
  bucket?: Partial<BucketLimits>;
  daily?: Record<string, unknown>;
}

/**
 * Whose allowance a request spends: its user's (bucket and daily requests), but for a FEEDBACK
 * key, its project's feedback. Such a key ships in a web app, where anyone can take it: spending
 * it must not lock its owner's other keys out, and more of them add nothing. `bucket` is the key
 * of the bucket store; `type` and `id` are the daily count's (usage_counters).
 */
export interface RateSubject {
  type: 'USER' | 'PROJECT';
  id: string;
  bucket: string;
}

export function rateSubject(principal: Principal): RateSubject {
  if (principal.keyRole === 'FEEDBACK' && principal.keyProjectId)
    return {
      type: 'PROJECT',
      id: principal.keyProjectId,
      bucket: `feedback:${principal.keyProjectId}`,
    };
  return { type: 'USER', id: principal.userId, bucket: principal.userId };
}

export function bucketLimits(config: Config['rateLimit'], principal: Principal): BucketLimits {
  const own = (principal.user?.limitOverrides as LimitOverrides | null | undefined)?.bucket ?? {};
  return { ...config.tiers[principal.tier], ...own };
}

/**
 * The key role's ceiling: a bucket of requests (each operation that costs points takes one),
 * per rate subject and role, so that more keys of one role add nothing. A key without a role
 * counts as ADMIN.
 */
export function roleBucket(
  config: Config['rateLimit'],
  principal: Principal,
): { role: keyof Config['rateLimit']['roles']; key: string; limits: BucketLimits } {
  const role = principal.keyRole ?? 'ADMIN';
  const { perMinute, burst } = config.roles[role];
  return {
    role,
    key: bucketBeside(rateSubject(principal).bucket, `role:${role}`),
    limits: { capacity: burst, restoreRate: perMinute / 60 },
  };
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
