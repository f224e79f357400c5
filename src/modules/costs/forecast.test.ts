import { computeForecast, historyHours, periodOf, t95 } from './forecast';

const now = new Date('2026-11-20T12:30:00.000Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000);

describe('periods and history', () => {
  it('are the UTC day or month of now, and whole hours back to the first sighting (at most 168)', () => {
    expect(periodOf('DAY', now)).toEqual({
      start: new Date('2026-11-20T00:00:00Z'),
      end: new Date('2026-11-21T00:00:00Z'),
    });
    expect(periodOf('MONTH', new Date('2026-12-31T23:59:59Z'))).toEqual({
      start: new Date('2026-12-01T00:00:00Z'),
      end: new Date('2027-01-01T00:00:00Z'),
    });
    expect(historyHours(now, null)).toBe(0);
    expect(historyHours(now, hoursAgo(2.5))).toBe(3);
    expect(historyHours(now, hoursAgo(0.99))).toBe(1);
    expect(historyHours(now, hoursAgo(-1))).toBe(0);
    expect(historyHours(now, hoursAgo(1000))).toBe(168);
  });

  it("takes Student's t of the nearest tabulated degrees of freedom at or below", () => {
    expect(t95(1)).toBe(6.3138);
    expect(t95(35)).toBe(1.6973);
    expect(t95(167)).toBe(1.654);
  });
});

describe('computeForecast', () => {
  it('projects spent + mean hourly spend × hours remaining, with a t interval', () => {
    // 4 hours of history (the first span 3.2 hours ago): 0.4, 0, 0.2, 0 → mean 0.15,
    // s² = (0.0625 + 0.0225 + 0.0025 + 0.0225) / 3.
    const f = computeForecast({
      horizon: 'DAY',
      now,
      firstSeen: hoursAgo(3.2),
      hours: [
        { h: 0, cost: '0.4', calls: 2, unpriced: 0 },
        { h: 2, cost: '0.2', calls: 1, unpriced: 1 },
        { h: 4, cost: '9', calls: 1, unpriced: 0 }, // before the first sighting (a user's first trace)
      ],
      spent: '1',
    });
    const H = 11.5;
    const s = Math.sqrt(0.11 / 3);
    const margin = 2.3534 * s * Math.sqrt(H + (H * H) / 4);
    expect(f).toMatchObject({
      historyHours: 4,
      ratePerHourUsd: '0.15',
      projected: '2.725', // 1 + 0.15 × 11.5
      unpricedCalls: 1,
      reason: null,
      basedOnFrom: hoursAgo(4),
      basedOnTo: now,
      level: 0.9,
    });
    expect(Number(f.upper)).toBeCloseTo(2.725 + margin, 9);
    expect(Number(f.lower)).toBe(Math.max(1, 2.725 - margin));
  });

  it('gives no forecast, not 0, with too little history or nothing priced', () => {
    const one = computeForecast({
      horizon: 'MONTH',
      now,
      firstSeen: hoursAgo(0.5),
      hours: [{ h: 0, cost: '1', calls: 1, unpriced: 0 }],
      spent: '1',
    });
    expect(one).toMatchObject({ reason: 'TOO_LITTLE_HISTORY', projected: null, spentSoFar: '1' });
    const unpriced = computeForecast({
      horizon: 'DAY',
      now,
      firstSeen: hoursAgo(10),
      hours: [{ h: 3, cost: null, calls: 2, unpriced: 2 }],
      spent: null,
    });
    expect(unpriced).toMatchObject({
      reason: 'UNPRICED',
      projected: null,
      lower: null,
      upper: null,
    });
  });
});
