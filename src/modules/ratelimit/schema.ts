// `rateLimit` (GitHub style: your bucket now, free to ask) and `setUserLimits` (instance admins:
// a user's own bucket and daily quotas over their tier's).
import { utcDay } from '../../lib/days';
import { z } from 'zod';
import { notFound } from '../../errors';
import { parseInput } from '../../lib/validate';
import { builder } from '../../schema/builder';
import { UserRef } from '../auth/schema';
import { ProjectRef } from '../projects/schema';
import { secondsUntil } from './bucket';
import { bucketLimits, type LimitOverrides } from './limits';
import { MinuteWindowRef, minuteWindow, type MinuteWindowShape } from './minute-schema';
import { recordAudit } from '../audit/record';

const RateLimitRef = builder
  .objectRef<{ limit: number; remaining: number; restoreRate: number; resetAt: Date }>('RateLimit')
  .implement({
    description:
      'Your cost-point bucket: operations take their cost from it, and it refills at restoreRate points a second.',
    fields: (t) => ({
      limit: t.exposeInt('limit', { description: 'The most the bucket holds.' }),
      cost: t.int({ description: 'What asking for this costs: nothing.', resolve: () => 0 }),
      remaining: t.exposeInt('remaining'),
      used: t.int({ resolve: (r) => r.limit - r.remaining }),
      restoreRate: t.exposeFloat('restoreRate', { description: 'Points restored per second.' }),
      resetAt: t.expose('resetAt', {
        type: 'DateTime',
        description: 'When the bucket is full again.',
      }),
    }),
  });

builder.queryField('rateLimit', (t) =>
  t.field({
    type: RateLimitRef,
    description: 'Your rate limit now. Free: it costs no points.',
    // Never cached: the bucket moves with every request.
    extensions: { free: true, cacheTtlMs: 0 },
    authScopes: { authenticated: true },
    resolve: async (_root, _args, ctx) => {
      const limits = bucketLimits(ctx.deps.config.rateLimit, ctx.principal!);
      const { available } = await ctx.deps.buckets.peek(ctx.principal!.userId, limits);
      const remaining = Math.floor(available);
      return {
        limit: limits.capacity,
        remaining,
        restoreRate: limits.restoreRate,
        resetAt: new Date(
          ctx.deps.clock.now().getTime() + secondsUntil(remaining, limits.capacity, limits) * 1000,
        ),
      };
    },
  }),
);

const limitsInput = z.object({
  capacity: z.number().int().min(1).max(100_000_000).nullish(),
  restoreRate: z.number().positive().max(10_000_000).nullish(),
  requestsPerDay: z.number().int().min(0).nullish(),
  evaluationsPerDay: z.number().int().min(0).nullish(),
  judgeTokensPerDay: z.number().int().min(0).nullish(),
  judgeCostPerDay: z
    .string()
    .regex(/^\d{1,12}(\.\d{1,10})?$/, 'a USD amount such as "25.00"')
    .nullish(),
});

builder.relayMutationField(
  'setUserLimits',
  {
    inputFields: (t) => ({
      userId: t.globalID({ required: true, for: UserRef }),
      capacity: t.int({ description: 'Bucket capacity in cost points (null: the tier default).' }),
      restoreRate: t.float({ description: 'Points restored per second (null: the tier default).' }),
      requestsPerDay: t.int(),
      evaluationsPerDay: t.int(),
      judgeTokensPerDay: t.int(),
      judgeCostPerDay: t.field({ type: 'Decimal', description: 'USD.' }),
    }),
  },
  {
    description:
      "Sets a user's own limits over their tier's (instance admins only). A field left null uses the tier's.",
    authScopes: { instanceAdmin: true },
    resolve: async (_root, { input }, ctx) => {
      const data = parseInput(limitsInput, input);
      const user = await ctx.deps.db.prisma.user.findUnique({ where: { id: input.userId.id } });
      if (!user) throw notFound('User');
      const overrides: LimitOverrides = {
        bucket: {
          ...(data.capacity != null ? { capacity: data.capacity } : {}),
          ...(data.restoreRate != null ? { restoreRate: data.restoreRate } : {}),
        },
        daily: {
          ...(data.requestsPerDay != null ? { requests: data.requestsPerDay } : {}),
          ...(data.evaluationsPerDay != null ? { evaluations: data.evaluationsPerDay } : {}),
          ...(data.judgeTokensPerDay != null ? { judgeTokens: data.judgeTokensPerDay } : {}),
          ...(data.judgeCostPerDay != null ? { judgeCost: data.judgeCostPerDay } : {}),
        },
      };
      const updated = await ctx.deps.db.prisma.$transaction(async (tx) => {
        await recordAudit(
          ctx,
          {
            action: 'limits.set',
            projectId: null,
            targetType: 'User',
            targetId: user.id,
            details: overrides as unknown as Record<string, unknown>,
          },
          tx,
        );
        return tx.user.update({
          where: { id: user.id },
          data: { limitOverrides: overrides as object },
        });
      });
      // Keys are re-read with the new limits at once, in every process.
      ctx.services.auth.accessChanged(user.id);
      return { user: updated };
    },
  },
  { outputFields: (t) => ({ user: t.field({ type: UserRef, resolve: (p) => p.user }) }) },
);

export const DailyQuotaRef = builder
  .objectRef<{
    requests: number | null;
    evaluations: number | null;
    judgeTokens: number | null;
    judgeCost: string | null;
  }>('DailyQuota')
  .implement({
    description: 'What may be spent per UTC day; null: unlimited.',
    fields: (t) => ({
      requests: t.exposeInt('requests', {
        nullable: true,
        description: 'Enforced with the burst allowance on top.',
      }),
      evaluations: t.exposeInt('evaluations', { nullable: true }),
      judgeTokens: t.field({ type: 'SafeInt', nullable: true, resolve: (q) => q.judgeTokens }),
      judgeCost: t.field({
        type: 'Decimal',
        nullable: true,
        description: 'USD.',
        resolve: (q) => q.judgeCost,
      }),
    }),
  });

builder.queryField('limits', (t) =>
  t.field({
    type: builder
      .objectRef<{
        tier: string;
        capacity: number;
        restoreRate: number;
        daily: {
          requests: number | null;
          evaluations: number | null;
          judgeTokens: number | null;
          judgeCost: string | null;
        };
        burstPercent: number;
        perMinute: MinuteWindowShape;
      }>('Limits')
      .implement({
        description: "Your limits: your tier's, with your own overrides.",
        fields: (f) => ({
          tier: f.exposeString('tier'),
          capacity: f.exposeInt('capacity', { description: 'Cost points the bucket holds.' }),
          restoreRate: f.exposeFloat('restoreRate', { description: 'Points restored per second.' }),
          daily: f.field({ type: DailyQuotaRef, resolve: (l) => l.daily }),
          burstPercent: f.exposeInt('burstPercent', {
            description: 'How far above its daily quota a user may go before being refused.',
          }),
          perMinute: f.field({
            type: MinuteWindowRef,
            description: "Your tier's per-minute quotas, with this minute's use.",
            resolve: (l) => l.perMinute,
          }),
        }),
      }),
    // Never cached: read as they are now (an override changes them at once).
    extensions: { free: true, cacheTtlMs: 0 },
    authScopes: { authenticated: true },
    resolve: async (_root, _args, ctx) => {
      const principal = ctx.principal!;
      const bucket = bucketLimits(ctx.deps.config.rateLimit, principal);
      return {
        tier: principal.tier,
        ...bucket,
        daily: await ctx.services.quotas.quota(principal.userId),
        burstPercent: ctx.deps.config.quotas.burstPercent,
        perMinute: minuteWindow(
          await ctx.services.quotas.minuteQuota(principal.userId),
          await ctx.services.quotas.usageThisMinute(principal.userId),
        ),
      };
    },
  }),
);

const UsageRef = builder
  .objectRef<{
    day: string;
    requests: number;
    costPoints: number;
    evaluations: number;
    judgeTokens: number;
    judgeCost: string;
    minute: MinuteWindowShape;
  }>('Usage')
  .implement({
    description: 'Consumption of one UTC day (requests are stored every few seconds).',
    fields: (t) => ({
      day: t.exposeString('day', { description: 'YYYY-MM-DD (UTC).' }),
      requests: t.exposeInt('requests', {
        description: "A user's requests; a project's are those of its FEEDBACK keys.",
      }),
      costPoints: t.field({ type: 'SafeInt', resolve: (u) => u.costPoints }),
      evaluations: t.exposeInt('evaluations'),
      judgeTokens: t.field({ type: 'SafeInt', resolve: (u) => u.judgeTokens }),
      judgeCost: t.field({ type: 'Decimal', description: 'USD.', resolve: (u) => u.judgeCost }),
      minute: t.field({
        type: MinuteWindowRef,
        description:
          "The current UTC minute's use, with the per-minute quotas (a user's tier's; a project has none).",
        resolve: (u) => u.minute,
      }),
    }),
  });

builder.queryField('usage', (t) =>
  t.field({
    type: UsageRef,
    nullable: true,
    description:
      "Today's consumption: yours, or a project's (needs the costs role: ADMIN or BILLING).",
    args: { projectId: t.arg.globalID({ for: ProjectRef }) },
    // Never cached: requests are counted as they come.
    extensions: { free: true, cacheTtlMs: 0 },
    authScopes: (_root, args) =>
      args.projectId
        ? { project: { id: args.projectId.id, action: 'costs' } }
        : { authenticated: true },
    resolve: async (_root, args, ctx) => {
      const day = utcDay(ctx.deps.clock.now());
      if (args.projectId)
        return {
          day,
          ...(await ctx.services.quotas.usageToday(args.projectId.id, 'PROJECT')),
          minute: minuteWindow(
            null,
            await ctx.services.quotas.usageThisMinute(args.projectId.id, 'PROJECT'),
          ),
        };
      // What is stored, and what this process counted since its last write (no write here: usage is free).
      const stored = await ctx.services.quotas.usageToday(ctx.principal!.userId);
      const pending = ctx.services.requests.pendingOf({ type: 'USER', id: ctx.principal!.userId });
      return {
        day,
        ...stored,
        requests: stored.requests + pending.requests,
        costPoints: stored.costPoints + pending.points,
        minute: minuteWindow(
          await ctx.services.quotas.minuteQuota(ctx.principal!.userId),
          await ctx.services.quotas.usageThisMinute(ctx.principal!.userId),
        ),
      };
    },
  }),
);
