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
