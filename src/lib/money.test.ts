import { costOfTokens, fromUnits, toUnits } from './money';

describe('money', () => {
  it.each(['0', '12.5', '0.000000000001', '-3.25', '123456789.123456789012345678'])(
    'round-trips %s',
    (value) => {
      expect(fromUnits(toUnits(value))).toBe(value);
    },
  );

  it('writes amounts without exponents or trailing zeros', () => {
    expect(fromUnits(toUnits('1.2500'))).toBe('1.25');
    expect(fromUnits(toUnits('00.5'))).toBe('0.5');
    expect(fromUnits(1n)).toBe('0.000000000000000001');
  });

  it('prices tokens exactly', () => {
    // 1234 tokens at $2.50 per 1M = 0.003085
    expect(fromUnits(costOfTokens(1234, toUnits('2.5')))).toBe('0.003085');
    expect(fromUnits(costOfTokens(1, toUnits('0.075')))).toBe('0.000000075');
  });

  it('refuses what is not a plain decimal', () => {
    for (const bad of ['1e-7', 'abc', '', '1.0000000000000000001'])
      expect(() => toUnits(bad)).toThrow();
  });
});
