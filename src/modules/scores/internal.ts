// Scores Evalgraph gives itself (an evaluation's span scores, an online evaluation rule's): each
// is checked against its name's config like any other (input.ts checkScore, `internal` for their
// sources), the configs read in the writer's transaction. What a refused score does to the work
// that gave it is the writer's to say.
import { v7 as uuidv7 } from 'uuid';
import type { Sql } from '../../storage/db';
import { checkScore, type ScoreConfigRow, type ScoreInput } from './input';
import { configsByName, type ScoreWrite } from './repo';

/** A grader's result as a score, before it is checked against its name's config. */
export interface ScoreDraft {
  projectId: string;
  /** One target: the trace (traceId) or the span (spanId). */
  input: ScoreInput;
  /** The target's trace. */
  traceId: string;
  evaluationId: string | null;
  evaluationRuleId: string | null;
  graderName: string;
}

/** A draft checked: the row to write, or why its config refuses it. */
export type CheckedDraft = { row: ScoreWrite; refused: null } | { row: null; refused: string };

/** Each draft checked against its project's config of its name, in the order of `drafts`. */
export async function checkDrafts(
  sql: Sql,
  drafts: readonly ScoreDraft[],
  now: Date,
): Promise<CheckedDraft[]> {
  const names = new Map<string, Set<string>>();
  for (const d of drafts) {
    const of = names.get(d.projectId) ?? new Set<string>();
    names.set(d.projectId, of.add(d.input.name));
  }
  const configs = new Map<string, Map<string, ScoreConfigRow>>();
  for (const [projectId, of] of names)
    configs.set(projectId, await configsByName(sql, projectId, [...of]));
  return drafts.map((d): CheckedDraft => {
    const config = configs.get(d.projectId)?.get(d.input.name);
    const { problems, score } = checkScore(d.input, 0, config, now, { internal: true });
    if (!score)
      return { row: null, refused: `${d.input.name} ${problems[0].field} ${problems[0].message}` };
    return {
      refused: null,
      row: {
        id: uuidv7(),
        projectId: d.projectId,
        clientId: score.clientId,
        traceId: d.traceId,
        spanId: score.target.kind === 'span' ? score.target.id : null,
        sessionId: null,
        evaluationItemId: null,
        name: score.name,
        dataType: score.dataType,
        value: score.value,
        stringValue: score.stringValue,
        comment: score.comment,
        source: score.source,
        authorUserId: null,
        authorApiKeyId: null,
        userId: score.userId,
        evaluationId: d.evaluationId,
        evaluationRuleId: d.evaluationRuleId,
        graderName: d.graderName,
        timestamp: score.timestamp,
      },
    };
  });
}
