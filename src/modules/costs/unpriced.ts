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

// Judge calls (and the calls that generate an evaluation's outputs) are unpriced when their model
// has no known price or their provider reported no usage. Where their spending is stored (an
// evaluation, a result, an online evaluation task) the cost column sums the priced calls, and the
// calls and the unpriced ones are counted beside it, so sums stay sums and the cost is known to
// be unknown: null when there were calls and none could be priced.

/** USD of the priced calls, or null when there were calls and none could be priced. */
export const knownCost = <T>(cost: T, calls: number, unpricedCalls: number): T | null =>
  calls > 0 && unpricedCalls >= calls ? null : cost;

/** knownCost over SQL expressions: the cost as trimmed text, or NULL. */
export const knownCostSql = (cost: string, calls: string, unpricedCalls: string) =>
  `CASE WHEN ${calls} > 0 AND ${unpricedCalls} >= ${calls} THEN NULL ELSE trim_scale(${cost})::text END`;
