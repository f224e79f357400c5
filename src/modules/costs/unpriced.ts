// Which spans should have had a price. A span needs one when it names a model, or when it is a
// model call by kind (LLM, EMBEDDING) that reports tokens. A span that needs a price and has no
// cost is *unpriced*: its model has no known price, or its usage cannot be priced (only
// totalTokens, without the input/output split), or it sent a model but no usage. Other spans (a
// TOOL or RETRIEVER step; a CHAIN or AGENT span, whose token counts often repeat its children's)
// have nothing of their own to price. Totals add the priced spans and count the unpriced ones;
// a total is null only when nothing in it was priced and something needed a price.
//
// The TypeScript and SQL forms must agree: trace totals are computed with the first for new
// traces and with the second for traces that already existed (test/unpriced-spend.test.ts and
// test/traces.test.ts compare them).

/** Span kinds that are model calls even when the span names no model. */
export const MODEL_CALL_KINDS = ['LLM', 'EMBEDDING'] as const;

export interface PricedSpan {
  model: string | null;
  kind: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  total_tokens: number | null;
  total_cost: string | null;
}

export function needsPrice(span: PricedSpan): boolean {
  if (span.model !== null) return true;
  const tokens =
    (span.input_tokens ?? 0) > 0 || (span.output_tokens ?? 0) > 0 || (span.total_tokens ?? 0) > 0;
  return tokens && (MODEL_CALL_KINDS as readonly string[]).includes(span.kind ?? '');
}

export const isUnpriced = (span: PricedSpan) => span.total_cost === null && needsPrice(span);

/** needsPrice over a row of `spans` aliased `s`. */
export function needsPriceSql(s: string): string {
  const kinds = MODEL_CALL_KINDS.map((k) => `'${k}'`).join(', ');
  return `(${s}.model IS NOT NULL OR (${s}.kind IN (${kinds}) AND (${s}.input_tokens > 0 OR ${s}.output_tokens > 0 OR ${s}.total_tokens > 0)))`;
}

/** isUnpriced over a row of `spans` aliased `s`. */
export const isUnpricedSql = (s: string) => `(${s}.total_cost IS NULL AND ${needsPriceSql(s)})`;
