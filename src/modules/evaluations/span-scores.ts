// An evaluation of production traffic (the `traces` data source) scores the spans it judged: each
// grader's result becomes a score on its item's span, so a trace shows what judged it.
import { v7 as uuidv7 } from 'uuid';
import type { ScoreWrite } from '../scores/repo';
import type { ItemOutcome } from './queue-sql';

/** The scores an item's results give its span (none for an item not taken from a span). */
export function spanScores(outcome: ItemOutcome, projectId: string, at: Date): ScoreWrite[] {
  const source = outcome.source;
  if (!source) return [];
  // A result without a score (its grader errored) judged nothing.
  return outcome.results
    .filter((r) => r.score !== null && r.error === null)
    .map((r) => ({
      id: uuidv7(),
      projectId,
      // No client id: the item's claim lets it be written once.
      clientId: null,
      traceId: source.traceId,
      spanId: source.spanId,
      sessionId: null,
      evaluationItemId: null,
      name: r.grader_name,
      dataType: 'NUMERIC',
      value: r.score,
      stringValue: null,
      comment: r.reasoning,
      source: 'EVALUATION',
      authorUserId: null,
      authorApiKeyId: null,
      userId: null,
      evaluationId: outcome.evaluationId,
      evaluationRuleId: null,
      graderName: r.grader_name,
      timestamp: at,
    }));
}
