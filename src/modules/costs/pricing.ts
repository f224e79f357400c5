// Which price applies to a model call, and what the call cost. Pure: the price lists come in as
// arguments. Money is exact (integer units, src/lib/money.ts); prices are USD per 1M tokens.
import { normaliseModelName } from '../../lib/model-name';
import { costOfTokens, fromUnits, toUnits } from '../../lib/money';

export interface Price {
  /** Null for a built-in price. */
  projectId: string | null;
  /** A normalised model name, matched exactly, unless matchPattern is set. */
  modelName: string;
  /** A regular expression over the normalised (or the raw lower-cased) model name. */
  matchPattern: string | null;
  startDate: Date;
  /** Decimal strings. */
  inputPrice: string;
  outputPrice: string;
  cachedInputPrice: string | null;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
}

/** USD as decimal strings. */
export interface Cost {
  inputCost: string;
  outputCost: string;
  cachedInputCost: string;
  totalCost: string;
}

// How well a price matches a name: an exact raw name beats a family name beats a pattern.
function matchRank(price: Price, raw: string, family: string, patterns: PatternCache): number {
  if (price.matchPattern === null)
    return price.modelName === raw ? 3 : price.modelName === family ? 2 : 0;
  const re = patterns(price.matchPattern);
  return re && (re.test(family) || re.test(raw)) ? 1 : 0;
}

type PatternCache = (pattern: string) => RegExp | null;

/**
 * The prices of each tier that could apply to `model` at some date, newest first (on the same
 * start date, the closer name match first). Computed once per model; `priceAt` then only
 * compares dates.
 */
export function candidatePrices(
  model: string,
  tiers: readonly (readonly Price[])[],
  patterns: PatternCache,
): Price[][] {
  const raw = model.trim().toLowerCase();
  const family = normaliseModelName(model);
  return tiers.map((prices) =>
    prices
      .map((price) => ({ price, rank: matchRank(price, raw, family, patterns) }))
      .filter((c) => c.rank > 0)
      .sort((a, b) => b.price.startDate.getTime() - a.price.startDate.getTime() || b.rank - a.rank)
      .map((c) => c.price),
  );
}

/** The first tier's newest price that has started by `at` (see candidatePrices). */
export function priceAt(candidates: readonly (readonly Price[])[], at: Date): Price | null {
  const time = at.getTime();
  for (const prices of candidates) {
    const price = prices.find((p) => p.startDate.getTime() <= time);
    if (price) return price;
  }
  return null;
}

/** Compiles each pattern once; a pattern that no longer compiles matches nothing. */
export function createPatternCache(): PatternCache {
  const cache = new Map<string, RegExp | null>();
  return (pattern) => {
    if (!cache.has(pattern)) {
      let re: RegExp | null = null;
      try {
        re = new RegExp(pattern, 'i');
      } catch {
        re = null;
      }
      cache.set(pattern, re);
    }
    return cache.get(pattern)!;
  };
}

/**
 * The price for `model` at time `at`: among the project's prices first, then the built-in ones,
 * the newest whose start date is not after `at` (ties go to the closer name match).
 */
export function findPrice(
  model: string,
  at: Date,
  tiers: readonly (readonly Price[])[],
  patterns: PatternCache = createPatternCache(),
): Price | null {
  return priceAt(candidatePrices(model, tiers, patterns), at);
}

// Prices parsed once per price object (price lists live for a while; a batch prices many spans).
const parsed = new WeakMap<Price, { input: bigint; output: bigint; cached: bigint }>();

function unitsOf(price: Price) {
  let units = parsed.get(price);
  if (!units) {
    const input = toUnits(price.inputPrice);
    units = {
      input,
      output: toUnits(price.outputPrice),
      cached: price.cachedInputPrice === null ? input : toUnits(price.cachedInputPrice),
    };
    parsed.set(price, units);
  }
  return units;
}

/**
 * Cost of a call. Cached input tokens are part of the input tokens (OpenAI and OTel count them
 * so) and are billed at the cached price when there is one; inputCost includes them.
 */
export function computeCost(usage: Usage, price: Price): Cost {
  const units = unitsOf(price);
  const cached = Math.min(usage.cachedInputTokens, usage.inputTokens);
  const cachedInputCost = costOfTokens(cached, units.cached);
  const inputCost = costOfTokens(usage.inputTokens - cached, units.input) + cachedInputCost;
  const outputCost = costOfTokens(usage.outputTokens, units.output);
  return {
    inputCost: fromUnits(inputCost),
    cachedInputCost: fromUnits(cachedInputCost),
    outputCost: fromUnits(outputCost),
    totalCost: fromUnits(inputCost + outputCost),
  };
}
