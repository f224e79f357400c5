// Maps an OTLP/HTTP JSON trace export (ExportTraceServiceRequest) onto our spans. Pure: no I/O,
// limits come in as arguments. Understands the OTel GenAI semantic conventions and OpenInference
// (otlp-attributes.ts); span attributes it does not map are kept, when short, under
// metadata.attributes.
import type { SpanStatus } from '../../generated/prisma/enums';
import {
  asArray,
  type Attrs,
  buildMetadata,
  content,
  decimal,
  decodeAttributes,
  first,
  isObject,
  type JsonObject,
  KEYS,
  metadataObject,
  spanKind,
  tagList,
  text,
  tokenCount,
} from './otlp-attributes';
import type { SpanInput } from './span-input';

export interface OtlpMapResult {
  spans: SpanInput[];
  /** Spans that could not be mapped; index is the position across the whole request. */
  rejected: { index: number; message: string }[];
  /** The resource attribute `evalgraph.project.id` of the first resource that has one. */
  projectHint: string | null;
}

const PROJECT_ATTR = 'evalgraph.project.id';
const TRACE_ID_BYTES = 16;
const SPAN_ID_BYTES = 8;
const NANOS_PER_MS = 1_000_000n;
/** Largest time a JS Date holds, in milliseconds. */
const MAX_DATE_MS = 8.64e15;

const STATUS_CODES: Readonly<Record<string, SpanStatus>> = {
  '0': 'UNSET',
  '1': 'OK',
  '2': 'ERROR',
  UNSET: 'UNSET',
  OK: 'OK',
  ERROR: 'ERROR',
};

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
    const resource = decodeAttributes(
      isObject(resourceSpans.resource) ? resourceSpans.resource.attributes : undefined,
    );
    // instrumentationLibrarySpans: the name of scopeSpans before OTLP 0.15.
    const scopes = asArray(
      resourceSpans.scopeSpans ?? resourceSpans.instrumentationLibrarySpans,
    ).filter(isObject);
    return { resource, spans: scopes.flatMap((scope) => asArray(scope.spans)) };
  });
  const total = groups.reduce((sum, group) => sum + group.spans.length, 0);
  if (total > options.maxSpans) {
    throw new Error(
      `OTLP request has ${total} spans; at most ${options.maxSpans} are accepted per request`,
    );
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
    if (value === null)
      problems.push(
        `attribute ${found.key} must be a non-negative whole number, got ${JSON.stringify(found.value)}`,
      );
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
  if (
    problems.length > 0 ||
    traceId === null ||
    spanId === null ||
    name === null ||
    startTime === null
  ) {
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

function spanStatus(status: unknown): SpanStatus {
  if (!isObject(status) || status.code === undefined || status.code === null) return 'UNSET';
  const code = String(status.code)
    .trim()
    .toUpperCase()
    .replace(/^STATUS_CODE_/, '');
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

// ---- ids and times ----

/**
 * A trace or span id as lowercase hex. OTLP JSON sends hex; base64 of the right length (the
 * protobuf-JSON default some exporters use) is accepted too. Empty or all zeros means absent.
 */
function otlpId(
  value: unknown,
  bytes: number,
  field: string,
  problems: string[],
  required: boolean,
): string | null {
  let hex: string | null = null;
  if (typeof value === 'string' && value !== '') {
    if (new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(value)) hex = value.toLowerCase();
    else if (
      /^[A-Za-z0-9+/_-]+={0,2}$/.test(value) &&
      Buffer.from(value, 'base64').length === bytes
    ) {
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
function nanosToDate(
  value: unknown,
  field: string,
  problems: string[],
  required: boolean,
): Date | null {
  if (
    value === undefined ||
    value === null ||
    value === '' ||
    value === 0 ||
    /^0+$/.test(String(value))
  ) {
    if (required) problems.push(`${field} is required`);
    return null;
  }
  let ms: number;
  if (typeof value === 'string' && /^\d+$/.test(value.trim()))
    ms = Number(BigInt(value.trim()) / NANOS_PER_MS);
  else if (typeof value === 'number' && Number.isFinite(value) && value >= 0)
    ms = Math.floor(value / 1e6);
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

// ---- helpers ----

/** The fields that hold a value (neither null nor undefined). */
function present<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(fields).filter(([, value]) => value !== undefined && value !== null),
  ) as Partial<T>;
}
