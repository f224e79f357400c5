// Prices and spend: which price a call gets, what it cost, and totals over time.
import { LRUCache } from 'lru-cache';
import type { Deps } from '../../deps';
import type { Prisma } from '../../generated/prisma/client';
import { builtinPrices } from './builtin-prices';
import { computeForecast, periodOf, type ForecastHorizon } from './forecast';
import { readForecastSeries } from './forecast-sql';
import {
  candidatePrices,
  computeCost,
  createPatternCache,
  priceAt,
  type Cost,
  type Price,
  type Usage,
} from './pricing';
import * as repo from './repo';

/** Where a computed cost's price came from (a cost the client sent is PROVIDED: traces/service.ts). */
export type PricedCost = Cost & { source: 'TABLE' | 'DEFAULT' };

/** A project's prices are re-read at most this often (other processes' changes show within it). */
const PRICE_TTL_MS = 10_000;
const MAX_MODELS_PER_PRICER = 1_000;
/** The pricer cache's key of the judge pricer (project ids are UUIDs). */
const JUDGE_PRICER = 'judge';

export function createCostService(deps: Deps) {
  const { prisma } = deps.db;
  const patterns = createPatternCache();
  // EVALGRAPH_DEFAULT_MODEL_PRICE, for models no price of the table matches.
  const configured = deps.config.costs.defaultModelPrice;
  const defaultPrice: Price | null = configured && {
    projectId: null,
    modelName: '*',
    matchPattern: null,
    startDate: new Date(0),
    ...configured,
  };
  const projectPriceCache = new LRUCache<string, Price[]>({ max: 1_000, ttl: PRICE_TTL_MS });
  type Pricer = (model: string, usage: Usage, at: Date) => PricedCost | null;
  const pricerCache = new LRUCache<string, Pricer>({ max: 1_000, ttl: PRICE_TTL_MS });
  const forget = (projectId: string) => {
    projectPriceCache.delete(projectId);
    pricerCache.delete(projectId);
  };

  /** Prices from the first of `tiers` that knows the model (a project's own, then the built-in), else the default price. */
  function pricerOf(tiers: (readonly Price[])[]): Pricer {
    const candidates = new Map<string, Price[][]>();
    return (model: string, usage: Usage, at: Date): PricedCost | null => {
      let narrowed = candidates.get(model);
      if (!narrowed) {
        // Model names come from clients: bound what one project can make us remember.
        if (candidates.size >= MAX_MODELS_PER_PRICER) candidates.clear();
        candidates.set(model, (narrowed = candidatePrices(model, tiers, patterns)));
      }
      const price = priceAt(narrowed, at);
      if (price) return { ...computeCost(usage, price), source: 'TABLE' };
      return defaultPrice && { ...computeCost(usage, defaultPrice), source: 'DEFAULT' };
    };
  }

  async function pricesOf(projectId: string): Promise<Price[]> {
    const cached = projectPriceCache.get(projectId);
    if (cached) return cached;
    const prices = await repo.projectPrices(prisma, projectId);
    projectPriceCache.set(projectId, prices);
    return prices;
  }

  return {
    /**
     * A pricer for one project: model + usage + time → cost, or null when no price is known (the
     * table's, else the default price when one is configured: spans, judge and generation calls
     * alike). Prices apply when a call is priced; a later price change does not reprice it. Kept
     * as long as the project's prices, so repeated callers (the evaluation worker prices every
     * judge call) match each model name once.
     */
    async pricer(projectId: string) {
      const cached = pricerCache.get(projectId);
      if (cached) return cached;
      const pricer = pricerOf([await pricesOf(projectId), builtinPrices()]);
      pricerCache.set(projectId, pricer);
      return pricer;
    },

    /**
     * The pricer of judge calls (and generated outputs): the instance's table (and default price)
     * alone. Quotas and
     * budgets an instance admin sets bound judge spending; a project's own prices, which its
     * admins may set to anything, would let them price their judge calls at nothing.
     */
    judgePricer() {
      const cached = pricerCache.get(JUDGE_PRICER);
      if (cached) return cached;
      const pricer = pricerOf([builtinPrices()]);
      pricerCache.set(JUDGE_PRICER, pricer);
      return pricer;
    },

    /** A project's own prices, as stored (uncached: for listing). */
    listProjectPrices: (projectId: string) => repo.projectPrices(prisma, projectId),

    async upsertPrice(input: repo.PriceInput) {
      const row = await repo.upsertPrice(prisma, input);
      forget(input.projectId);
      return row;
    },

    /** `within`: more writes of the same transaction, when a price was deleted (its audit entry). */
    async deletePrice(
      projectId: string,
      id: string,
      within?: (tx: Prisma.TransactionClient) => Promise<void>,
    ) {
      const count = await prisma.$transaction(async (tx) => {
        const deleted = (await repo.deletePrice(tx, projectId, id)).count;
        if (deleted) await within?.(tx);
        return deleted;
      });
      forget(projectId);
      return count > 0;
    },

    summarise: (query: repo.CostQuery) =>
      repo.summariseCosts(deps.db.query, query, deps.config.rollups.enabled),

    /** Spend to the end of the UTC day or month, as of the business clock (costs/forecast.ts). */
    async forecast(input: { projectId: string; userId: string | null; horizon: ForecastHorizon }) {
      const now = deps.clock.now();
      const series = await readForecastSeries(deps.db.query, {
        projectId: input.projectId,
        userId: input.userId,
        now,
        periodStart: periodOf(input.horizon, now).start,
      });
      return computeForecast({ horizon: input.horizon, now, ...series });
    },

    /**
     * Daily token and cost totals per end user or per project, in UTC days: what usage
     * queries and budgets read.
     */
    dailyTotals(input: { projectIds: string[]; from: Date; to: Date; by: 'USER' | 'PROJECT' }) {
      return repo.summariseCosts(
        deps.db.query,
        {
          ...input,
          groupBy: ['DAY', input.by],
          maxRows: 100_000,
          latency: false,
        },
        deps.config.rollups.enabled,
      );
    },
  };
}

export type CostService = ReturnType<typeof createCostService>;
