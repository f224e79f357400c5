// Exact money arithmetic on integers: amounts as bigint counts of 1e-18 USD. Enough precision for
// prices per token (a 1e-6 fraction of a price with 12 decimals), and several times faster than
// a decimal library on the ingest path, where every span is priced.

const SCALE = 18;
const UNIT = 10n ** BigInt(SCALE);
const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** "12.5" → 12.5 × 10^18. Throws on anything but a plain decimal with at most 18 decimals. */
export function toUnits(value: string): bigint {
  const match = DECIMAL.exec(value);
  if (!match || (match[3]?.length ?? 0) > SCALE) throw new Error(`not a decimal amount: ${value}`);
  const units = BigInt(match[2]) * UNIT + BigInt((match[3] ?? '').padEnd(SCALE, '0'));
  return match[1] ? -units : units;
}

/** 12.5 × 10^18 → "12.5": no exponent, no trailing zeros. */
export function fromUnits(units: bigint): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const whole = abs / UNIT;
  const fraction = (abs % UNIT).toString().padStart(SCALE, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** The cost of `tokens` at `pricePerMillion` (in units), rounded down to whole units. */
export function costOfTokens(tokens: number, pricePerMillion: bigint): bigint {
  return (BigInt(tokens) * pricePerMillion) / 1_000_000n;
}
