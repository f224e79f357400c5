// Graded items are written through a group commit (ratelimit/unwritten.ts createSpendingWriter):
// outcomes that arrive while a write is running are written together by the next statement, so a
// busy evaluation's hot rows (its counts, the usage counters) are locked once per group rather
// than once per item. Each group's progress and completion events are emitted in its transaction.
import type { Deps } from '../../deps';
import { fromUnits, toUnits } from '../../lib/money';
import type { Events } from '../events/emitter';
import { createSpendingWriter } from '../ratelimit/unwritten';
import { checkDrafts } from '../scores/internal';
import { writeScores } from '../scores/repo';
import { announceEvaluations } from './announce';
import { writeOutcomes, type ItemOutcome } from './queue-sql';
import { spanScores } from './span-scores';

type Subjects = { userId: string | null; projectId: string | null };

interface Pending {
  outcome: ItemOutcome;
  subjects: Subjects;
}

/** What an outcome spent on models, as quotas count it: judging and generating its output. */
function spentBy({ outcome: o, subjects }: Pending) {
  if (!o.generated) return { ...o, ...subjects };
  return {
    ...subjects,
    judgeInputTokens: o.judgeInputTokens + o.generated.inputTokens,
    judgeOutputTokens: o.judgeOutputTokens + o.generated.outputTokens,
    // An unpriced generation counts nothing against cost budgets: its cost is unknown.
    judgeCost: fromUnits(toUnits(o.judgeCost) + toUnits(o.generated.cost ?? '0')),
  };
}

export function createOutcomeWriter(deps: Deps, token: string, events: Events) {
  const writer = createSpendingWriter(events, {
    spending: spentBy,
    async write(sql, emit, group) {
      const result = await writeOutcomes(
        sql,
        token,
        deps.clock.now(),
        group.map((p) => ({ ...p.outcome, ...p.subjects })),
      );
      // An evaluation completed by this group is announced once, with its last item written here.
      const announced = new Set<string>();
      const completes = new Set<Pending>();
      for (const p of [...group].reverse()) {
        const id = p.outcome.evaluationId;
        if (
          result.completed.has(id) &&
          result.written.has(p.outcome.itemId) &&
          !announced.has(id)
        ) {
          announced.add(id);
          completes.add(p);
        }
      }
      // Results of items taken from spans score those spans, written with the item (exactly once),
      // each checked against its name's config as every score Evalgraph gives is. A score its
      // config refuses is skipped and its item keeps its result: the result is the evaluation's
      // (counted, shown, graded against the criteria the evaluation was created with), the span
      // score only a copy of it, so a config the evaluation never asked about does not fail it.
      const drafts = group.flatMap((p) =>
        result.written.has(p.outcome.itemId) && p.subjects.projectId
          ? spanScores(p.outcome, p.subjects.projectId, deps.clock.now())
          : [],
      );
      const checked = await checkDrafts(sql, drafts, deps.clock.now());
      const refused = checked.flatMap((c, i) =>
        c.refused === null ? [] : [{ evaluationId: drafts[i].evaluationId, refused: c.refused }],
      );
      if (refused.length)
        deps.log.warn({ refused: refused.slice(0, 10) }, 'span scores refused by their configs');
      await writeScores(
        sql,
        emit,
        checked.flatMap((c) => (c.row ? [c.row] : [])),
      );
      // Progress for each item written, in the transaction that wrote it.
      const changes = group
        .filter((p) => result.written.has(p.outcome.itemId))
        .flatMap((p) => [
          { type: 'evaluation.progress' as const, id: p.outcome.evaluationId },
          ...(completes.has(p)
            ? [{ type: 'evaluation.completed' as const, id: p.outcome.evaluationId }]
            : []),
        ]);
      await announceEvaluations(sql, emit, changes);
      return group.map((p) => ({
        written: result.written.has(p.outcome.itemId),
        completed: completes.has(p),
      }));
    },
  });

  return {
    /** Runs `read` (of committed usage) with the user's and the project's judge spending queued here and not yet committed, while no group commits. */
    withUnwritten: writer.withUnwritten,
    /** Resolves once the item is stored (or its claim found lost), saying whether this write completed its evaluation. */
    write(
      outcome: ItemOutcome,
      subjects: Subjects,
    ): Promise<{ written: boolean; completed: boolean }> {
      return writer.write({ outcome, subjects });
    },
  };
}
