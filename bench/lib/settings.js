'use strict';
// Reading a benchmark's settings from the environment, the one way every benchmark does.

/** The number in env var `name` (≥ `min`; a whole number when `whole`), or `fallback` when unset. */
function envNumber(name, fallback, { min = 0, whole = false } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || (whole && !Number.isInteger(n)))
    throw new Error(
      `${name}: expected ${whole ? 'a whole number' : 'a number'} ≥ ${min}, got "${raw}"`,
    );
  return n;
}

/** A count: a whole number ≥ 1. */
const envCount = (name, fallback) => envNumber(name, fallback, { min: 1, whole: true });

/** The middle value (the upper middle of an even count), as the side-by-side benchmarks report. */
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

module.exports = { envNumber, envCount, median };
