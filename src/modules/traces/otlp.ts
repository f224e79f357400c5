// Maps an OTLP/HTTP JSON trace export (ExportTraceServiceRequest) onto our spans. Pure: no I/O,
// limits come in as arguments. Understands the OTel GenAI semantic conventions and OpenInference;
// span attributes it does not map are kept, when short, under metadata.attributes.
import type { SpanKind, SpanStatus } from '../../generated/prisma/enums';
import type { SpanInput } from './span-input';

export interface OtlpMapResult {
  spans: SpanInput[];
  /** Spans that could not be mapped; index is the position across the whole request. */
  rejected: { index: number; message: string }[];
  /** The resource attribute `evalgraph.project.id` of the first resource that has one. */
  projectHint: string | null;
}

/** Decoded attributes: key → JS value (string, number, boolean, array, object or null). */
type Attrs = ReadonlyMap<string, unknown>;
type JsonObject = Record<string, unknown>;

const PROJECT_ATTR = 'evalgraph.project.id';
/** Attribute values longer than this (as text or JSON) are left out of metadata. */
const MAX_METADATA_VALUE = 4_096;
const TRACE_ID_BYTES = 16;
const SPAN_ID_BYTES = 8;
const NANOS_PER_MS = 1_000_000n;
/** Largest time a JS Date holds, in milliseconds. */
const MAX_DATE_MS = 8.64e15;

const OPENINFERENCE_KINDS: readonly SpanKind[] = ['LLM', 'CHAIN', 'RETRIEVER', 'TOOL', 'AGENT', 'EMBEDDING', 'RERANKER', 'GUARDRAIL', 'EVALUATOR'];
const GENAI_OPERATION_KINDS: Readonly<Record<string, SpanKind>> = {
  chat: 'LLM',
  text_completion: 'LLM',
  generate_content: 'LLM',
  embeddings: 'EMBEDDING',
  execute_tool: 'TOOL',
  invoke_agent: 'AGENT',
  create_agent: 'AGENT',
};
const STATUS_CODES: Readonly<Record<string, SpanStatus>> = { '0': 'UNSET', '1': 'OK', '2': 'ERROR', UNSET: 'UNSET', OK: 'OK', ERROR: 'ERROR' };

/** Candidate attributes per field, best first. */
const KEYS = {
  model: ['gen_ai.request.model', 'gen_ai.response.model', 'llm.model_name', 'embedding.model_name'],
  provider: ['gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system'],
  inputTokens: ['gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'llm.token_count.prompt'],
  outputTokens: ['gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens', 'llm.token_count.completion'],
  cachedInputTokens: ['gen_ai.usage.cache_read.input_tokens', 'gen_ai.usage.cache_read_input_tokens', 'llm.token_count.prompt_details.cache_read'],
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

/**
 * Maps an OTLP JSON export request. Throws only when the body is not an object with a
 * `resourceSpans` array, or when it holds more than `maxSpans` spans; a malformed span is
 * reported in `rejected` and the others still map.
 */
export function otlpToSpans(body: unknown, options: { maxSpans: number }): OtlpMapResult {
  if (!isObject(body) || !Array.isArray(body.resourceSpans)) {
    throw new Error('OTLP request body must be a JSON object with a resourceSpans array');
  }
  const groups = body.resourceSpans.filter(isObject).map((resourceSpans) => {
    const resource = decodeAttributes(isObject(resourceSpans.resource) ? resourceSpans.resource.attributes : undefined);
    // instrumentationLibrarySpans: the name of scopeSpans before OTLP 0.15.
    const scopes = asArray(resourceSpans.scopeSpans ?? resourceSpans.instrumentationLibrarySpans).filter(isObject);
    return { resource, spans: scopes.flatMap((scope) => asArray(scope.spans)) };
  });
  const total = groups.reduce((sum, group) => sum + group.spans.length, 0);
  if (total > options.maxSpans) {
    throw new Error(`OTLP request has ${total} spans; at most ${options.maxSpans} are accepted per request`);
  }

  const result: OtlpMapResult = { spans: [], rejected: [], projectHint: null };
  let index = 0;
  for (const { resource, spans } of groups) {
    result.projectHint ??= text(first(resource, PROJECT_ATTR)?.value);
    for (const raw of spans) {
      const mapped = mapSpan(raw, resource);
      if (typeof mapped === 'string') result.rejected.push({ index, message: mapped });
      else result.spans.push(mapped);
      index += 1;
    }
  }
  return result;
}

/** The first of `keys` whose value is not empty (absent, null, '' or []). */
export function first(attrs: Attrs, ...keys: readonly string[]): { key: string; value: unknown } | undefined {
  for (const key of keys) {
    const value = attrs.get(key);
    if (!isEmpty(value)) return { key, value };
  }
  return undefined;
}

/** One span, or the reason it was rejected. */
function mapSpan(raw: unknown, resource: Attrs): SpanInput | string {
  if (!isObject(raw)) return 'span must be an object';
  const problems: string[] = [];
  const attrs = decodeAttributes(raw.attributes);
  /** Attributes whose value went into a span field; the others go to metadata. */
  const used = new Set<string>();
  // Picks the first of `keys` that `convert` accepts, and marks it used.
  const pick = <T>(keys: readonly string[], convert: (value: unknown) => T | null): T | null => {
    const found = first(attrs, ...keys.filter((key) => convert(attrs.get(key)) !== null));
    if (!found) return null;
    used.add(found.key);
    return convert(found.value);
  };
  // Token counts: the first present attribute must hold a whole number, else the span is rejected.
  const count = (keys: readonly string[]): number | null => {
    const found = first(attrs, ...keys);
    if (!found) return null;
    const value = tokenCount(found.value);
    if (value === null) problems.push(`attribute ${found.key} must be a non-negative whole number, got ${JSON.stringify(found.value)}`);
    else used.add(found.key);
    return value;
  };

  const traceId = otlpId(raw.traceId, TRACE_ID_BYTES, 'traceId', problems, true);
  const spanId = otlpId(raw.spanId, SPAN_ID_BYTES, 'spanId', problems, true);
  const parentSpanId = otlpId(raw.parentSpanId, SPAN_ID_BYTES, 'parentSpanId', problems, false);
  const name = typeof raw.name === 'string' && raw.name.trim() !== '' ? raw.name : null;
  if (name === null) problems.push('name is required');
  const startTime = nanosToDate(raw.startTimeUnixNano, 'startTimeUnixNano', problems, true);
  const endTime = nanosToDate(raw.endTimeUnixNano, 'endTimeUnixNano', problems, false);

  const tokens = {
    inputTokens: count(KEYS.inputTokens),
    outputTokens: count(KEYS.outputTokens),
    cachedInputTokens: count(KEYS.cachedInputTokens),
    totalTokens: count(KEYS.totalTokens),
  };
  if (problems.length > 0 || traceId === null || spanId === null || name === null || startTime === null) {
    return problems.join('; ');
  }

  const status = spanStatus(raw.status);
  const kind = spanKind(attrs, used);
  const metadata = pick(['metadata'], metadataObject);

  return {
    traceId,
    spanId,
    parentSpanId,
    kind,
    name,
    startTime,
    endTime,
    status,
    ...(status === 'ERROR' ? { error: statusMessage(raw) } : {}),
    // Absent attributes leave their field out.
    ...present({
      model: pick(KEYS.model, text),
      provider: pick(KEYS.provider, text),
      ...tokens,
      totalCost: pick(KEYS.totalCost, decimal),
      inputCost: pick(KEYS.inputCost, decimal),
      outputCost: pick(KEYS.outputCost, decimal),
      cachedInputCost: pick(KEYS.cachedInputCost, decimal),
      userId: pick(KEYS.userId, text),
      sessionId: pick(KEYS.sessionId, text),
      tags: pick(['tag.tags'], tagList),
      input: pick(KEYS.input, content),
      output: pick(KEYS.output, content),
      // Last: it holds the attributes no field above used.
      metadata: buildMetadata(metadata ?? {}, resource, attrs, used),
    }),
  };
}

/**
 * OpenInference span kind first (unknown → GENERIC), then the GenAI operation name; null when
 * neither says, so that ingest's one rule decides (a span with a model is an LLM call), whatever
 * the transport.
 */
function spanKind(attrs: Attrs, used: Set<string>): SpanKind | null {
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
  return Object.hasOwn(GENAI_OPERATION_KINDS, operation) ? GENAI_OPERATION_KINDS[operation] : 'GENERIC';
}

function spanStatus(status: unknown): SpanStatus {
  if (!isObject(status) || status.code === undefined || status.code === null) return 'UNSET';
  const code = String(status.code).trim().toUpperCase().replace(/^STATUS_CODE_/, '');
  return Object.hasOwn(STATUS_CODES, code) ? STATUS_CODES[code] : 'UNSET';
}

/** The status message of a failed span, else the message of its first `exception` event. */
function statusMessage(raw: JsonObject): string | null {
  const message = isObject(raw.status) ? text(raw.status.message) : null;
  if (message !== null) return message;
  for (const event of asArray(raw.events)) {
    if (!isObject(event) || event.name !== 'exception') continue;
    const exception = text(first(decodeAttributes(event.attributes), 'exception.message')?.value);
    if (exception !== null) return exception;
  }
  return null;
}

/** The span's own metadata, plus the service name and every attribute not mapped to a field. */
function buildMetadata(own: JsonObject, resource: Attrs, attrs: Attrs, used: ReadonlySet<string>): JsonObject | undefined {
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
function decodeAttributes(list: unknown): Map<string, unknown> {
  const attrs = new Map<string, unknown>();
  for (const entry of asArray(list)) {
    if (isObject(entry) && typeof entry.key === 'string' && !attrs.has(entry.key)) attrs.set(entry.key, decodeValue(entry.value));
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
    if (typeof int === 'string' && /^-?\d+$/.test(int.trim())) return Number.isSafeInteger(Number(int)) ? Number(int) : int.trim();
    return int; // not an integer: kept as sent, so that a token count reading it is rejected
  }
  // Doubles may come as "NaN" or "Infinity" strings in proto3 JSON.
  if (value.doubleValue !== undefined) return typeof value.doubleValue === 'string' ? Number(value.doubleValue) : value.doubleValue;
  if (isObject(value.arrayValue)) return asArray(value.arrayValue.values).map(decodeValue);
  if (isObject(value.kvlistValue)) return Object.fromEntries(decodeAttributes(value.kvlistValue.values));
  if (typeof value.bytesValue === 'string') return value.bytesValue; // base64, as sent
  return null;
}

/**
 * A trace or span id as lowercase hex. OTLP JSON sends hex; base64 of the right length (the
 * protobuf-JSON default some exporters use) is accepted too. Empty or all zeros means absent.
 */
function otlpId(value: unknown, bytes: number, field: string, problems: string[], required: boolean): string | null {
  let hex: string | null = null;
  if (typeof value === 'string' && value !== '') {
    if (new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(value)) hex = value.toLowerCase();
    else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length === bytes) {
      hex = Buffer.from(value, 'base64').toString('hex');
    } else {
      problems.push(`${field} must be ${bytes * 2} hex characters`);
      return null;
    }
  } else if (value !== undefined && value !== null && value !== '') {
    problems.push(`${field} must be a string of ${bytes * 2} hex characters`);
    return null;
  }
  if (hex !== null && /^0+$/.test(hex)) hex = null;
  if (hex === null && required) problems.push(`${field} is required`);
  return hex;
}

/** Unix nanoseconds (decimal string or number) → Date at millisecond precision; null when absent or 0. */
function nanosToDate(value: unknown, field: string, problems: string[], required: boolean): Date | null {
  if (value === undefined || value === null || value === '' || value === 0 || /^0+$/.test(String(value))) {
    if (required) problems.push(`${field} is required`);
    return null;
  }
  let ms: number;
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) ms = Number(BigInt(value.trim()) / NANOS_PER_MS);
  else if (typeof value === 'number' && Number.isFinite(value) && value >= 0) ms = Math.floor(value / 1e6);
  else {
    problems.push(`${field} must be a non-negative integer of nanoseconds`);
    return null;
  }
  if (ms > MAX_DATE_MS) {
    problems.push(`${field} is out of range`);
    return null;
  }
  return new Date(ms);
}

// ---- conversions of decoded attribute values; null means "not usable for this field" ----

/** A short scalar as text: strings as they are, numbers and booleans written out. */
function text(value: unknown): string | null {
  if (typeof value === 'string') return value.trim() === '' ? null : value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return null;
}

/** Input or output text: strings as they are (JSON strings unparsed), structured values as JSON. */
function content(value: unknown): string | null {
  if (isEmpty(value)) return null;
  return text(value) ?? JSON.stringify(value);
}

function tokenCount(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** A numeric cost as a decimal string without exponent, e.g. 0.00012 → "0.00012". */
function decimal(value: unknown): string | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n)) return null;
  const fixed = n.toFixed(12);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

function tagList(value: unknown): string[] | null {
  if (typeof value === 'string') return value.trim() === '' ? null : [value];
  if (!Array.isArray(value)) return null;
  const tags = value.filter((tag): tag is string => typeof tag === 'string' && tag.trim() !== '');
  return tags.length > 0 ? tags : null;
}

/** OpenInference `metadata`: a JSON object as text (or a kvlist); anything else stays an attribute. */
function metadataObject(value: unknown): JsonObject | null {
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

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);
}

function textLength(value: unknown): number {
  if (typeof value === 'string') return value.length;
  return JSON.stringify(value)?.length ?? 0;
}

/** The fields that hold a value (neither null nor undefined). */
function present<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined && value !== null)) as Partial<T>;
}
