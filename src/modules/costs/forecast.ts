// Spend to the end of the UTC day or month, projected from the recent hourly rate. Pure: the
// hourly series comes in (forecast-sql.ts reads it in one statement).
//
// Method (HOURLY_MEAN): the history is hours back from now over the last 168 (7 days), or back to
// the hour of the subject's (project's or end user's) first span when that is later, counted
// whole (so the first span's spend is in the rate); hours without calls count as 0. A first span
// under an hour old gives no forecast. Its mean hourly spend is the rate, and
//   projected = spent so far + rate × hours remaining,
// with a 90 % prediction interval for the sum of the remaining hours:
//   ± t(0.95, n − 1) · s · √(H + H²/n)
// (n hours of history, s their standard deviation, H the hours remaining): H·s² is the
// spread of the hours to come, H²·s²/n that of the estimated rate, and Student's t allows for s
// being estimated from few hours. The lower bound is never below what is already spent.
//
// Why this one: it needs only the series one statement returns, is computed exactly by hand, and
// its interval widens honestly with little history. A bootstrap over hours gives the same centre
// and a random interval; a seasonal (hour-of-week) model needs weeks of history that most
// projects do not have. What it assumes: hours are independent and alike. Spend with a strong
// daily cycle or a trend is projected at its weekly average, and the interval is then too narrow.
import { fromUnits, toUnits } from '../../lib/money';

export type ForecastHorizon = 'DAY' | 'MONTH';

/** The interval's level (two-sided). */
export const FORECAST_LEVEL = 0.9;
/** Hours of history at most (7 days). */
export const HISTORY_HOURS = 168;
/** Fewer hours of history (a first span under an hour old) give no forecast: a spread needs two. */
export const MIN_HISTORY_HOURS = 2;

const HOUR_MS = 3_600_000;

/** Student's t, 0.95 quantile, by degrees of freedom (scipy.stats.t.ppf(0.95, df), 4 places). */
const T95: [df: number, t: number][] = [
  [1, 6.3138],
  [2, 2.92],
  [3, 2.3534],
  [4, 2.1318],
  [5, 2.015],
  [6, 1.9432],
  [7, 1.8946],
  [8, 1.8595],
  [9, 1.8331],
  [10, 1.8125],
  [11, 1.7959],
  [12, 1.7823],
  [13, 1.7709],
  [14, 1.7613],
  [15, 1.7531],
  [16, 1.7459],
  [17, 1.7396],
  [18, 1.7341],
  [19, 1.7291],
  [20, 1.7247],
  [21, 1.7207],
  [22, 1.7171],
  [23, 1.7139],
  [24, 1.7109],
  [25, 1.7081],
  [26, 1.7056],
  [27, 1.7033],
  [28, 1.7011],
  [29, 1.6991],
  [30, 1.6973],
  [40, 1.6839],
  [60, 1.6706],
  [80, 1.6641],
  [100, 1.6602],
  [120, 1.6577],
  [HISTORY_HOURS - 1, 1.654],
];

/** t for `df` degrees of freedom: between two tabulated ones, the fewer (a wider interval). */
export function t95(df: number): number {
  let t = T95[0][1];
  for (const [d, value] of T95) if (d <= df) t = value;
  return t;
}

/** The UTC day or month that contains `now`. */
export function periodOf(horizon: ForecastHorizon, now: Date): { start: Date; end: Date } {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  if (horizon === 'MONTH')
    return { start: new Date(Date.UTC(y, m, 1)), end: new Date(Date.UTC(y, m + 1, 1)) };
  const d = now.getUTCDate();
  return { start: new Date(Date.UTC(y, m, d)), end: new Date(Date.UTC(y, m, d + 1)) };
}

/** Hours of history: back from now to the hour of the first sighting, at most HISTORY_HOURS. */
export function historyHours(now: Date, firstSeen: Date | null): number {
  if (!firstSeen || firstSeen > now) return 0;
  return Math.min(HISTORY_HOURS, Math.floor((now.getTime() - firstSeen.getTime()) / HOUR_MS) + 1);
}

/** One hour of the series: hour `h` covers [now − (h + 1) hours, now − h hours). */
export interface HourSpend {
  h: number;
  /** Priced spend (USD decimal); null when no call of the hour was priced. */
  cost: string | null;
  calls: number;
  unpriced: number;
}

export interface ForecastInput {
  horizon: ForecastHorizon;
  now: Date;
  /** The subject's first span (a user's: first trace), or null if none. */
  firstSeen: Date | null;
  /** Hours with calls; others spent nothing. Hours beyond the history are ignored. */
  hours: HourSpend[];
  /** Priced spend of the period so far; null when no call was priced and some needed a price. */
  spent: string | null;
}

export type ForecastReason = 'TOO_LITTLE_HISTORY' | 'UNPRICED';

export interface Forecast {
  horizon: ForecastHorizon;
  periodStart: Date;
  periodEnd: Date;
  spentSoFar: string | null;
  projected: string | null;
  lower: string | null;
  upper: string | null;
  ratePerHourUsd: string | null;
  /** Why there is no forecast; null when there is one. */
  reason: ForecastReason | null;
  historyHours: number;
  basedOnFrom: Date;
  basedOnTo: Date;
  /** Calls of the history that could not be priced (left out of the rate). */
  unpricedCalls: number;
  level: number;
  asOf: Date;
}

const ROUND = 10n ** 8n; // units are 1e-18 USD; forecasts keep 10 decimals, as costs are stored
const round = (units: bigint) => fromUnits(((units + ROUND / 2n) / ROUND) * ROUND);
const toFloat = (units: bigint) => Number(units) / 1e18;
const fromFloat = (usd: number) => BigInt(Math.round(usd * 1e10)) * ROUND;

export function computeForecast(input: ForecastInput): Forecast {
  const { now } = input;
  const period = periodOf(input.horizon, now);
  const n = historyHours(now, input.firstSeen);
  const history = input.hours.filter((hour) => hour.h >= 0 && hour.h < n);
  const unpricedCalls = history.reduce((sum, hour) => sum + hour.unpriced, 0);
  const pricedCalls = history.reduce((sum, hour) => sum + hour.calls - hour.unpriced, 0);
  const base = {
    horizon: input.horizon,
    periodStart: period.start,
    periodEnd: period.end,
    spentSoFar: input.spent === null ? null : fromUnits(toUnits(input.spent)),
    historyHours: n,
    basedOnFrom: new Date(now.getTime() - n * HOUR_MS),
    basedOnTo: now,
    unpricedCalls,
    level: FORECAST_LEVEL,
    asOf: now,
  };
  const none = (reason: ForecastReason): Forecast => ({
    ...base,
    projected: null,
    lower: null,
    upper: null,
    ratePerHourUsd: null,
    reason,
  });
  if (n < MIN_HISTORY_HOURS) return none('TOO_LITTLE_HISTORY');
  // A rate from calls none of which could be priced, or a spend so far that is unknown, is not 0.
  if ((pricedCalls === 0 && unpricedCalls > 0) || input.spent === null) return none('UNPRICED');

  const costs = new Array<bigint>(n).fill(0n);
  for (const hour of history) costs[hour.h] = hour.cost === null ? 0n : toUnits(hour.cost);
  const total = costs.reduce((a, b) => a + b, 0n);
  const spent = toUnits(input.spent);
  const remainingMs = BigInt(period.end.getTime() - now.getTime());
  // Exact: spent + (total / n) × remaining hours.
  const projected = spent + (total * remainingMs) / (BigInt(n) * BigInt(HOUR_MS));

  const mean = toFloat(total) / n;
  const variance = costs.reduce((sum, c) => sum + (toFloat(c) - mean) ** 2, 0) / (n - 1);
  const H = Number(remainingMs) / HOUR_MS;
  const margin = fromFloat(t95(n - 1) * Math.sqrt(variance) * Math.sqrt(H + (H * H) / n));
  const lower = projected - margin > spent ? projected - margin : spent;
  return {
    ...base,
    projected: round(projected),
    lower: round(lower),
    upper: round(projected + margin),
    ratePerHourUsd: round(total / BigInt(n)),
    reason: null,
  };
}
