// Exact money arithmetic on integers: amounts as bigint counts of 1e-18 USD. Enough precision for
// prices per token (a 1e-6 fraction of a price with 12 decimals), and several times faster than
// a decimal library on the ingest path, where every span is priced.

const SCALE = 18;
const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** "12.5" → 12.5 × 10^18. Throws on anything but a plain decimal with at most 18 decimals. */
export function toUnits(value: string): bigint {
  const match = DECIMAL.exec(value);
  if (!match || (match[3]?.length ?? 0) > SCALE) throw new Error(`not a decimal amount: ${value}`);
  // One BigInt from the digits with the point removed, padded to the scale.
  const units = BigInt(match[2] + (match[3] ?? '').padEnd(SCALE, '0'));
  return match[1] ? -units : units;
}

/** 12.5 × 10^18 → "12.5": no exponent, no trailing zeros. */
export function fromUnits(units: bigint): string {
  if (units === 0n) return '0';
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(SCALE + 1, '0');
  const whole = digits.slice(0, -SCALE);
  let end = digits.length;
  while (end > whole.length && digits.charCodeAt(end - 1) === 48) end -= 1;
  const fraction = digits.slice(whole.length, end);
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** The cost of `tokens` at `pricePerMillion` (in units), rounded down to whole units. */
export function costOfTokens(tokens: number, pricePerMillion: bigint): bigint {
  return (BigInt(tokens) * pricePerMillion) / 1_000_000n;
}
