import { sloWindow } from './slo';

test('value, error budget left and burn rate', () => {
  // 99.9 %: 10,000 requests allow 10 failures; 5 spent half the budget (burn rate 0.5).
  expect(sloWindow('1h', 0.999, 9_995, 10_000)).toEqual({
    window: '1h',
    good: 9_995,
    total: 10_000,
    value: 0.9995,
    errorBudgetRemaining: expect.closeTo(0.5, 9),
    burnRate: expect.closeTo(0.5, 9),
  });
  // 30 failures: three times the budget.
  const over = sloWindow('24h', 0.999, 9_970, 10_000);
  expect(over.burnRate).toBeCloseTo(3, 9);
  expect(over.errorBudgetRemaining).toBeCloseTo(-2, 9);
  expect(sloWindow('1h', 0.99, 0, 0)).toMatchObject({ value: null, burnRate: null });
});
