// backfillEvaluationRule: a rule applied to traces already stored (those that started in a time
// range), with the same matching and sampling as ingest (filter.ts) and the same dedup (task
// rows: a target judged or queued before is not queued again). Traces are read oldest first, a
// page at a time, each page's tasks queued in one statement; a call stops after MAX_TRACES and
// says where to go on from.
import { v7 as uuidv7 } from 'uuid';
import type { Deps } from '../../deps';
import { topics } from '../events/catalogue';
import { compileRule, matchTrace, type RuleSpec, sampleKey, type SpanFacts } from './filter';
import { type QueuedTask, queueBackfill } from './task-sql';

const PAGE = 500;
/** Traces read by one call; the rest is left for the next (`nextFrom`). */
export const MAX_TRACES = 10_000;

export interface BackfillResult {
  scannedTraces: number;
  queued: number;
  /** Where to start the next call, when this one stopped before `to`; null when it is done. */
  nextFrom: Date | null;
}

interface TraceRow {
  id: string;
  external_id: string;
  user_id: string | null;
  session_id: string | null;
  tags: string[];
  start_time: Date;
}

export async function backfillRule(
  deps: Pick<Deps, 'db' | 'pubsub'>,
  rule: RuleSpec & { projectId: string },
  range: { from: Date; to: Date },
): Promise<BackfillResult> {
  const compiled = compileRule(rule);
  const needsMetadata = Boolean(rule.filter.metadata?.length);
  let after: { start: Date; id: string } | null = null;
  let scanned = 0;
  let queued = 0;
  while (scanned < MAX_TRACES) {
    const traces: TraceRow[] = await deps.db.query<TraceRow>(
      `SELECT id::text, external_id, user_id, session_id, tags, start_time FROM traces
       WHERE project_id = $1::uuid AND start_time >= $2 AND start_time < $3
         AND ($4::timestamptz IS NULL OR (start_time, id) > ($4::timestamptz, $5::uuid))
       ORDER BY start_time, id LIMIT ${Math.min(PAGE, MAX_TRACES - scanned)}`,
      [rule.projectId, range.from, range.to, after?.start ?? null, after?.id ?? null],
    );
    if (!traces.length) return { scannedTraces: scanned, queued, nextFrom: null };
    scanned += traces.length;
    const last = traces[traces.length - 1];
    after = { start: last.start_time, id: last.id };
    // A TRACE rule samples before matching: only sampled traces need their spans read.
    const candidates =
      rule.target === 'TRACE'
        ? traces.filter((t) => sampleKey(t.external_id, null) < rule.samplingRate)
        : traces;
    if (!candidates.length) continue;
    const spans = await deps.db.query<SpanFacts & { trace_id: string }>(
      `SELECT trace_id::text, external_id, kind::text, name, normalized_model, status::text, tags, user_id, session_id,
         ${needsMetadata ? 'metadata' : 'NULL::jsonb AS metadata'}
       FROM spans WHERE trace_id = ANY($1::uuid[])`,
      [candidates.map((t) => t.id)],
    );
    const byTrace = new Map<string, SpanFacts[]>();
    for (const s of spans) byTrace.set(s.trace_id, [...(byTrace.get(s.trace_id) ?? []), s]);
    const tasks: QueuedTask[] = [];
    for (const t of candidates) {
      const facts = {
        externalId: t.external_id,
        userId: t.user_id,
        sessionId: t.session_id,
        tags: t.tags,
      };
      for (const m of matchTrace([compiled], facts, byTrace.get(t.id) ?? [])) {
        if (!m.sampled) continue;
        tasks.push({
          id: uuidv7(),
          rule_id: rule.id,
          project_id: rule.projectId,
          trace_id: t.id,
          span_external_id: m.spanExternalId ?? '',
          delay_seconds: 0,
        });
      }
    }
    queued += await queueBackfill(deps.db.query, dedupe(tasks));
    if (queued) deps.pubsub.publish(topics.onlineEvaluationWork, {});
    if (traces.length < PAGE) return { scannedTraces: scanned, queued, nextFrom: null };
  }
  return { scannedTraces: scanned, queued, nextFrom: after!.start };
}

/** One task per target (a span stored twice under one trace is one target). */
function dedupe(tasks: QueuedTask[]): QueuedTask[] {
  const seen = new Map<string, QueuedTask>();
  for (const t of tasks) seen.set(`${t.trace_id}|${t.span_external_id}`, t);
  return [...seen.values()];
}
