import { fromUnits, toUnits } from '../../lib/money';
import { BUILTIN_PRICES, builtinPrices } from './builtin-prices';
import { normaliseModelName } from '../../lib/model-name';
import { computeCost, findPrice } from './pricing';

const NOW = new Date('2025-11-01T00:00:00Z');
const FAR_FUTURE = new Date('2100-01-01T00:00:00Z');
const usd = (v: string | null) => (v === null ? null : fromUnits(toUnits(v)));
const familyOf = (model: string, at: Date = NOW) =>
  findPrice(model, at, [builtinPrices()])?.modelName ?? null;

function isValidDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

describe('built-in prices', () => {
  const families = [...new Set(BUILTIN_PRICES.map((p) => p.modelName))];

  it('covers at least 40 model families from all six providers', () => {
    expect(families.length).toBeGreaterThanOrEqual(40);
    const providers = new Set(BUILTIN_PRICES.map((p) => p.provider));
    expect([...providers].sort()).toEqual([
      'anthropic',
      'cohere',
      'google',
      'meta',
      'mistral',
      'openai',
    ]);
    for (const provider of providers) {
      expect(BUILTIN_PRICES.filter((p) => p.provider === provider).length).toBeGreaterThanOrEqual(
        5,
      );
    }
  });

  it('has well-formed names, patterns, prices and dates', () => {
    expect(isValidDate('2025-02-30')).toBe(false);
    for (const p of BUILTIN_PRICES) {
      expect({ model: p.modelName, normalised: normaliseModelName(p.modelName) }).toEqual({
        model: p.modelName,
        normalised: p.modelName,
      });
      if (p.matchPattern !== undefined) {
        expect(() => new RegExp(p.matchPattern!, 'i')).not.toThrow();
        expect({
          model: p.modelName,
          selfMatch: new RegExp(p.matchPattern, 'i').test(p.modelName),
        }).toEqual({ model: p.modelName, selfMatch: true });
      }
      for (const value of [p.input, p.output, p.cachedInput ?? '0']) {
        expect(typeof value).toBe('string');
        expect(value).toMatch(/^\d+(\.\d+)?$/);
      }
      // A cache read is always cheaper than an uncached input token.
      if (p.cachedInput !== null) expect(toUnits(p.cachedInput) < toUnits(p.input)).toBe(true);
      expect(toUnits(p.input) > 0n).toBe(true);
      expect([p.modelName, isValidDate(p.startDate), isValidDate(p.sourceDate)]).toEqual([
        p.modelName,
        true,
        true,
      ]);
      expect(p.sourceDate >= p.startDate).toBe(true);
    }
  });

  it('has no duplicate (modelName, startDate) pair', () => {
    const keys = BUILTIN_PRICES.map((p) => `${p.modelName}@${p.startDate}`);
    const duplicates = keys.filter((k, i) => keys.indexOf(k) !== i);
    expect(duplicates).toEqual([]);
  });

  it('has patterns that match no other family, so every family resolves to itself', () => {
    for (const p of BUILTIN_PRICES) {
      if (p.matchPattern === undefined) continue;
      const re = new RegExp(p.matchPattern, 'i');
      expect({
        pattern: p.matchPattern,
        matches: families.filter((f) => f !== p.modelName && re.test(f)),
      }).toEqual({ pattern: p.matchPattern, matches: [] });
    }
    for (const family of families) expect(familyOf(family, FAR_FUTURE)).toBe(family);
  });

  it('returns Price objects equal to the table', () => {
    const prices = builtinPrices();
    expect(prices).toHaveLength(BUILTIN_PRICES.length);
    expect(Object.isFrozen(prices)).toBe(true); // callers may not corrupt the cache
    expect(Object.isFrozen(prices[0])).toBe(true);
    expect(builtinPrices()[0]).toBe(prices[0]);
    const o3 = prices.filter((p) => p.modelName === 'o3');
    expect(
      o3.map((p) => [
        p.projectId,
        p.matchPattern,
        p.startDate.toISOString(),
        usd(p.inputPrice),
        usd(p.outputPrice),
        usd(p.cachedInputPrice),
      ]),
    ).toEqual([
      [null, null, '1970-01-01T00:00:00.000Z', '10', '40', '2.5'],
      [null, null, '2025-06-10T00:00:00.000Z', '2', '8', '0.5'],
    ]);
  });

  it.each([
    ['gpt-4o-2024-08-06', 'gpt-4o'],
    ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['openai/gpt-4.1-mini', 'gpt-4.1-mini'],
    ['gpt-4.1-nano-2025-04-14', 'gpt-4.1-nano'],
    ['gpt-5-mini-2025-08-07', 'gpt-5-mini'],
    ['gpt-5-chat-latest', 'gpt-5-chat'],
    ['o3-mini-2025-01-31', 'o3-mini'],
    ['o1-preview-2024-09-12', 'o1'],
    ['gpt-4-0613', 'gpt-4'],
    ['gpt-4-1106-preview', 'gpt-4-turbo'],
    ['gpt-4-0125-preview', 'gpt-4-turbo'],
    ['gpt-4-turbo-2024-04-09', 'gpt-4-turbo'],
    ['gpt-3.5-turbo-0125', 'gpt-3.5-turbo'],
    ['gpt-35-turbo', 'gpt-3.5-turbo'],
    ['text-embedding-ada-002', 'text-embedding-ada'],
    ['claude-3-5-sonnet-20241022', 'claude-3-5-sonnet'],
    ['anthropic.claude-3-5-sonnet-20241022-v2:0', 'claude-3-5-sonnet'],
    ['claude-3-5-sonnet-v2@20241022', 'claude-3-5-sonnet'],
    ['anthropic/claude-3.5-sonnet:beta', 'claude-3-5-sonnet'],
    ['claude-sonnet-4-5-20250929', 'claude-sonnet-4-5'],
    ['claude-sonnet-4-20250514', 'claude-sonnet-4'],
    ['claude-opus-4-0', 'claude-opus-4'],
    ['claude-opus-4-1-20250805', 'claude-opus-4-1'],
    ['claude-3-5-haiku-latest', 'claude-3-5-haiku'],
    ['models/gemini-1.5-pro-002', 'gemini-1.5-pro'],
    ['gemini-2.5-flash-lite-preview-06-17', 'gemini-2.5-flash-lite'],
    ['gemini-2.5-flash-preview-09-2025', 'gemini-2.5-flash'],
    ['gemini-2.0-flash-001', 'gemini-2.0-flash'],
    ['mistral-large-2411', 'mistral-large'],
    ['mistral-large-latest', 'mistral-large'],
    ['ministral-8b-2410', 'ministral-8b'],
    ['mistralai/Mistral-Nemo-Instruct-2407', 'open-mistral-nemo'],
    ['command-r-plus-08-2024', 'command-r-plus'],
    ['cohere.command-r-plus-v1:0', 'command-r-plus'],
    ['command-r-08-2024', 'command-r'],
    ['cohere.embed-english-v3', 'embed-english-v3.0'],
    ['meta-llama/Llama-3.3-70B-Instruct-Turbo', 'llama-3.3-70b'],
    ['meta.llama3-3-70b-instruct-v1:0', 'llama-3.3-70b'],
    ['accounts/fireworks/models/llama-v3p3-70b-instruct', 'llama-3.3-70b'],
    ['meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo', 'llama-3.1-405b'],
    ['meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo', 'llama-3.1-70b'],
    ['llama-3.1-8b-instant', 'llama-3.1-8b'],
    ['meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8', 'llama-4-maverick'],
    ['meta-llama/llama-4-scout-17b-16e-instruct', 'llama-4-scout'],
  ])('finds the family of %s (%s)', (model, family) => {
    expect(familyOf(model)).toBe(family);
  });

  it('finds nothing for unknown models', () => {
    expect(familyOf('my-own-finetune')).toBeNull();
    expect(familyOf('llama-3-70b')).toBeNull(); // Llama 3 (not 3.1 / 3.3) is not priced
  });

  it('picks the price in force at the time of the call', () => {
    const at = (model: string, iso: string) => {
      const p = findPrice(model, new Date(iso), [builtinPrices()]);
      return p && [usd(p.inputPrice), usd(p.outputPrice), usd(p.cachedInputPrice)];
    };
    expect(at('o3-2025-04-16', '2025-06-09T23:59:59Z')).toEqual(['10', '40', '2.5']);
    expect(at('o3-2025-04-16', '2025-06-10T00:00:00Z')).toEqual(['2', '8', '0.5']);
    expect(at('o3', '2025-11-01T00:00:00Z')).toEqual(['2', '8', '0.5']);
    expect(at('gpt-4o', '2024-07-01T00:00:00Z')).toEqual(['5', '15', null]);
    expect(at('gpt-4o-2024-08-06', '2024-09-01T00:00:00Z')).toEqual(['2.5', '10', '1.25']);
    expect(at('gemini-1.5-pro-002', '2024-09-30T12:00:00Z')).toEqual(['3.5', '10.5', null]);
    expect(at('gemini-1.5-pro-002', '2024-10-01T00:00:00Z')).toEqual(['1.25', '5', '0.3125']);
    // GPT-4 Turbo did not exist before DevDay; its preview names price as GPT-4 Turbo after it.
    expect(at('gpt-4-1106-preview', '2023-11-07T00:00:00Z')).toEqual(['10', '30', null]);
  });

  it('computes the cost of a gpt-4o call with cached input', () => {
    const usage = { inputTokens: 1_000_000, cachedInputTokens: 200_000, outputTokens: 500_000 };
    // Now: 800k × $2.50/M = $2.00, 200k cached × $1.25/M = $0.25, 500k × $10/M = $5.00.
    const current = computeCost(usage, findPrice('gpt-4o-2024-08-06', NOW, [builtinPrices()])!);
    expect(usd(current.cachedInputCost)).toBe('0.25');
    expect(usd(current.inputCost)).toBe('2.25');
    expect(usd(current.outputCost)).toBe('5');
    expect(usd(current.totalCost)).toBe('7.25');
    // Before 2024-08-06: no cached price, so all 1M input at $5/M = $5.00; 500k × $15/M = $7.50.
    const old = computeCost(
      usage,
      findPrice('gpt-4o', new Date('2024-07-01T00:00:00Z'), [builtinPrices()])!,
    );
    expect(usd(old.cachedInputCost)).toBe('1');
    expect(usd(old.inputCost)).toBe('5');
    expect(usd(old.outputCost)).toBe('7.5');
    expect(usd(old.totalCost)).toBe('12.5');
  });
});
