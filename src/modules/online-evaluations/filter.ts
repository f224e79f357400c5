// Which traces and spans an online evaluation rule is about, and which of those it samples. Pure:
// ingest runs it over each batch in the API process (rule-cache.ts), backfill over stored spans
// (backfill.ts), with the same result for the same spans.
//
// A filter has trace conditions (userId, sessionId, tags), met by the trace: its stored values so
// far or any of the spans at hand, the tags together; and span conditions (spanKind, model, name,
// status, metadata), met together by one span. A TRACE rule matches a trace whose conditions hold
// and one span of which meets the span conditions; a SPAN rule matches each such span. Spans are
// matched as sent: a span sent again in pieces is matched on each piece.
//
// Sampling is a hash of the target's client ids against the rate: the same trace (or span) is
// sampled or not whichever batch, process or backfill sees it, and raising the rate keeps the
// targets sampled before.
import { z } from 'zod';
import { SpanKind, SpanStatus } from '../../generated/prisma/enums';
import { normaliseModelName } from '../../lib/model-name';
import { asText } from '../graders/template';

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);

export const ruleFilterSchema = z
  .object({
    spanKind: z.enum(SpanKind).nullish(),
    model: text(200).nullish(),
    name: text(500).nullish(),
    tags: z.array(text(200)).max(20).nullish(),
    userId: text(256).nullish(),
    sessionId: text(256).nullish(),
    metadata: z
      .array(z.object({ key: text(200), value: z.string().max(1_000) }))
      .max(20)
      .nullish(),
    status: z.enum(SpanStatus).nullish(),
  })
  .strict();

export type RuleFilter = z.infer<typeof ruleFilterSchema>;

/** The filter as stored: only the conditions given (an empty object matches everything). */
export function storedFilter(filter: RuleFilter | null | undefined): RuleFilter {
  return Object.fromEntries(
    Object.entries(filter ?? {}).filter(([, v]) => v != null && !(Array.isArray(v) && !v.length)),
  ) as RuleFilter;
}

/** What matching reads of a span (the ingest row's fields; null: not sent). */
export interface SpanFacts {
  external_id: string;
  kind: string | null;
  name: string | null;
  normalized_model: string | null;
  status: string | null;
  tags: string[] | null;
  user_id: string | null;
  session_id: string | null;
  metadata: unknown;
}

/** What matching reads of a trace as stored before these spans (nothing for a new one). */
export interface TraceFacts {
  externalId: string;
  userId: string | null;
  sessionId: string | null;
  tags: readonly string[] | null;
}

export interface RuleSpec {
  id: string;
  target: 'TRACE' | 'SPAN';
  samplingRate: number;
  filter: RuleFilter;
}

export interface CompiledRule extends RuleSpec {
  traceOk(trace: TraceFacts, spans: readonly SpanFacts[]): boolean;
  spanOk(span: SpanFacts): boolean;
}

/** A metadata value by key; a dotted key reads nested objects when no key has the dots. */
export function metadataValue(metadata: unknown, key: string): unknown {
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const record = metadata as Record<string, unknown>;
  if (key in record) return record[key];
  let value: unknown = record;
  for (const part of key.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

export function compileRule(rule: RuleSpec): CompiledRule {
  const f = rule.filter;
  const model = f.model ? normaliseModelName(f.model) : null;
  const span: ((s: SpanFacts) => boolean)[] = [];
  if (f.spanKind) span.push((s) => (s.kind ?? 'GENERIC') === f.spanKind);
  if (model) span.push((s) => s.normalized_model === model);
  if (f.name) span.push((s) => s.name === f.name);
  if (f.status) span.push((s) => (s.status ?? 'UNSET') === f.status);
  for (const { key, value } of f.metadata ?? [])
    span.push((s) => {
      const found = metadataValue(s.metadata, key);
      return found !== undefined && asText(found) === value;
    });
  const trace: ((t: TraceFacts, spans: readonly SpanFacts[]) => boolean)[] = [];
  if (f.userId)
    trace.push((t, spans) => t.userId === f.userId || spans.some((s) => s.user_id === f.userId));
  if (f.sessionId)
    trace.push(
      (t, spans) => t.sessionId === f.sessionId || spans.some((s) => s.session_id === f.sessionId),
    );
  if (f.tags?.length) {
    const wanted = f.tags;
    trace.push((t, spans) =>
      wanted.every((tag) => t.tags?.includes(tag) || spans.some((s) => s.tags?.includes(tag))),
    );
  }
  return {
    ...rule,
    traceOk: (t, spans) => trace.every((c) => c(t, spans)),
    spanOk: (s) => span.every((c) => c(s)),
  };
}

/** A target matched by a rule: the trace (spanExternalId null) or one of its spans. */
export interface Matched {
  ruleId: string;
  spanExternalId: string | null;
  sampled: boolean;
}

/** The rules' matches among one trace's spans, each with whether it is sampled. */
export function matchTrace(
  rules: readonly CompiledRule[],
  trace: TraceFacts,
  spans: readonly SpanFacts[],
): Matched[] {
  const matches: Matched[] = [];
  let traceKey: number | undefined;
  const spanKeys = new Map<string, number>();
  for (const rule of rules) {
    if (!rule.traceOk(trace, spans)) continue;
    if (rule.target === 'TRACE') {
      if (!spans.some(rule.spanOk)) continue;
      traceKey ??= sampleKey(trace.externalId, null);
      matches.push({
        ruleId: rule.id,
        spanExternalId: null,
        sampled: traceKey < rule.samplingRate,
      });
      continue;
    }
    for (const span of spans) {
      if (!rule.spanOk(span)) continue;
      let key = spanKeys.get(span.external_id);
      if (key === undefined) {
        key = sampleKey(trace.externalId, span.external_id);
        spanKeys.set(span.external_id, key);
      }
      matches.push({
        ruleId: rule.id,
        spanExternalId: span.external_id,
        sampled: key < rule.samplingRate,
      });
    }
  }
  return matches;
}

/**
 * Where a target falls in [0, 1): FNV-1a over its client ids, then MurmurHash3's finaliser so that
 * ids differing in their last characters spread over the whole range. Sampled below the rate.
 */
export function sampleKey(traceExternalId: string, spanExternalId: string | null): number {
  let h = 0x811c9dc5;
  const mix = (s: string) => {
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  };
  mix(traceExternalId);
  if (spanExternalId !== null) {
    // A separator between the two: ("ab", "c") and ("a", "bc") differ.
    h ^= 0x1f;
    h = Math.imul(h, 0x01000193);
    mix(spanExternalId);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}
