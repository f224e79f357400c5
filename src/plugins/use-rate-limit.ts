// Cost-based rate limiting per user (Shopify / GitHub style; a FEEDBACK key spends its project's
// feedback allowance instead: limits.ts rateSubject). Before execution the operation's
// requested cost must be in the user's bucket (else 429 RATE_LIMITED with Retry-After); an
// operation costing more than the bucket holds at most, or than the single-query maximum, is
// refused as QUERY_TOO_COMPLEX. After execution the unused part of the requested cost is given
// back. Every answer says what it cost in `extensions.cost` and in X-RateLimit-* headers.
// Besides the tier's bucket of points, each key role has a bucket of requests (limits.ts
// roleBucket): both are taken in one store step (one Redis script), the request is refused when
// either is empty, and the answer reports the one that binds (`throttleStatus.limitedBy`).
// When the bucket store (Redis) fails: reads fall back to a bucket in this process, spending
// mutations are refused with SERVICE_UNAVAILABLE.
import { getOperationAST, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { Counter, type Registry } from 'prom-client';
import type { Context } from '../context';
import { appError } from '../errors';
import type { Config } from '../config';
import type { Principal } from '../modules/auth/permissions';
import {
  secondsUntil,
  withFallback,
  type BucketLimits,
  type BucketsResult,
  type BucketStore,
} from '../modules/ratelimit/bucket';
import { planActualCost } from '../modules/ratelimit/actual-cost';
import { MUTATION_COST } from '../modules/ratelimit/field-cost';
import { createCostPlans } from '../modules/ratelimit/cost';
import {
  bucketLimits,
  rateSubject,
  requestQuota,
  roleBucket,
  secondsToMidnight,
} from '../modules/ratelimit/limits';
import type { RequestCounter } from '../modules/ratelimit/request-counter';
import { Feed, type EventCharge } from '../lib/shared-subscribe';

export interface CostExtension {
  requestedQueryCost: number;
  actualQueryCost: number | null;
  throttleStatus: {
    maximumAvailable: number;
    currentlyAvailable: number;
    restoreRate: number;
    /** Which bucket binds: the tier's (cost points) or the key role's (requests); its numbers are these. */
    limitedBy: LimitedBy;
  };
}

export type LimitedBy = 'TIER' | 'ROLE';

export interface RateLimitOptions {
  schema: GraphQLSchema;
  config: Config['rateLimit'];
  quotas: Config['quotas'];
  /** Requests per user and day (the daily request quota). */
  requests: RequestCounter;
  store: BucketStore;
  metrics: Registry;
  /** Called when the store fails (besides the metric). */
  onStoreError?: (error: unknown) => void;
}

/** One bucket of a request's step: the tier's (its cost in points) or the role's (one request). */
interface Side {
  by: LimitedBy;
  key: string;
  limits: BucketLimits;
  cost: number;
}

/**
 * The bucket that binds after a step: one that refused (the longer wait when both did), else the
 * one with fewer requests like this one left.
 */
function binding(sides: Side[], result: BucketsResult): { side: Side; available: number } {
  const each = sides.map((side, i) => ({ side, available: result.available[i] }));
  const score = ({ side, available }: (typeof each)[number]) =>
    result.allowed
      ? -available / Math.max(side.cost, 1)
      : secondsUntil(available, side.cost, side.limits);
  return each.reduce((a, b) => (score(b) > score(a) ? b : a));
}

const status = ({ side, available }: { side: Side; available: number }) => ({
  maximumAvailable: side.limits.capacity,
  currentlyAvailable: Math.floor(available),
  restoreRate: side.limits.restoreRate,
  limitedBy: side.by,
});

/**
 * QUERY_TOO_COMPLEX: `what` (its cost said) is more than the key may spend at once. A key that may
 * spend less than a mutation's least cost can send no mutation at all (nor OTLP): fewer items would
 * not help, whatever this one costs, an admin must raise its capacity, and the message says so. A
 * query has no least cost: a smaller one may fit.
 */
function tooComplex(what: string, cost: number, max: number, fewer: string, mutation: boolean) {
  const hint =
    mutation && max < MUTATION_COST
      ? `This key may spend at most ${max} points at once, fewer than the ${MUTATION_COST} any mutation costs: an admin must raise its capacity (setUserLimits, or EVALGRAPH_RATE_LIMIT_TIERS).`
      : fewer;
  return appError('QUERY_TOO_COMPLEX', `${what}; at most ${max} are allowed. ${hint}`, {
    extensions: { cost, limit: max },
  });
}

/** The daily request quota's refusal. */
function dailyQuotaError(quota: number, now: Date) {
  return appError(
    'QUOTA_EXCEEDED',
    `Daily quota of ${quota} requests reached; it resets at 00:00 UTC.`,
    {
      status: 429,
      headers: { 'Retry-After': String(secondsToMidnight(now)) },
      extensions: { quota },
    },
  );
}

/** A step the buckets refused: the bucket that binds, and the RATE_LIMITED error saying why (`what` costs its points). */
function throttled(
  config: Config['rateLimit'],
  role: ReturnType<typeof roleBucket>,
  sides: Side[],
  taken: BucketsResult,
  what: string,
  extensions: (bound: { side: Side; available: number }) => Record<string, unknown> = () => ({}),
) {
  const bound = binding(sides, taken);
  const retryAfter = Math.max(1, secondsUntil(bound.available, bound.side.cost, bound.side.limits));
  const tier = sides[0]!;
  const why =
    bound.side.by === 'TIER'
      ? `${what} costs ${tier.cost} points and ${Math.floor(bound.available)} are available (${tier.limits.restoreRate} restored per second)`
      : `${role.role} keys may make ${config.roles[role.role].perMinute} requests a minute (bursts of ${bound.side.limits.capacity}) and none are left`;
  const error = appError('RATE_LIMITED', `Throttled: ${why}. Retry after ${retryAfter} s.`, {
    status: 429,
    headers: { 'Retry-After': String(retryAfter) },
    extensions: extensions(bound),
  });
  return { bound, error };
}

interface Charger {
  take(
    bucket: string,
    limits: BucketLimits,
    cost: number,
  ): Promise<{ allowed: boolean; available: number }>;
  paid(tier: string, cost: number): void;
  throttled(tier: string): void;
}

/**
 * A subscription's charge per event: each event costs its selection, the first one paid when it
 * started. An event the bucket cannot pay is replaced by a RATE_LIMITED error; the stream goes on.
 * A class: one per open subscription (thousands), its methods shared.
 */
class SubscriptionCharge implements EventCharge {
  constructor(
    private readonly charger: Charger,
    private readonly tier: string,
    private readonly bucket: string,
    private readonly limits: BucketLimits,
    private readonly perEvent: number,
    /** The start's step, which paid the first event; null once that event has come. */
    private first: { allowed: boolean; available: number } | null,
  ) {}

  async pay(result: ExecutionResult): Promise<ExecutionResult> {
    const taken = this.first ?? (await this.charger.take(this.bucket, this.limits, this.perEvent));
    this.first = null;
    if (taken.allowed) {
      this.charger.paid(this.tier, this.perEvent);
      return result;
    }
    this.charger.throttled(this.tier);
    return {
      errors: [
        appError(
          'RATE_LIMITED',
          `Event withheld: it costs ${this.perEvent} points and ${Math.floor(taken.available)} are available (${this.limits.restoreRate} restored per second).`,
        ),
      ],
      extensions: result.extensions,
    };
  }
}

/**
 * Charges a request made outside GraphQL (OTLP's /v1/traces) to the same buckets as an operation:
 * `cost` points of the tier's and one request of the role's, counted in the daily requests.
 * Throws the error an operation would get (RATE_LIMITED and QUOTA_EXCEEDED with their status and
 * Retry-After, QUERY_TOO_COMPLEX, SERVICE_UNAVAILABLE while the store is down: it writes).
 * Answers its X-RateLimit-* headers (none when rate limiting is off).
 */
export type RequestCharge = (
  principal: Principal,
  cost: number,
  now: Date,
) => Promise<Record<string, string>>;

/** The X-RateLimit-* headers of a key's tier bucket holding `remaining` points. */
function rateLimitHeaders(limits: BucketLimits, remaining: number): Record<string, string> {
  return {
    'X-RateLimit-Limit': String(limits.capacity),
    'X-RateLimit-Remaining': String(remaining),
    'X-RateLimit-Used': String(limits.capacity - remaining),
    'X-RateLimit-Reset': String(
      Math.ceil(Date.now() / 1000) + secondsUntil(remaining, limits.capacity, limits),
    ),
  };
}

export function useRateLimit(options: RateLimitOptions): Plugin<Context> & {
  chargeRequest: RequestCharge;
} {
  const { schema, config, store } = options;
  const planOf = createCostPlans(schema);
  const points = new Counter({
    name: 'evalgraph_cost_points_total',
    help: 'Cost points charged (actual cost), by tier.',
    labelNames: ['tier'],
    registers: [options.metrics],
  });
  const operations = new Counter({
    name: 'evalgraph_rate_limited_operations_total',
    help: 'Operations by rate-limit outcome (allowed, throttled, too_complex), by tier.',
    labelNames: ['tier', 'outcome'],
    registers: [options.metrics],
  });
  const storeErrors = new Counter({
    name: 'evalgraph_rate_limit_store_errors_total',
    help: 'Failed steps of the rate-limit store (Redis); the fallback policy applied.',
    registers: [options.metrics],
  });
  // What each HTTP request cost, for its headers.
  const costs = new WeakMap<object, { cost: CostExtension; limits: BucketLimits }>();

  const buckets = withFallback(store, (error) => {
    storeErrors.inc();
    options.onStoreError?.(error);
  });
  const refuse = () =>
    appError(
      'SERVICE_UNAVAILABLE',
      'Rate limiting is unavailable; mutations are refused until it is back. Try again shortly.',
      { status: 503, headers: { 'Retry-After': '5' } },
    );
  /** The store, or this process's buckets when it fails (and never for spending mutations); says which answered. */
  const withStore = <T>(mutation: boolean, run: (s: BucketStore) => Promise<T>) =>
    buckets(run, () => {
      if (mutation) throw refuse();
    });

  // What every subscription's per-event charge shares (one object, not a closure per subscription).
  const charger: Charger = {
    take: async (bucket, limits, cost) =>
      (await withStore(false, (s) => s.take(bucket, limits, cost))).value,
    paid: (tier, cost) => points.inc({ tier }, cost),
    throttled: (tier) => operations.inc({ tier, outcome: 'throttled' }),
  };

  const chargeRequest: RequestCharge = async (principal, cost, now) => {
    if (!config.enabled) return {};
    const limits = bucketLimits(config, principal);
    const subject = rateSubject(principal);
    const daily = requestQuota(options.quotas, principal);
    if (daily && (await options.requests.requestsToday(subject)) >= daily.refusedAt)
      throw dailyQuotaError(daily.quota, now);
    const max = Math.min(limits.capacity, config.maxQueryCost);
    if (cost > max) {
      operations.inc({ tier: principal.tier, outcome: 'too_complex' });
      // A request charged here is a mutation's (OTLP is charged as ingestSpans).
      throw tooComplex(
        `This request costs ${cost} points`,
        cost,
        max,
        'Send fewer at a time.',
        true,
      );
    }
    const role = roleBucket(config, principal);
    const sides: Side[] = [
      { by: 'TIER', key: subject.bucket, limits, cost },
      { by: 'ROLE', key: role.key, limits: role.limits, cost: 1 },
    ];
    const { value: taken } = await withStore(true, (s) => s.takeAll(sides));
    operations.inc({ tier: principal.tier, outcome: taken.allowed ? 'allowed' : 'throttled' });
    if (!taken.allowed) throw throttled(config, role, sides, taken, 'this request').error;
    points.inc({ tier: principal.tier }, cost);
    options.requests.count(subject, cost);
    return rateLimitHeaders(limits, Math.floor(taken.available[0]!));
  };

  return {
    chargeRequest,
    async onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue;
      const principal: Principal | null = ctx.principal;
      if (!config.enabled || !principal) return;
      const operation = getOperationAST(args.document, args.operationName)?.operation;
      if (!operation || operation === 'subscription') return;
      const mutation = operation === 'mutation';
      const limits = bucketLimits(config, principal);
      const subject = rateSubject(principal);
      const plan = planOf(args.document, args.variableValues, args.operationName);
      if (!plan) return;
      const requested = plan.requested;
      const role = roleBucket(config, principal);
      // Free operations take nothing from either bucket.
      const sides: Side[] = [
        { by: 'TIER', key: subject.bucket, limits, cost: requested },
        { by: 'ROLE', key: role.key, limits: role.limits, cost: requested > 0 ? 1 : 0 },
      ];
      const peek = async () =>
        binding(sides, (await withStore(mutation, (s) => s.peekAll(sides))).value);
      const request = (ctx as { request?: object }).request;
      const stop = (result: ExecutionResult, cost: CostExtension, bound: BucketLimits) => {
        if (request) costs.set(request, { cost, limits: bound });
        setResultAndStopExecution({ ...result, extensions: { ...result.extensions, cost } });
      };

      const daily = requestQuota(options.quotas, principal);
      // Free operations (rateLimit, usage, limits, introspection) are neither refused nor counted.
      if (
        daily &&
        requested > 0 &&
        (await options.requests.requestsToday(subject)) >= daily.refusedAt
      ) {
        const current = await peek();
        stop(
          { errors: [dailyQuotaError(daily.quota, ctx.deps.clock.now())] },
          {
            requestedQueryCost: requested,
            actualQueryCost: null,
            throttleStatus: status(current),
          },
          current.side.limits,
        );
        return;
      }
      const max = Math.min(limits.capacity, config.maxQueryCost);
      if (requested > max) {
        operations.inc({ tier: principal.tier, outcome: 'too_complex' });
        const current = await peek();
        const cost = {
          requestedQueryCost: requested,
          actualQueryCost: null,
          throttleStatus: status(current),
        };
        stop(
          {
            errors: [
              tooComplex(
                `This operation may cost ${requested} points`,
                requested,
                max,
                'Ask for fewer items (first/last) or fewer fields.',
                mutation,
              ),
            ],
          },
          cost,
          current.side.limits,
        );
        return;
      }
      const { value: taken, used } = await withStore(mutation, (s) => s.takeAll(sides));
      operations.inc({ tier: principal.tier, outcome: taken.allowed ? 'allowed' : 'throttled' });
      if (!taken.allowed) {
        const costOf = (bound: { side: Side; available: number }) => ({
          requestedQueryCost: requested,
          actualQueryCost: null,
          throttleStatus: status(bound),
        });
        const { bound, error } = throttled(config, role, sides, taken, 'this operation', (b) => ({
          cost: costOf(b),
        }));
        stop({ errors: [error] }, costOf(bound), bound.side.limits);
        return;
      }
      return {
        onExecuteDone({ result, setResult }) {
          if (!('data' in result)) return; // a stream: not used (no @defer / @stream)
          // An error may have nulled a root field after others ran: no refund then. Lists longer
          // than estimated are charged beyond the request (the bucket may go below zero).
          const actual =
            result.errors?.length || !result.data
              ? Math.max(requested, planActualCost(schema, plan, result.data))
              : planActualCost(schema, plan, result.data);
          points.inc({ tier: principal.tier }, actual);
          if (requested > 0) options.requests.count(subject, actual);
          const settle = (after: { available: number }) => {
            const bound = binding(sides, {
              allowed: true,
              available: [after.available, taken.available[1]],
            });
            const cost: CostExtension = {
              requestedQueryCost: requested,
              actualQueryCost: actual,
              throttleStatus: status(bound),
            };
            if (request) costs.set(request, { cost, limits: bound.side.limits });
            setResult({ ...result, extensions: { ...result.extensions, cost } });
          };
          // Settled with the store that took (a fallback's points never go to Redis); only the
          // tier's bucket is in points, the role's counted the request. Most operations cost what
          // was asked: settled at once, without a promise.
          const tier = { allowed: true, available: taken.available[0] };
          if (actual === requested) return settle(tier);
          const change =
            actual < requested
              ? used.refund(subject.bucket, limits, requested - actual)
              : used.charge(subject.bucket, limits, actual - requested);
          return change.catch(() => tier).then(settle);
        },
      };
    },
    // A subscription costs its selection once per event: taken when it starts and at every event.
    // An event the bucket cannot pay is replaced by a RATE_LIMITED error; the stream goes on.
    async onSubscribe({ args, setResultAndStopExecution }) {
      const principal: Principal | null = args.contextValue.principal;
      if (!config.enabled || !principal) return;
      const plan = planOf(args.document, args.variableValues, args.operationName);
      if (!plan) return;
      const limits = bucketLimits(config, principal);
      const { bucket } = rateSubject(principal);
      const perEvent = plan.requested;
      const max = Math.min(limits.capacity, config.maxQueryCost);
      const refuse = (error: ReturnType<typeof appError>) =>
        setResultAndStopExecution({ errors: [error] });
      if (perEvent > max) {
        operations.inc({ tier: principal.tier, outcome: 'too_complex' });
        return refuse(
          appError(
            'QUERY_TOO_COMPLEX',
            `Each event of this subscription may cost ${perEvent} points; at most ${max} are allowed.`,
            { extensions: { cost: perEvent, limit: max } },
          ),
        );
      }
      // Starting is a request for the key role's bucket too; events spend the tier's points only.
      const role = roleBucket(config, principal);
      const started = (
        await withStore(false, (s) =>
          s.takeAll([
            { key: bucket, limits, cost: perEvent },
            { key: role.key, limits: role.limits, cost: 1 },
          ]),
        )
      ).value;
      const first = { allowed: started.allowed, available: started.available[0] };
      operations.inc({ tier: principal.tier, outcome: first.allowed ? 'allowed' : 'throttled' });
      if (!first.allowed)
        return refuse(
          appError(
            'RATE_LIMITED',
            first.available >= perEvent
              ? `Throttled: ${role.role} keys may make ${config.roles[role.role].perMinute} requests a minute (bursts of ${role.limits.capacity}) and none are left.`
              : `Throttled: each event of this subscription costs ${perEvent} points and ${Math.floor(first.available)} are available.`,
          ),
        );
      const charge = new SubscriptionCharge(
        charger,
        principal.tier,
        bucket,
        limits,
        perEvent,
        first,
      );
      return {
        // A pushed subscription (ws.ts) is charged by its transport per event (Feed.charge);
        // a stream (SSE) here.
        onSubscribeResult({ result }) {
          if (result instanceof Feed) {
            result.charge = charge;
            return;
          }
          return {
            async onNext({ result: event, setResult }) {
              const paid = await charge.pay(event);
              if (paid !== event) setResult(paid);
            },
          };
        },
      };
    },
    onResponse({ request, response }) {
      const spent = costs.get(request);
      if (!spent) return;
      const { cost, limits } = spent;
      const headers = rateLimitHeaders(limits, cost.throttleStatus.currentlyAvailable);
      for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
    },
  };
}
