// An evaluation of production traffic (the `traces` data source) scores the spans it judged: each
// grader's result becomes a score on its item's span, so a trace shows what judged it.
import { MAX_COMMENT } from '../scores/input';
import type { ScoreDraft } from '../scores/internal';
import type { ItemOutcome } from './queue-sql';

/** The scores an item's results give its span (none for an item not taken from a span). */
export function spanScores(outcome: ItemOutcome, projectId: string, at: Date): ScoreDraft[] {
  const source = outcome.source;
  if (!source) return [];
  // A result without a score (its grader errored) judged nothing.
  return outcome.results
    .filter((r) => r.score !== null && r.error === null)
    .map((r) => ({
      projectId,
      input: {
        // No client id: the item's claim lets it be written once.
        spanId: source.spanId,
        name: r.grader_name,
        // No data type: NUMERIC unless the name's config says otherwise (a BOOLEAN takes 1 or 0).
        value: r.score,
        // The result keeps the whole reasoning; the score's copy is cut to what a score may hold,
        // so a long reasoning does not cost the span its score.
        comment: r.reasoning?.slice(0, MAX_COMMENT) ?? null,
        source: 'EVALUATION',
        timestamp: at,
      },
      traceId: source.traceId,
      evaluationId: outcome.evaluationId,
      evaluationRuleId: null,
      graderName: r.grader_name,
    }));
}
