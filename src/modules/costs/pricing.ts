// Which price applies to a model call, and what the call cost. Pure: the price lists come in as
// arguments. Money is Decimal throughout (prices are USD per 1M tokens).
import Decimal from 'decimal.js';

export interface Price {
  /** Null for a built-in price. */
  projectId: string | null;
  /** A normalised model name, matched exactly, unless matchPattern is set. */
  modelName: string;
  /** A regular expression over the normalised (or the raw lower-cased) model name. */
  matchPattern: string | null;
  startDate: Date;
  inputPrice: Decimal.Value;
  outputPrice: Decimal.Value;
  cachedInputPrice: Decimal.Value | null;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
}

export interface Cost {
  inputCost: Decimal;
  outputCost: Decimal;
  cachedInputCost: Decimal;
  totalCost: Decimal;
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

/** The prices of each tier that could apply to `model`, at any date (to look up dates in a smaller list). */
export function candidatePrices(model: string, tiers: readonly (readonly Price[])[], patterns: PatternCache): Price[][] {
  const raw = model.trim().toLowerCase();
  const family = normaliseModelName(model);
  return tiers.map((prices) => prices.filter((price) => matchRank(price, raw, family, patterns) > 0));
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
  const raw = model.trim().toLowerCase();
  const family = normaliseModelName(model);
  for (const prices of tiers) {
    let best: Price | null = null;
    let bestRank = 0;
    for (const price of prices) {
      if (price.startDate.getTime() > at.getTime()) continue;
      const rank = matchRank(price, raw, family, patterns);
      if (rank === 0) continue;
      const newer = best === null || price.startDate.getTime() > best.startDate.getTime();
      const sameDateBetter = best !== null && price.startDate.getTime() === best.startDate.getTime() && rank > bestRank;
      if (newer || sameDateBetter) {
        best = price;
        bestRank = rank;
      }
    }
    if (best) return best;
  }
  return null;
}

const PER_MILLION = new Decimal(1_000_000);

/**
 * Cost of a call. Cached input tokens are part of the input tokens (OpenAI and OTel count them
 * so) and are billed at the cached price when there is one.
 */
export function computeCost(usage: Usage, price: Price): Cost {
  const cached = Math.min(usage.cachedInputTokens, usage.inputTokens);
  const cachedPrice = price.cachedInputPrice ?? price.inputPrice;
  const inputCost = new Decimal(usage.inputTokens - cached).mul(price.inputPrice).div(PER_MILLION);
  const cachedInputCost = new Decimal(cached).mul(cachedPrice).div(PER_MILLION);
  const outputCost = new Decimal(usage.outputTokens).mul(price.outputPrice).div(PER_MILLION);
  return {
    inputCost: inputCost.add(cachedInputCost),
    cachedInputCost,
    outputCost,
    totalCost: inputCost.add(cachedInputCost).add(outputCost),
  };
}
