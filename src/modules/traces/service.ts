// Ingest: validate a whole batch, price it, then write it in one short transaction.
import { v7 as uuidv7 } from 'uuid';
import type { Deps } from '../../deps';
import { appError } from '../../errors';
import { normaliseModelName } from '../../lib/model-name';
import { fromUnits, toUnits } from '../../lib/money';
import type { CostService } from '../costs/service';
import { countTokens } from '../costs/tokens';
import type { Sql } from '../../storage/db';
import {
  insertSpans,
  refreshTraces,
  upsertSpans,
  upsertTraces,
  type SpanRow,
  type StoredTrace,
  type TraceRow,
} from './ingest-sql';
import { traceTotals } from './trace-totals';
import { checkBatch, type SpanInput, type SpanLimits, type SpanProblem } from './span-input';

export interface IngestResult {
  acceptedCount: number;
  rejectedCount: number;
  problems: SpanProblem[];
  traceCount: number;
}

/** Problems listed in an error's extensions; the count is always complete. */
const MAX_LISTED_PROBLEMS = 100;

/** A trace of a batch as stored, with the batch's spans of it. */
export interface IngestedTrace extends StoredTrace {
  spans: SpanRow[];
}

/**
 * Work that goes with each batch, in its transaction (online evaluation rules queue the traces
 * they sample). `prepare` runs before the transaction and answers null when there is none.
 */
export interface IngestListener {
  prepare(projectId: string): Promise<{
    write(sql: Sql, traces: IngestedTrace[]): Promise<void>;
    /** After the commit. */
    committed(): void;
  } | null>;
}

export function createTraceService(deps: Deps, costs: CostService, listener?: IngestListener) {
  const limits: SpanLimits = deps.config.traces;
  const { maxSpansPerBatch } = deps.config.traces;

  function toRow(span: SpanInput, price: Awaited<ReturnType<CostService['pricer']>>): SpanRow {
    const [input, inputCut] = cut(span.input, limits.maxTextChars);
    const [output, outputCut] = cut(span.output, limits.maxTextChars);
    let usage = {
      input: span.inputTokens ?? null,
      output: span.outputTokens ?? null,
      cached: span.cachedInputTokens ?? null,
      total: span.totalTokens ?? null,
    };
    const usageSent = Object.values(usage).some((v) => v !== null);
    let estimated: boolean | null = usageSent ? false : null;
    // Without usage, count the text we were given (the original, not the cut copy).
    if (!usageSent && span.model && (span.input || span.output)) {
      const inputTokens = countTokens(span.input ?? '');
      const outputTokens = countTokens(span.output ?? '');
      usage = {
        input: inputTokens,
        output: outputTokens,
        cached: 0,
        total: inputTokens + outputTokens,
      };
      estimated = true;
    }
    if (usage.total === null && (usage.input !== null || usage.output !== null))
      usage.total = (usage.input ?? 0) + (usage.output ?? 0);

    const costSent = [span.inputCost, span.outputCost, span.cachedInputCost, span.totalCost].some(
      (v) => v != null,
    );
    let cost = {
      input: span.inputCost ?? null,
      output: span.outputCost ?? null,
      cached: span.cachedInputCost ?? null,
      total: span.totalCost ?? null,
    };
    let priceSource: SpanRow['price_source'] = costSent ? 'PROVIDED' : null;
    if (costSent) {
      if (cost.total === null)
        cost.total = fromUnits(toUnits(cost.input ?? '0') + toUnits(cost.output ?? '0'));
    } else if (span.model && (usage.input !== null || usage.output !== null)) {
      // Only usage split into input and output can be priced: a span with only totalTokens stays
      // unpriced (null), not 0.
      const priced = price(
        span.model,
        {
          inputTokens: usage.input ?? 0,
          outputTokens: usage.output ?? 0,
          cachedInputTokens: usage.cached ?? 0,
        },
        span.startTime,
      );
      if (priced) {
        cost = {
          input: priced.inputCost,
          output: priced.outputCost,
          cached: priced.cachedInputCost,
          total: priced.totalCost,
        };
        priceSource = priced.source;
      }
    }

    return {
      id: uuidv7(),
      trace_external_id: span.traceId,
      external_id: span.spanId,
      parent_external_id: span.parentSpanId ?? null,
      kind: span.kind ?? (span.model ? 'LLM' : null),
      name: span.name,
      model: span.model ?? null,
      normalized_model: span.model == null ? null : normaliseModelName(span.model),
      provider: span.provider ?? null,
      start_time: span.startTime.toISOString(),
      end_time: span.endTime?.toISOString() ?? null,
      status: span.status ?? (span.error ? 'ERROR' : null),
      error: span.error ?? null,
      user_id: span.userId ?? null,
      session_id: span.sessionId ?? null,
      tags: span.tags ?? null,
      metadata: span.metadata ?? null,
      input,
      output,
      input_tokens: usage.input,
      output_tokens: usage.output,
      cached_input_tokens: usage.cached,
      total_tokens: usage.total,
      usage_estimated: estimated,
      text_truncated:
        inputCut || outputCut ? true : span.input != null || span.output != null ? false : null,
      input_cost: cost.input,
      output_cost: cost.output,
      cached_input_cost: cost.cached,
      total_cost: cost.total,
      cost_provided: costSent ? true : cost.total !== null ? false : null,
      price_source: priceSource,
    };
  }

  return {
    /**
     * Stores a batch of spans and updates their traces. Without `partial`, one bad span rejects
     * the batch (BAD_USER_INPUT listing every problem) and nothing is written.
     */
    async ingest(
      projectId: string,
      spans: readonly SpanInput[],
      options: { partial: boolean; source?: 'graphql' | 'otlp' },
    ): Promise<IngestResult> {
      if (spans.length > maxSpansPerBatch) {
        throw appError(
          'BAD_USER_INPUT',
          `At most ${maxSpansPerBatch} spans can be sent at once; got ${spans.length}.`,
          {
            extensions: { path: ['input', 'spans'] },
          },
        );
      }
      const { valid, problems } = checkBatch(spans, limits, deps.clock.now());
      const rejectedIndexes = new Set(problems.map((p) => p.index));
      if (problems.length > 0 && !options.partial) {
        const first = problems[0];
        throw appError(
          'BAD_USER_INPUT',
          `${rejectedIndexes.size} of ${spans.length} spans are invalid, so none were stored (first: spans[${first.index}].${first.field} ${first.message}).`,
          {
            extensions: {
              path: ['input', 'spans', first.index, first.field],
              invalidSpans: problems.slice(0, MAX_LISTED_PROBLEMS),
            },
          },
        );
      }
      const result = {
        acceptedCount: spans.length - rejectedIndexes.size,
        rejectedCount: rejectedIndexes.size,
        problems,
        traceCount: 0,
      };
      if (valid.length === 0) return result;

      const price = await costs.pricer(projectId);
      const rows = valid.map(({ span }) => toRow(span, price));
      const spansByTrace = new Map<string, SpanRow[]>();
      for (const row of rows) {
        const list = spansByTrace.get(row.trace_external_id);
        if (list) list.push(row);
        else spansByTrace.set(row.trace_external_id, [row]);
      }
      // Totals are computed here for traces this batch creates (all their spans are at hand), and
      // recounted in SQL for traces that already had spans.
      const traces: TraceRow[] = [...spansByTrace].map(([externalId, spans]) => ({
        id: uuidv7(),
        external_id: externalId,
        ...traceTotals(spans),
      }));
      const step = (await listener?.prepare(projectId)) ?? null;
      await deps.db.transaction(async (sql) => {
        const stored = await upsertTraces(sql, projectId, traces);
        const idOf = new Map(stored.map((t) => [t.external_id, t.id]));
        const existed = stored.filter((t) => t.existed);
        const existedIds = new Set(existed.map((t) => t.external_id));
        for (const row of rows) row.trace_id = idOf.get(row.trace_external_id);
        const fresh = rows.filter((row) => !existedIds.has(row.trace_external_id));
        // Off, no rollups are written (analytics/query.ts then reads spans only).
        const rollups = deps.config.rollups.enabled;
        if (fresh.length > 0) await insertSpans(sql, projectId, fresh, rollups);
        if (existed.length > 0) {
          await upsertSpans(
            sql,
            projectId,
            rows.filter((row) => existedIds.has(row.trace_external_id)),
            rollups,
          );
          await refreshTraces(
            sql,
            existed.map((t) => t.id),
          );
        }
        await step?.write(
          sql,
          stored.map((t) => ({ ...t, spans: spansByTrace.get(t.external_id)! })),
        );
      });
      step?.committed();
      deps.meters.ingestedSpans.inc({ source: options.source ?? 'graphql' }, rows.length);
      result.traceCount = spansByTrace.size;
      return result;
    },
  };
}

function cut(text: string | null | undefined, max: number): [string | null, boolean] {
  if (text == null) return [null, false];
  return text.length > max ? [text.slice(0, max), true] : [text, false];
}

export type TraceService = ReturnType<typeof createTraceService>;
