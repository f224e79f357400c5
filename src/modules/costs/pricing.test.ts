import { computeCost, findPrice, type Price } from './pricing';

const price = (over: Partial<Price>): Price => ({
  projectId: null,
  modelName: 'm',
  matchPattern: null,
  startDate: new Date(0),
  inputPrice: '1',
  outputPrice: '2',
  cachedInputPrice: null,
  ...over,
});

describe('findPrice', () => {
  const at = new Date('2025-06-01T00:00:00Z');

  it('prefers the project tier over the built-in tier, whatever the dates', () => {
    const project = [
      price({
        projectId: 'p',
        modelName: 'gpt-4o',
        inputPrice: '9',
        startDate: new Date('2020-01-01'),
      }),
    ];
    const builtin = [
      price({ modelName: 'gpt-4o', inputPrice: '2.5', startDate: new Date('2024-08-06') }),
    ];
    expect(findPrice('gpt-4o-2024-08-06', at, [project, builtin])?.inputPrice).toBe('9');
    expect(findPrice('gpt-4o-2024-08-06', at, [[], builtin])?.inputPrice).toBe('2.5');
  });

  it('takes the newest price that has started, and none before the first', () => {
    const prices = [
      price({ modelName: 'o3', inputPrice: '10' }),
      price({ modelName: 'o3', inputPrice: '2', startDate: new Date('2025-06-10') }),
    ];
    expect(findPrice('o3', new Date('2025-06-09T23:59:59Z'), [prices])?.inputPrice).toBe('10');
    expect(findPrice('o3', new Date('2025-06-10T00:00:00Z'), [prices])?.inputPrice).toBe('2');
    expect(
      findPrice('o3', new Date('2025-06-10'), [
        [price({ modelName: 'o3', startDate: new Date('2030-01-01') })],
      ]),
    ).toBeNull();
  });

  it('on the same start date, an exact raw name beats the family, which beats a pattern', () => {
    const prices = [
      price({ modelName: 'any-gpt', matchPattern: '^gpt-4o', inputPrice: '3' }),
      price({ modelName: 'gpt-4o', inputPrice: '2' }),
      price({ modelName: 'gpt-4o-2024-05-13', inputPrice: '5' }),
    ];
    expect(findPrice('gpt-4o-2024-05-13', at, [prices])?.inputPrice).toBe('5');
    expect(findPrice('gpt-4o-2024-08-06', at, [prices])?.inputPrice).toBe('2');
    expect(findPrice('gpt-4o-realtime', at, [prices])?.inputPrice).toBe('3');
  });

  it('ignores a pattern that does not compile', () => {
    expect(findPrice('x', at, [[price({ modelName: 'broken', matchPattern: '(' })]])).toBeNull();
  });
});

describe('computeCost', () => {
  it('bills cached input at the cached price, exactly', () => {
    const cost = computeCost(
      { inputTokens: 1234, cachedInputTokens: 234, outputTokens: 77 },
      price({ inputPrice: '2.5', outputPrice: '10', cachedInputPrice: '1.25' }),
    );
    // 1000 × 2.5 = 2500; 234 × 1.25 = 292.5; 77 × 10 = 770 (per 1M)
    expect(cost.inputCost).toBe('0.0027925');
    expect(cost.cachedInputCost).toBe('0.0002925');
    expect(cost.outputCost).toBe('0.00077');
    expect(cost.totalCost).toBe('0.0035625');
  });

  it('uses the input price for cached tokens when there is no cached price, and never counts more cached than input', () => {
    const cost = computeCost(
      { inputTokens: 10, cachedInputTokens: 50, outputTokens: 0 },
      price({ inputPrice: '3' }),
    );
    expect(cost.totalCost).toBe('0.00003');
  });
});
