import { METRICS } from './metrics';
import {
  breaches,
  levelOf,
  nextState,
  shouldNotify,
  warningProblem,
  type RuleSettings,
} from './rules';

const rule = (over: Partial<RuleSettings> = {}): RuleSettings => ({
  operator: 'GT',
  threshold: 10,
  warningThreshold: 5,
  minSamples: 1,
  noData: 'KEEP',
  cooldownSeconds: 300,
  ...over,
});

test('operators', () => {
  expect([
    breaches(11, 'GT', 10),
    breaches(10, 'GT', 10),
    breaches(10, 'GTE', 10),
    breaches(9, 'LT', 10),
    breaches(10, 'LTE', 10),
    breaches(10, 'EQ', 10),
    breaches(10, 'NEQ', 10),
  ]).toEqual([true, false, true, true, true, true, false]);
});

test('levels: alert threshold, warning threshold, too few samples and no data', () => {
  expect(levelOf(rule(), 11, 3)).toBe('FIRING');
  expect(levelOf(rule(), 6, 3)).toBe('WARNING');
  expect(levelOf(rule(), 5, 3)).toBe('OK');
  expect(levelOf(rule({ minSamples: 5 }), 100, 4)).toBeNull();
  expect(levelOf(rule({ noData: 'OK' }), null, 0)).toBe('OK');
  expect(levelOf(rule({ noData: 'FIRING' }), null, 0)).toBe('FIRING');
  expect(levelOf(rule({ operator: 'LT', threshold: 0.5, warningThreshold: 0.8 }), 0.7, 10)).toBe(
    'WARNING',
  );
});

test('state moves OK → WARNING → FIRING → RESOLVED, and back to OK from a warning', () => {
  expect(nextState('OK', 'WARNING')).toBe('WARNING');
  expect(nextState('WARNING', 'FIRING')).toBe('FIRING');
  expect(nextState('FIRING', 'FIRING')).toBeNull();
  expect(nextState('FIRING', 'WARNING')).toBe('RESOLVED');
  expect(nextState('FIRING', 'OK')).toBe('RESOLVED');
  expect(nextState('RESOLVED', 'OK')).toBeNull();
  expect(nextState('RESOLVED', 'WARNING')).toBe('WARNING');
  expect(nextState('WARNING', 'OK')).toBe('OK');
  expect(nextState('OK', 'OK')).toBeNull();
  expect(nextState('FIRING', null)).toBeNull();
});

test('cooldown holds back repeated warnings and firings, never a worse state', () => {
  const now = new Date('2026-01-01T00:10:00Z');
  const ago = (s: number) => new Date(now.getTime() - s * 1000);
  expect(
    shouldNotify(
      'FIRING',
      { lastFiredAt: ago(100), lastWarnedAt: null, stateNotified: false },
      300,
      now,
    ),
  ).toBe(false);
  expect(
    shouldNotify(
      'FIRING',
      { lastFiredAt: ago(301), lastWarnedAt: null, stateNotified: false },
      300,
      now,
    ),
  ).toBe(true);
  expect(
    shouldNotify(
      'FIRING',
      { lastFiredAt: null, lastWarnedAt: ago(10), stateNotified: true },
      300,
      now,
    ),
  ).toBe(true);
  expect(
    shouldNotify(
      'WARNING',
      { lastFiredAt: ago(10), lastWarnedAt: null, stateNotified: false },
      300,
      now,
    ),
  ).toBe(false);
  expect(
    shouldNotify(
      'RESOLVED',
      { lastFiredAt: ago(10), lastWarnedAt: null, stateNotified: false },
      300,
      now,
    ),
  ).toBe(false);
  expect(
    shouldNotify(
      'RESOLVED',
      { lastFiredAt: ago(10), lastWarnedAt: null, stateNotified: true },
      300,
      now,
    ),
  ).toBe(true);
});

test('warning thresholds come before the alert threshold', () => {
  expect(warningProblem('GT', 10, 5)).toBeNull();
  expect(warningProblem('GT', 10, 15)).toMatch(/below/);
  expect(warningProblem('LTE', 0.5, 0.8)).toBeNull();
  expect(warningProblem('EQ', 1, 2)).toMatch(/ordering/);
  expect(METRICS.ERROR_RATE.aggregations).toEqual(['AVG']);
});

test('ANOMALY levels: outside the baseline fires, inside is OK, without a baseline the state stays', () => {
  const anomaly = rule({ operator: 'ANOMALY', threshold: null, warningThreshold: null });
  const baseline = { median: 10, mad: 1, lower: 7, upper: 13, periods: 7 };
  expect(levelOf(anomaly, 14, 5, baseline)).toBe('FIRING');
  expect(levelOf(anomaly, 6, 5, baseline)).toBe('FIRING');
  expect(levelOf(anomaly, 12, 5, baseline)).toBe('OK');
  expect(levelOf(anomaly, 100, 5, null)).toBeNull();
  expect(levelOf({ ...anomaly, noData: 'OK' }, null, 0, baseline)).toBe('OK');
  expect(warningProblem('ANOMALY', 0, 3)).toMatch(/no warning/);
});
