// Token counts for spans that arrive without usage. o200k_base (GPT-4o and later) is used for
// every model: other vendors' tokenizers are not public or not packaged, so such counts are
// estimates and the span says so (usageEstimated).
import { Tiktoken } from 'js-tiktoken/lite';

let encoder: Tiktoken | null = null;

function getEncoder(): Tiktoken {
  if (!encoder) {
    // Loaded on first use: the ranks take about a second to parse and most processes never need them.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ranks = require('js-tiktoken/ranks/o200k_base');
    encoder = new Tiktoken(ranks.default ?? ranks);
  }
  return encoder;
}

/** Tokens in `text`, counted with o200k_base. */
export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  return getEncoder().encode(text).length;
}
