// The shape of one span as clients send it (GraphQL ingestSpans and OTLP both produce it), and
// its validation. Pure: limits come in as arguments.
import type { SpanKind, SpanStatus } from '../../generated/prisma/enums';

/** What storing spans costs in rate-limit points (ingestSpans' own cost; OTLP's with a mutation's floor): a point per 10. */
export const ingestCost = (spans: number) => Math.ceil(spans / 10);

export interface SpanInput {
  traceId: string;
  spanId: string;
  parentSpanId?: string | null;
  kind?: SpanKind | null;
  name: string;
  startTime: Date;
  endTime?: Date | null;
  status?: SpanStatus | null;
  /** The status message of a failed span. */
  error?: string | null;
  model?: string | null;
  provider?: string | null;
  inputTokens?: number | null;
  outputTokens?: number | null;
  /** Part of inputTokens that was read from the provider's prompt cache. */
  cachedInputTokens?: number | null;
  totalTokens?: number | null;
  /** USD, as decimal strings; when the client sends a cost, it is kept instead of priced. */
  inputCost?: string | null;
  outputCost?: string | null;
  cachedInputCost?: string | null;
  totalCost?: string | null;
  /** The end user of the traced application. */
  userId?: string | null;
  sessionId?: string | null;
  tags?: string[] | null;
  metadata?: unknown;
  input?: string | null;
  output?: string | null;
}

export interface SpanLimits {
  /** Longest input or output text kept, in characters; longer text is cut and flagged. */
  maxTextChars: number;
  /** Largest metadata, as JSON text. */
  maxMetadataBytes: number;
}

export interface SpanProblem {
  index: number;
  field: string;
  message: string;
}

const MAX_ID = 256;
const MAX_NAME = 1_000;
const MAX_ATTR = 256;
const MAX_TAGS = 50;
const MAX_TAG = 200;
const MAX_ERROR = 10_000;
const MAX_TOKENS = 2_000_000_000;
// Decimal(20, 10) holds ten integer digits.
const MAX_COST = 1e9;
const MIN_TIME = Date.UTC(1990, 0, 1);
const MAX_FUTURE_MS = 24 * 3600_000;
const DECIMAL = /^\d{1,10}(\.\d{1,12})?$/;
// Postgres text and jsonb cannot hold U+0000.
const NUL = '\u0000';
const NUL_MESSAGE = 'must not contain the character U+0000';

/** Problems of one span (empty when it is valid). `now` bounds start times from the future. */
export function checkSpan(
  span: SpanInput,
  index: number,
  limits: SpanLimits,
  now: Date,
): SpanProblem[] {
  const problems: SpanProblem[] = [];
  const bad = (field: string, message: string) => problems.push({ index, field, message });
  const text = (field: keyof SpanInput, max: number, required = false) => {
    const value = span[field];
    if (value === null || value === undefined) {
      if (required) bad(field, 'is required');
    } else if (typeof value !== 'string') bad(field, 'must be a string');
    else if (required && value.trim() === '') bad(field, 'must not be empty');
    else if (value.length > max) bad(field, `is longer than ${max} characters`);
    else if (value.includes(NUL)) bad(field, NUL_MESSAGE);
  };
  text('traceId', MAX_ID, true);
  text('spanId', MAX_ID, true);
  text('parentSpanId', MAX_ID);
  text('name', MAX_NAME, true);
  text('model', MAX_ATTR);
  text('provider', MAX_ATTR);
  text('userId', MAX_ATTR);
  text('sessionId', MAX_ATTR);
  text('error', MAX_ERROR);
  if (span.parentSpanId != null && span.parentSpanId === span.spanId)
    bad('parentSpanId', 'must not be the span itself');

  const start = span.startTime instanceof Date ? span.startTime.getTime() : NaN;
  if (Number.isNaN(start)) bad('startTime', 'is required and must be a date');
  else if (start < MIN_TIME || start > now.getTime() + MAX_FUTURE_MS)
    bad('startTime', 'is out of range');
  if (span.endTime != null) {
    const end = span.endTime instanceof Date ? span.endTime.getTime() : NaN;
    if (Number.isNaN(end)) bad('endTime', 'must be a date');
    else if (!Number.isNaN(start) && end < start) bad('endTime', 'must not be before startTime');
  }

  for (const field of [
    'inputTokens',
    'outputTokens',
    'cachedInputTokens',
    'totalTokens',
  ] as const) {
    const value = span[field];
    if (value != null && (!Number.isInteger(value) || value < 0 || value > MAX_TOKENS))
      bad(field, `must be a whole number from 0 to ${MAX_TOKENS}`);
  }
  if (
    span.cachedInputTokens != null &&
    span.inputTokens != null &&
    span.cachedInputTokens > span.inputTokens
  ) {
    bad('cachedInputTokens', 'must not exceed inputTokens');
  }
  for (const field of ['inputCost', 'outputCost', 'cachedInputCost', 'totalCost'] as const) {
    const value = span[field];
    if (value != null && (!DECIMAL.test(value) || Number(value) >= MAX_COST))
      bad(field, `must be a non-negative decimal below ${MAX_COST} USD`);
  }

  if (span.tags != null) {
    if (span.tags.length > MAX_TAGS) bad('tags', `has more than ${MAX_TAGS} tags`);
    else if (
      span.tags.some((tag) => typeof tag !== 'string' || tag.length === 0 || tag.length > MAX_TAG)
    ) {
      bad('tags', `each tag must be 1 to ${MAX_TAG} characters`);
    }
  }
  if (span.metadata !== undefined && span.metadata !== null) {
    let size = Infinity;
    try {
      size = Buffer.byteLength(JSON.stringify(span.metadata));
    } catch {
      // circular or not serialisable: reported below as too large to store
    }
    if (size > limits.maxMetadataBytes)
      bad('metadata', `is larger than ${limits.maxMetadataBytes} bytes of JSON`);
    else if (JSON.stringify(span.metadata).includes('\\u0000')) bad('metadata', NUL_MESSAGE);
  }
  for (const field of ['input', 'output'] as const) {
    if (span[field] != null && typeof span[field] !== 'string') bad(field, 'must be a string');
    else if (span[field]?.includes(NUL)) bad(field, NUL_MESSAGE);
  }
  if (span.tags?.some((tag) => typeof tag === 'string' && tag.includes(NUL)))
    bad('tags', NUL_MESSAGE);
  return problems;
}

/**
 * Splits a batch into valid spans (keeping their index) and problems. Spans repeated within the
 * batch (same trace and span id) are merged, later fields over earlier ones, so that one
 * statement can upsert them.
 */
export function checkBatch(spans: readonly SpanInput[], limits: SpanLimits, now: Date) {
  const problems: SpanProblem[] = [];
  const valid = new Map<string, { index: number; span: SpanInput }>();
  spans.forEach((span, index) => {
    const found = checkSpan(span, index, limits, now);
    if (found.length > 0) {
      problems.push(...found);
      return;
    }
    const key = `${span.traceId}\u0000${span.spanId}`;
    const earlier = valid.get(key);
    valid.set(key, { index, span: earlier ? mergeSpan(earlier.span, span) : span });
  });
  return { valid: [...valid.values()], problems };
}

/** `later` over `earlier`, field by field; absent (undefined or null) fields keep their value. */
export function mergeSpan(earlier: SpanInput, later: SpanInput): SpanInput {
  const merged: Record<string, unknown> = { ...earlier };
  for (const [key, value] of Object.entries(later))
    if (value !== undefined && value !== null) merged[key] = value;
  return merged as unknown as SpanInput;
}
