// Scores from the API: check a batch against its names' configs, find its targets in the
// project, then write it and announce the new scores in one transaction. Without `partial`, one
// bad score refuses the batch (its first problem is the error, every problem is listed).
import { v7 as uuidv7 } from 'uuid';
import type { Deps } from '../../deps';
import type { Sql } from '../../storage/db';
import { appError, notFound } from '../../errors';
import type { Events } from '../events/emitter';
import { checkScore, type CheckedScore, type ScoreInput, type ScoreProblem } from './input';
import {
  configsByName,
  deleteScore,
  externalSpanKey,
  findTargets,
  writeScores,
  type Targets,
  type ScoreRow,
  type ScoreWrite,
} from './repo';

export const MAX_SCORES_PER_BATCH = 1_000;
/** Problems listed in an error's extensions; the count is always complete. */
const MAX_LISTED_PROBLEMS = 100;

/** Who writes: the principal's user and key. */
export interface Author {
  userId: string | null;
  apiKeyId: string | null;
}

export interface CreateResult {
  /** The stored scores of the accepted inputs, in input order. */
  scores: ScoreRow[];
  acceptedCount: number;
  rejectedCount: number;
  problems: ScoreProblem[];
}

const TARGET_NAMES = {
  trace: 'Trace',
  span: 'Span',
  evaluationItem: 'Evaluation item',
} as const;

export function createScoreService(deps: Deps, services: { events: Events }) {
  /** Problems of targets that are not in the project (missing and foreign alike: NOT_FOUND). */
  function missingTargets(found: Targets, checked: [number, CheckedScore][]): ScoreProblem[] {
    const problems: ScoreProblem[] = [];
    for (const [index, { target }] of checked) {
      if (target.kind === 'externalTrace') {
        if (placeOf(found, target)) continue;
        problems.push({
          index,
          field: target.span ? 'spanExternalId' : 'traceExternalId',
          message: `${target.span ? 'Span' : 'Trace'} was not found.`,
          code: 'NOT_FOUND',
        });
        continue;
      }
      const there =
        target.kind === 'session' ||
        (target.kind === 'trace' && found.traces.has(target.id)) ||
        (target.kind === 'span' && found.spanTraces.has(target.id)) ||
        (target.kind === 'evaluationItem' && found.evaluationItems.has(target.id));
      if (!there)
        problems.push({
          index,
          field: `${target.kind}Id`,
          message: `${TARGET_NAMES[target.kind as keyof typeof TARGET_NAMES]} was not found.`,
          code: 'NOT_FOUND',
        });
    }
    return problems;
  }

  return {
    /**
     * Checks and stores scores of a project. `path` is where the inputs are in the operation
     * (["input", "scores"] for a batch, ["input"] for one score): errors name the field under it.
     */
    async create(
      projectId: string,
      inputs: readonly ScoreInput[],
      options: { partial: boolean; author: Author; path: (string | number)[]; single?: boolean },
    ): Promise<CreateResult> {
      if (inputs.length > MAX_SCORES_PER_BATCH)
        throw appError(
          'BAD_USER_INPUT',
          `At most ${MAX_SCORES_PER_BATCH} scores can be sent at once; got ${inputs.length}.`,
          { extensions: { path: options.path } },
        );
      const now = deps.clock.now();
      // The configs of the batch's names and its targets, looked up together.
      const ids = { traces: new Set<string>(), spans: new Set<string>(), items: new Set<string>() };
      const external = { traces: new Set<string>(), spans: new Map<string, [string, string]>() };
      for (const s of inputs) {
        if (s.traceId) ids.traces.add(s.traceId);
        if (s.spanId) ids.spans.add(s.spanId);
        if (s.evaluationItemId) ids.items.add(s.evaluationItemId);
        if (typeof s.traceExternalId !== 'string') continue;
        if (typeof s.spanExternalId === 'string')
          external.spans.set(externalSpanKey(s.traceExternalId, s.spanExternalId), [
            s.traceExternalId,
            s.spanExternalId,
          ]);
        else external.traces.add(s.traceExternalId);
      }
      const [configs, targets] = await Promise.all([
        configsByName(
          deps.db.query,
          projectId,
          inputs.map((s) => s.name).filter((name) => typeof name === 'string'),
        ),
        findTargets(deps.db.query, projectId, {
          traces: [...ids.traces],
          spans: [...ids.spans],
          evaluationItems: [...ids.items],
          externalTraces: [...external.traces],
          externalSpans: [...external.spans.values()].map(([trace, span]) => ({ trace, span })),
        }),
      ]);
      const problems: ScoreProblem[] = [];
      const checked: [number, CheckedScore][] = [];
      inputs.forEach((input, index) => {
        const result = checkScore(input, index, configs.get(input.name), now);
        problems.push(...result.problems);
        if (result.score) checked.push([index, result.score]);
      });
      problems.push(...missingTargets(targets, checked));
      problems.sort((a, b) => a.index - b.index);
      const rejected = new Set(problems.map((p) => p.index));
      if (problems.length && !options.partial) throw batchError(problems, inputs.length, options);

      const accepted = checked.filter(([index]) => !rejected.has(index));
      const rows: ScoreWrite[] = accepted.map(([, s]) => ({
        id: uuidv7(),
        projectId,
        clientId: s.clientId,
        ...placeOf(targets, s.target)!,
        sessionId: s.target.kind === 'session' ? s.target.id : null,
        evaluationItemId: s.target.kind === 'evaluationItem' ? s.target.id : null,
        name: s.name,
        dataType: s.dataType,
        value: s.value,
        stringValue: s.stringValue,
        comment: s.comment,
        source: s.source,
        authorUserId: options.author.userId,
        authorApiKeyId: options.author.apiKeyId,
        userId: s.userId,
        evaluationId: null,
        evaluationRuleId: null,
        graderName: null,
        timestamp: s.timestamp,
      }));
      // A client id taken by a score of another source is found by the write itself (its
      // guard): without `partial` that refuses the batch, rolling the write back.
      const written = rows.length
        ? await services.events.transaction(async (sql, emit) => {
            const stored = await writeScores(sql, emit, rows);
            const taken = sourceTaken(stored, accepted);
            if (taken.length && !options.partial) throw batchError(taken, inputs.length, options);
            return { stored, taken };
          })
        : { stored: [], taken: [] };
      if (written.taken.length) {
        problems.push(...written.taken);
        problems.sort((a, b) => a.index - b.index);
        for (const p of written.taken) rejected.add(p.index);
      }
      return {
        scores: written.stored.filter((s) => s !== null),
        acceptedCount: inputs.length - rejected.size,
        rejectedCount: rejected.size,
        problems,
      };
    },

    /** Deletes a score of the project (NOT_FOUND when it has none by this id). */
    /** `within`: more writes of the same transaction (the audit entry). */
    async remove(projectId: string, id: string, within?: (sql: Sql) => Promise<void>) {
      await deps.db.transaction(async (sql) => {
        if (!(await deleteScore(sql, projectId, id))) throw notFound('Score');
        await within?.(sql);
      });
    },
  };
}

/** The trace and span a score is on (null for a target that is missing from `found`). */
function placeOf(
  found: Targets,
  target: CheckedScore['target'],
): { traceId: string | null; spanId: string | null } | null {
  switch (target.kind) {
    case 'trace':
      return { traceId: target.id, spanId: null };
    case 'span': {
      const traceId = found.spanTraces.get(target.id);
      return traceId ? { traceId, spanId: target.id } : null;
    }
    case 'externalTrace': {
      if (!target.span) {
        const traceId = found.externalTraces.get(target.id);
        return traceId ? { traceId, spanId: null } : null;
      }
      const span = found.externalSpans.get(externalSpanKey(target.id, target.span));
      return span ? { traceId: span.traceId, spanId: span.id } : null;
    }
    default:
      return { traceId: null, spanId: null };
  }
}

/** Problems of the scores the write refused: their client id is that of a score of another source. */
function sourceTaken(stored: (ScoreRow | null)[], accepted: [number, CheckedScore][]) {
  return stored.flatMap((score, i): ScoreProblem[] =>
    score
      ? []
      : [
          {
            index: accepted[i][0],
            field: 'clientId',
            message: 'is the id of a score of another source; a score keeps its source',
            code: 'BAD_USER_INPUT',
          },
        ],
  );
}

/** The error refusing a whole batch: its first problem, with the input's path, and the list. */
function batchError(
  problems: ScoreProblem[],
  total: number,
  options: { path: (string | number)[]; single?: boolean },
) {
  const first = problems[0];
  const path = options.single
    ? [...options.path, first.field]
    : [...options.path, first.index, first.field];
  if (options.single)
    return appError(
      first.code,
      first.code === 'NOT_FOUND' ? first.message : `${first.field} ${first.message}.`,
      {
        extensions: { path },
      },
    );
  const rejected = new Set(problems.map((p) => p.index)).size;
  return appError(
    first.code,
    `${rejected} of ${total} scores are invalid, so none were stored (first: scores[${first.index}].${first.field} ${first.code === 'NOT_FOUND' ? 'was not found' : first.message}).`,
    { extensions: { path, invalidScores: problems.slice(0, MAX_LISTED_PROBLEMS) } },
  );
}

export type ScoreService = ReturnType<typeof createScoreService>;
