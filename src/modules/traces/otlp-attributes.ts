// OTLP attributes: decoding `[{ key, value: AnyValue }]` lists, and mapping them onto span fields
// by the OTel GenAI semantic conventions and OpenInference (which keys hold the model, tokens,
// cost, input…, and how their values convert). Apart from otlp.ts, which decodes the request's
// resources, scopes and spans: a new convention or attribute key is a change here only.
import type { SpanKind } from '../../generated/prisma/enums';

/** Decoded attributes: key → JS value (string, number, boolean, array, object or null). */
export type Attrs = ReadonlyMap<string, unknown>;
export type JsonObject = Record<string, unknown>;

/** Attribute values longer than this (as text or JSON) are left out of metadata. */
const MAX_METADATA_VALUE = 4_096;

const OPENINFERENCE_KINDS: readonly SpanKind[] = [
  'LLM',
  'CHAIN',
  'RETRIEVER',
  'TOOL',
  'AGENT',
  'EMBEDDING',
  'RERANKER',
  'GUARDRAIL',
  'EVALUATOR',
];
const GENAI_OPERATION_KINDS: Readonly<Record<string, SpanKind>> = {
  chat: 'LLM',
  text_completion: 'LLM',
  generate_content: 'LLM',
  embeddings: 'EMBEDDING',
  execute_tool: 'TOOL',
  invoke_agent: 'AGENT',
  create_agent: 'AGENT',
};

/** Candidate attributes per field, best first. */
export const KEYS = {
  model: [
    'gen_ai.request.model',
    'gen_ai.response.model',
    'llm.model_name',
    'embedding.model_name',
  ],
  provider: ['gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system'],
  inputTokens: [
    'gen_ai.usage.input_tokens',
    'gen_ai.usage.prompt_tokens',
    'llm.token_count.prompt',
  ],
  outputTokens: [
    'gen_ai.usage.output_tokens',
    'gen_ai.usage.completion_tokens',
    'llm.token_count.completion',
  ],
  cachedInputTokens: [
    'gen_ai.usage.cache_read.input_tokens',
    'gen_ai.usage.cache_read_input_tokens',
    'llm.token_count.prompt_details.cache_read',
  ],
  totalTokens: ['llm.token_count.total', 'gen_ai.usage.total_tokens'],
  totalCost: ['llm.cost.total', 'gen_ai.usage.cost'],
  inputCost: ['llm.cost.prompt'],
  outputCost: ['llm.cost.completion'],
  cachedInputCost: ['llm.cost.prompt_details.cache_read'],
  userId: ['user.id', 'enduser.id'],
  sessionId: ['session.id', 'gen_ai.conversation.id'],
  input: ['input.value', 'gen_ai.prompt', 'gen_ai.input.messages'],
  output: ['output.value', 'gen_ai.completion', 'gen_ai.output.messages'],
} as const;

/** The first of `keys` whose value is not empty (absent, null, '' or []). */
export function first(
  attrs: Attrs,
  ...keys: readonly string[]
): { key: string; value: unknown } | undefined {
  for (const key of keys) {
    const value = attrs.get(key);
    if (!isEmpty(value)) return { key, value };
  }
  return undefined;
}

/**
 * OpenInference span kind first (unknown → GENERIC), then the GenAI operation name; null when
 * neither says, so that ingest's one rule decides (a span with a model is an LLM call), whatever
 * the transport.
 */
export function spanKind(attrs: Attrs, used: Set<string>): SpanKind | null {
  const openInference = text(first(attrs, 'openinference.span.kind')?.value);
  if (openInference !== null) {
    const kind = OPENINFERENCE_KINDS.find((known) => known === openInference.trim().toUpperCase());
    if (kind === undefined) return 'GENERIC'; // the unknown kind stays in metadata
    used.add('openinference.span.kind');
    return kind;
  }
  // gen_ai.operation.name says more than the kind (chat vs text_completion), so it stays in metadata.
  const operation = text(first(attrs, 'gen_ai.operation.name')?.value)?.trim().toLowerCase();
  if (operation === undefined) return null;
  return Object.hasOwn(GENAI_OPERATION_KINDS, operation)
    ? GENAI_OPERATION_KINDS[operation]
    : 'GENERIC';
}

/** The span's own metadata, plus the service name and every attribute not mapped to a field. */
export function buildMetadata(
  own: JsonObject,
  resource: Attrs,
  attrs: Attrs,
  used: ReadonlySet<string>,
): JsonObject | undefined {
  const metadata: JsonObject = { ...own };
  const service = text(first(resource, 'service.name')?.value);
  if (service !== null) metadata.resource = { 'service.name': service };
  const rest: JsonObject = {};
  for (const [key, value] of attrs) {
    if (!used.has(key) && textLength(value) <= MAX_METADATA_VALUE) rest[key] = value;
  }
  if (Object.keys(rest).length > 0) metadata.attributes = rest;
  return Object.keys(metadata).length > 0 ? metadata : undefined;
}

// ---- OTLP values ----

/** `[{ key, value: AnyValue }]` → Map; entries without a key are skipped, the first of a repeated key wins. */
export function decodeAttributes(list: unknown): Map<string, unknown> {
  const attrs = new Map<string, unknown>();
  for (const entry of asArray(list)) {
    if (isObject(entry) && typeof entry.key === 'string' && !attrs.has(entry.key))
      attrs.set(entry.key, decodeValue(entry.value));
  }
  return attrs;
}

/** An OTLP AnyValue as a JS value. 64-bit integers beyond Number's safe range stay decimal strings. */
function decodeValue(value: unknown): unknown {
  if (!isObject(value)) return null;
  if (typeof value.stringValue === 'string') return value.stringValue;
  if (typeof value.boolValue === 'boolean') return value.boolValue;
  if (value.intValue !== undefined) {
    const int = value.intValue;
    if (typeof int === 'string' && /^-?\d+$/.test(int.trim()))
      return Number.isSafeInteger(Number(int)) ? Number(int) : int.trim();
    return int; // not an integer: kept as sent, so that a token count reading it is rejected
  }
  // Doubles may come as "NaN" or "Infinity" strings in proto3 JSON.
  if (value.doubleValue !== undefined)
    return typeof value.doubleValue === 'string' ? Number(value.doubleValue) : value.doubleValue;
  if (isObject(value.arrayValue)) return asArray(value.arrayValue.values).map(decodeValue);
  if (isObject(value.kvlistValue))
    return Object.fromEntries(decodeAttributes(value.kvlistValue.values));
  if (typeof value.bytesValue === 'string') return value.bytesValue; // base64, as sent
  return null;
}

// ---- conversions of decoded attribute values; null means "not usable for this field" ----

/** A short scalar as text: strings as they are, numbers and booleans written out. */
export function text(value: unknown): string | null {
  if (typeof value === 'string') return value.trim() === '' ? null : value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return null;
}

/** Input or output text: strings as they are (JSON strings unparsed), structured values as JSON. */
export function content(value: unknown): string | null {
  if (isEmpty(value)) return null;
  return text(value) ?? JSON.stringify(value);
}

export function tokenCount(value: unknown): number | null {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d+$/.test(value.trim())
        ? Number(value.trim())
        : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** A numeric cost as a decimal string without exponent, e.g. 0.00012 → "0.00012". */
export function decimal(value: unknown): string | null {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value)
        : NaN;
  if (!Number.isFinite(n)) return null;
  const fixed = n.toFixed(12);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

export function tagList(value: unknown): string[] | null {
  if (typeof value === 'string') return value.trim() === '' ? null : [value];
  if (!Array.isArray(value)) return null;
  const tags = value.filter((tag): tag is string => typeof tag === 'string' && tag.trim() !== '');
  return tags.length > 0 ? tags : null;
}

/** OpenInference `metadata`: a JSON object as text (or a kvlist); anything else stays an attribute. */
export function metadataObject(value: unknown): JsonObject | null {
  if (isObject(value)) return value;
  if (typeof value !== 'string') return null;
  try {
    const parsed: unknown = JSON.parse(value);
    return isObject(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

// ---- helpers ----

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function isEmpty(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    value === '' ||
    (Array.isArray(value) && value.length === 0)
  );
}

function textLength(value: unknown): number {
  if (typeof value === 'string') return value.length;
  return JSON.stringify(value)?.length ?? 0;
}
