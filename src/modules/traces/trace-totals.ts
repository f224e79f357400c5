// The totals of a trace from its spans, for traces created by one batch (all their spans are in
// hand). Must agree with refreshTraces in ingest-sql.ts, which recomputes them in SQL for traces
// that already existed; a test ingests the same spans both ways and compares.
import { fromUnits, toUnits } from '../../lib/money';
import { isUnpriced } from '../costs/unpriced';
import type { SpanRow } from './ingest-sql';

export interface TraceTotals {
  name: string | null;
  user_id: string | null;
  session_id: string | null;
  tags: string[];
  metadata: unknown;
  start_time: string;
  end_time: string;
  latency_ms: number;
  status: 'OK' | 'ERROR' | 'UNSET';
  span_count: number;
  error_count: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  total_tokens: number;
  /** Sums of the priced spans; null when none was priced and some needed a price (costs/unpriced.ts). */
  input_cost: string | null;
  output_cost: string | null;
  total_cost: string | null;
  unpriced_span_count: number;
}

/** `spans` are one trace's rows; start times are ISO strings, so they sort as text. */
export function traceTotals(spans: readonly SpanRow[]): TraceTotals {
  const byStart = [...spans].sort((a, b) =>
    a.start_time! < b.start_time! ? -1 : a.start_time! > b.start_time! ? 1 : 0,
  );
  const roots = byStart.filter((s) => s.parent_external_id === null);
  const first = <K extends keyof SpanRow>(key: K) =>
    byStart.find((s) => s[key] !== null)?.[key] ?? null;
  const sum = (key: 'input_tokens' | 'output_tokens' | 'cached_input_tokens' | 'total_tokens') =>
    spans.reduce((n, s) => n + (s[key] ?? 0), 0);
  const unpriced = spans.filter(isUnpriced).length;
  const money = (key: 'input_cost' | 'output_cost' | 'total_cost') => {
    const priced = spans.filter((s) => s[key] !== null);
    if (priced.length === 0 && unpriced > 0) return null;
    return fromUnits(priced.reduce((sum, s) => sum + toUnits(s[key]!), 0n));
  };
  const start = byStart[0].start_time!;
  const end = spans.reduce((max, s) => {
    const t = s.end_time ?? s.start_time!;
    // biome-ignore lint/complexity/useMathMinMax: ISO strings, compared as text (Math.max would give NaN)
    return t > max ? t : max;
  }, start);
  const errors = spans.filter((s) => s.status === 'ERROR').length;
  return {
    name: roots[0]?.name ?? byStart[0].name,
    user_id: first('user_id') as string | null,
    session_id: first('session_id') as string | null,
    tags: [...new Set(spans.flatMap((s) => s.tags ?? []))].sort(),
    metadata: roots.find((s) => s.metadata !== null)?.metadata ?? null,
    start_time: start,
    end_time: end,
    latency_ms: Date.parse(end) - Date.parse(start),
    status: errors > 0 ? 'ERROR' : spans.some((s) => s.status === 'OK') ? 'OK' : 'UNSET',
    span_count: spans.length,
    error_count: errors,
    input_tokens: sum('input_tokens'),
    output_tokens: sum('output_tokens'),
    cached_input_tokens: sum('cached_input_tokens'),
    total_tokens: sum('total_tokens'),
    input_cost: money('input_cost'),
    output_cost: money('output_cost'),
    total_cost: money('total_cost'),
    unpriced_span_count: unpriced,
  };
}
