// Which price applies to a model call, and what the call cost. Pure: the price lists come in as
// arguments. Money is exact (integer units, src/lib/money.ts); prices are USD per 1M tokens.
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

// Hosting prefixes that come before the model's own name ("us.anthropic.claude-…" on Bedrock).
const VENDOR_DOT_PREFIX = /^((us|eu|apac|us-gov|global)\.)?(anthropic|meta|cohere|mistral|amazon|ai21|google|openai)\./;
const VERSION_SUFFIXES = [
  /-v\d+(:\d+)?$/, // Bedrock: -v2:0
  /-\d{4}-\d{2}-\d{2}$/, // gpt-4o-2024-08-06
  /-\d{2}-\d{4}$/, // command-r-plus-08-2024
  /-\d{8}$/, // claude-3-5-sonnet-20241022
  /-\d{3,4}$/, // gpt-4-0613, mistral-large-2411, gemini-1.5-pro-002
  /-latest$/,
  /-preview(-\d{2}-\d{2})?$/, // gemini-2.5-pro-preview-05-06
  /-exp$/,
];

/**
 * The family name of a model: lower case, without hosting prefixes ("openai/", "models/",
 * "anthropic."), routing suffixes (":free", "@20241022") and version or date suffixes.
 * `gpt-4o-2024-08-06` → `gpt-4o`, `anthropic.claude-3-5-sonnet-20241022-v2:0` → `claude-3-5-sonnet`.
 */
export function normaliseModelName(model: string): string {
  let name = model.trim().toLowerCase();
  name = name.slice(name.lastIndexOf('/') + 1).replace(VENDOR_DOT_PREFIX, '');
  name = name.replace(/@.*$/, '');
  name = name.replace(/-v\d+:\d+$/, '').replace(/:.*$/, '');
  // Claude's versions are written with dots by some routers (claude-3.5-sonnet).
  if (name.startsWith('claude-')) name = name.replace(/(\d)\.(\d)/g, '$1-$2');
  for (let changed = true; changed; ) {
    changed = false;
    for (const suffix of VERSION_SUFFIXES) {
      const next = name.replace(suffix, '');
      if (next !== name && next.length > 0) {
        name = next;
        changed = true;
      }
    }
  }
  return name;
}

// How well a price matches a name: an exact raw name beats a family name beats a pattern.
function matchRank(price: Price, raw: string, family: string, patterns: PatternCache): number {
  if (price.matchPattern === null) return price.modelName === raw ? 3 : price.modelName === family ? 2 : 0;
  const re = patterns(price.matchPattern);
  return re && (re.test(family) || re.test(raw)) ? 1 : 0;
}

type PatternCache = (pattern: string) => RegExp | null;

/**
 * The prices of each tier that could apply to `model` at some date, newest first (on the same
 * start date, the closer name match first). Computed once per model; `priceAt` then only
 * compares dates.
 */
export function candidatePrices(model: string, tiers: readonly (readonly Price[])[], patterns: PatternCache): Price[][] {
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
    units = { input, output: toUnits(price.outputPrice), cached: price.cachedInputPrice === null ? input : toUnits(price.cachedInputPrice) };
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
