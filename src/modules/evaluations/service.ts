// Evaluations: creation (everything validated first, then stored QUEUED in one transaction with
// its items), cancel and rerun. Workers do the grading (runner.ts); datasets are in datasets.ts.
import { v7 as uuidv7 } from 'uuid';
import type { Deps } from '../../deps';
import { appError, badInput, notFound } from '../../errors';
import { needsJudge } from '../graders/grade';
import { checkTestingCriteria } from '../graders/validate';
import type { Judge } from '../providers/router';
import { checkCompletionsRoute } from './generation';
import { secondsToNextMinute, type Quotas } from '../ratelimit/quotas';
import { utcMinute } from '../../lib/days';
import { addUsage } from '../ratelimit/usage-sql';
import type { Emit, Events } from '../events/emitter';
import { announceEvaluations } from './announce';
import { createDatasets } from './datasets';
import { lockDataset } from './dataset-sql';
import { itemsOf, type DataSourceInput } from './data-source';
import { checkImport, type OpenAIImportInput, translateOpenAIEval } from './openai-import';
import { outputsAsked, planOutputs, type OutputsInput } from './outputs';
import { stopEvaluation } from './queue-sql';
import { createSupplied } from './supplied';
import type { Sql } from '../../storage/db';

export interface EvaluationInput {
  projectId: string;
  creatorId: string | null;
  name: string;
  testingCriteria: unknown;
  dataSource: DataSourceInput & OutputsInput;
  batchId?: string | null;
  /** Where it was imported from, recorded in its stored dataSource (importOpenAIEval: the run). */
  importedFrom?: { openAIRunId: string | null };
}

/** QUOTA_EXCEEDED (429); for a minute window with Retry-After and `extensions.retryAfter` (seconds). */
function quotaError(message: string, retryAfter: number | null) {
  return appError('QUOTA_EXCEEDED', message, {
    status: 429,
    ...(retryAfter !== null
      ? { headers: { 'Retry-After': String(retryAfter) }, extensions: { retryAfter } }
      : {}),
  });
}

export function createEvaluationService(
  deps: Deps,
  services: { judge: Judge; quotas: Quotas; events: Events },
) {
  const { db } = deps;
  const datasets = createDatasets(deps);

  /** Everything checked and the items loaded; nothing stored yet. */
  async function prepare(input: EvaluationInput) {
    const name = input.name.trim();
    if (!name || name.length > 200)
      throw badInput('The name must be 1 to 200 characters.', ['input', 'name']);
    const graders = checkTestingCriteria(input.testingCriteria, {
      judges: services.judge,
      path: ['input', 'testingCriteria'],
    });
    const asked = outputsAsked(input.dataSource);
    if (asked.completions && !services.judge.configured)
      throw badInput(
        'Generating outputs needs a model provider, and none is configured (EVALGRAPH_JUDGE_API_KEY).',
        ['input', 'dataSource', 'completions'],
      );
    if (asked.completions)
      checkCompletionsRoute(asked.completions, services.judge, [
        'input',
        'dataSource',
        'completions',
      ]);
    if (input.batchId) {
      const batch = await db.prisma.evaluationBatch.findUnique({
        where: { id: input.batchId },
        select: { projectId: true },
      });
      if (!batch || batch.projectId !== input.projectId)
        throw notFound('Evaluation batch', ['input', 'batchId']);
    }
    const subjects = { userId: input.creatorId, projectId: input.projectId };
    const quota =
      (await services.quotas.refusal(subjects, 'evaluations')) ??
      (graders.some(needsJudge) || asked.completions
        ? await services.quotas.refusal(subjects, 'judge')
        : null);
    if (quota) throw quotaError(quota.message, quota.retryAfter);
    if (graders.some(needsJudge) || asked.completions) {
      const instance = await services.quotas.instanceExceeded();
      if (instance) throw services.quotas.instanceRefusal(instance);
    }
    const items = await itemsOf(db, input.projectId, input.dataSource);
    const planned = planOutputs(asked, items.rows, items.stored);
    const { outputs, itemState, rows } = planned;
    const stored = input.importedFrom
      ? { ...planned.stored, importedFrom: input.importedFrom }
      : planned.stored;
    const dataset = items.dataset;
    if (rows.length === 0) throw badInput('The data source has no items.', ['input', 'dataSource']);
    const evaluationsPerDay = input.creatorId
      ? (await services.quotas.quota(input.creatorId)).evaluations
      : null;
    const projectEvaluationsPerDay = (await services.quotas.projectBudget(input.projectId))
      .evaluations;
    const evaluationsPerMinute = input.creatorId
      ? (await services.quotas.minuteQuota(input.creatorId)).evaluations
      : null;
    return {
      ...input,
      name,
      rows,
      stored,
      dataset,
      outputs,
      itemState,
      evaluationsPerDay,
      projectEvaluationsPerDay,
      evaluationsPerMinute,
    };
  }

  async function insertEvaluations(
    sql: Sql,
    prepared: Awaited<ReturnType<typeof prepare>>[],
    batchId: string | null,
  ): Promise<string[]> {
    const ids: string[] = [];
    for (const p of prepared) {
      // Imports of one run at once: the first to get here stores it, the others are refused.
      const runId = p.importedFrom?.openAIRunId;
      if (runId) await refuseImportedRun(sql, p.projectId, runId, { lock: true });
      const [evaluation] = await sql<{ id: string }>(
        `INSERT INTO evaluations (id, project_id, creator_id, batch_id, name, testing_criteria, data_source, total_count, dataset_id, dataset_version, outputs, updated_at)
         VALUES ($8::uuid, $1::uuid, $2::uuid, $3::uuid, $4, $5::jsonb, $6::jsonb, $7, $9::uuid, $10::timestamptz, $11::"EvaluationOutputs", now()) RETURNING id::text`,
        [
          p.projectId,
          p.creatorId,
          batchId ?? p.batchId ?? null,
          p.name,
          JSON.stringify(p.testingCriteria),
          JSON.stringify(p.stored),
          p.rows.length,
          uuidv7(),
          p.dataset?.id ?? null,
          p.dataset?.version ?? null,
          p.outputs,
        ],
      );
      await sql(
        `INSERT INTO evaluation_items (id, evaluation_id, position, input, expected_output, output, contexts, metadata, source_span_id, dataset_item_id, state)
         SELECT (r.value->>'id')::uuid, $1::uuid, r.ordinality - 1, r.value->'input', r.value->'expected_output', r.value->'output',
           ARRAY(SELECT jsonb_array_elements_text(COALESCE(r.value->'contexts', '[]'::jsonb))), r.value->'metadata', (r.value->>'source_span_id')::uuid,
           (r.value->>'dataset_item_id')::uuid, $3::"EvaluationItemState"
         FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS r(value, ordinality)`,
        [
          evaluation.id,
          JSON.stringify(p.rows.map((row) => ({ ...row, id: uuidv7() }))),
          p.itemState,
        ],
      );
      // Counted first, then checked, on the rows this transaction now holds locked: parallel
      // creations cannot all slip under the quota together.
      const counted = await addUsage(
        sql,
        deps.clock.now(),
        { userId: p.creatorId, projectId: p.projectId },
        { evaluations: 1 },
      );
      if (
        p.creatorId &&
        p.evaluationsPerDay !== null &&
        (counted.user ?? 0) > p.evaluationsPerDay
      ) {
        throw appError(
          'QUOTA_EXCEEDED',
          `Your daily quota of ${p.evaluationsPerDay} evaluations reached; it resets at 00:00 UTC.`,
          { status: 429 },
        );
      }
      const minute = p.evaluationsPerMinute;
      if (minute?.burst != null && (counted.userThisMinute ?? 0) > minute.burst) {
        const now = deps.clock.now();
        throw quotaError(
          `Your per-minute quota of ${minute.perMinute} evaluations (bursts of ${minute.burst}) reached; it frees at ${new Date(utcMinute(now).getTime() + 60_000).toISOString()}.`,
          secondsToNextMinute(now),
        );
      }
      if (p.projectEvaluationsPerDay !== null && counted.project > p.projectEvaluationsPerDay) {
        throw appError(
          'QUOTA_EXCEEDED',
          `The project's daily budget of ${p.projectEvaluationsPerDay} evaluations reached; it resets at 00:00 UTC.`,
          { status: 429 },
        );
      }
      ids.push(evaluation.id);
    }
    return ids;
  }

  /** Stores the evaluations and announces them, in one transaction. */
  async function store(
    sql: Sql,
    emit: Emit,
    prepared: Awaited<ReturnType<typeof prepare>>[],
    batchId: string | null,
  ) {
    const ids = await insertEvaluations(sql, prepared, batchId);
    await announceEvaluations(
      sql,
      emit,
      ids.map((id) => ({ type: 'evaluation.created' as const, id })),
    );
    return ids;
  }

  /**
   * Deletes a dataset an import made, unless an evaluation uses it. Its row is locked first: an
   * evaluation being stored on it (its foreign key holds the row) is waited for, then seen.
   */
  async function dropUnused(datasetId: string) {
    await db.transaction(async (sql) => {
      if (!(await lockDataset(sql, datasetId))) return;
      await sql(
        `DELETE FROM datasets d WHERE d.id = $1::uuid AND NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.dataset_id = d.id)`,
        [datasetId],
      );
    });
  }

  async function createEvaluation(input: EvaluationInput) {
    const prepared = await prepare(input);
    const [id] = await services.events.transaction((sql, emit) =>
      store(sql, emit, [prepared], null),
    );
    return id;
  }

  return {
    createEvaluation,

    /** A batch and its evaluations, all checked before any is stored, then stored in one transaction. */
    async createEvaluationBatch(input: {
      projectId: string;
      name: string;
      evaluations: EvaluationInput[];
    }) {
      const prepared: Awaited<ReturnType<typeof prepare>>[] = [];
      for (const [i, evaluation] of input.evaluations.entries()) {
        try {
          prepared.push(await prepare(evaluation));
        } catch (error) {
          // Say which evaluation of the batch: its index goes in front of the input path.
          const path = (error as { extensions?: { path?: (string | number)[] } }).extensions?.path;
          if (path?.[0] === 'input') path.splice(1, 0, 'evaluations', i);
          throw error;
        }
      }
      return services.events.transaction(async (sql, emit) => {
        const [batch] = await sql<{ id: string }>(
          `INSERT INTO evaluation_batches (id, project_id, name) VALUES ($3::uuid, $1::uuid, $2) RETURNING id::text`,
          [input.projectId, input.name, uuidv7()],
        );
        await store(sql, emit, prepared, batch.id);
        return batch.id;
      });
    },

    async cancelEvaluation(id: string) {
      const stopped = await services.events.transaction(async (sql, emit) => {
        const done = await stopEvaluation(sql, id, 'CANCELED', null);
        if (done) await announceEvaluations(sql, emit, [{ type: 'evaluation.canceled', id }]);
        return done;
      });
      if (!stopped) throw badInput('The evaluation has already finished.', ['input', 'id']);
    },

    /** Re-queues the items that errored (or never ran, after a stop); their old results are removed. */
    async rerunEvaluation(id: string) {
      const requeued = await services.events.transaction(async (sql, emit) => {
        const [evaluation] = await sql<{ status: string }>(
          `SELECT status::text FROM evaluations WHERE id = $1::uuid FOR UPDATE`,
          [id],
        );
        if (!evaluation || ['QUEUED', 'RUNNING'].includes(evaluation.status)) return -1;
        const items = await sql<{ id: string; state: string }>(
          `SELECT id::text, state::text FROM evaluation_items WHERE evaluation_id = $1::uuid AND state IN ('ERRORED', 'CANCELED') FOR UPDATE`,
          [id],
        );
        if (items.length === 0) return 0;
        const ids = items.map((i) => i.id);
        const errored = items.filter((i) => i.state === 'ERRORED').length;
        await sql(`DELETE FROM evaluation_results WHERE evaluation_item_id = ANY($1::uuid[])`, [
          ids,
        ]);
        // An item still without its supplied output waits for it again.
        await sql(
          `UPDATE evaluation_items i SET attempts = 0, last_error = NULL, completed_at = NULL, lease_token = NULL, lease_expires_at = NULL, next_attempt_at = now(),
             state = CASE WHEN e.outputs = 'SUPPLIED' AND i.output IS NULL THEN 'AWAITING_OUTPUT' ELSE 'PENDING' END::"EvaluationItemState"
           FROM evaluations e WHERE e.id = i.evaluation_id AND i.id = ANY($1::uuid[])`,
          [ids],
        );
        await sql(
          `UPDATE evaluations SET status = 'RUNNING', finished_at = NULL, error = NULL, error_code = NULL, cancel_requested_at = NULL,
             completed_count = completed_count - $2, errored_count = errored_count - $2, updated_at = now() WHERE id = $1::uuid`,
          [id, errored],
        );
        await announceEvaluations(sql, emit, [{ type: 'evaluation.started', id }]);
        return items.length;
      });
      if (requeued < 0) throw badInput('The evaluation is still running.', ['input', 'id']);
      return requeued;
    },

    /**
     * An OpenAI Evals eval and run (openai-import.ts) as an evaluation on the eval's dataset (made
     * by its first import), of the run's items: an item of the same content already there is
     * reused, the others added, so the eval's runs share items and compare. All checked before the
     * dataset is written; a dataset this import made goes again if the evaluation is refused.
     */
    async importOpenAIEval(
      input: OpenAIImportInput & { projectId: string; creatorId: string | null },
    ) {
      const translated = translateOpenAIEval(input);
      checkImport(translated, { judges: services.judge });
      // Refused before anything is written; checked again where its evaluation is stored.
      if (translated.runId) await refuseImportedRun(db.query, input.projectId, translated.runId);
      const evaluation = (dataSource: EvaluationInput['dataSource']): EvaluationInput => ({
        projectId: input.projectId,
        creatorId: input.creatorId,
        name: translated.evaluationName,
        testingCriteria: translated.testingCriteria,
        dataSource: { ...dataSource, completions: translated.completions },
        importedFrom: { openAIRunId: translated.runId },
      });
      // What the evaluation would refuse (a quota above all), refused before the dataset is written.
      await prepare(evaluation({ items: translated.items }));
      const find = () =>
        db.prisma.dataset.findUnique({
          where: { projectId_name: { projectId: input.projectId, name: translated.datasetName } },
        });
      for (let attempt = 1; ; attempt++) {
        let dataset = await find();
        let made = false;
        if (!dataset) {
          try {
            dataset = await datasets.createDataset({
              projectId: input.projectId,
              name: translated.datasetName,
              description: 'Imported from OpenAI Evals.',
              items: [],
            });
            made = true;
          } catch (error) {
            // An import of another run of the eval made it meanwhile: shared, as it would be after.
            dataset = await find();
            // Or made and removed again (its import refused) in between: once more.
            if (!dataset && attempt < 3) continue;
            if (!dataset) throw error;
          }
        }
        try {
          const ids = await datasets.itemIdsFor(dataset.id, translated.items, translated.itemsPath);
          const evaluationId = await createEvaluation(
            evaluation({ datasetId: dataset.id, datasetItemIds: ids }),
          );
          return { datasetId: dataset.id, evaluationId };
        } catch (error) {
          if (made) await dropUnused(dataset.id);
          // The import that made the dataset failed and removed it before this one's evaluation
          // was stored: again, on the eval's dataset as it is now.
          else if (attempt < 3 && (await find())?.id !== dataset.id) continue;
          throw error;
        }
      }
    },

    // Datasets (datasets.ts): createDataset, addDatasetItems, updateDatasetItem, archiveDatasetItem.
    ...datasets,
    // Supplied outputs (supplied.ts): submitEvaluationOutputs, closeEvaluation.
    ...createSupplied(deps, services.events),
  };
}

export type EvaluationService = ReturnType<typeof createEvaluationService>;

/**
 * Refuses an OpenAI Evals run imported already into the project. With `lock`, the run's import is
 * held until the transaction ends (a transaction-level advisory lock on the project and run), so
 * that imports of the same run at once cannot each find none and store one each.
 */
async function refuseImportedRun(
  sql: Sql,
  projectId: string,
  runId: string,
  options: { lock?: boolean } = {},
) {
  if (options.lock)
    await sql(
      `SELECT pg_advisory_xact_lock(hashtextextended('openai-import:' || $1 || ':' || $2, 0))`,
      [projectId, runId],
    );
  const [imported] = await sql(
    `SELECT 1 FROM evaluations WHERE project_id = $1::uuid AND data_source->'importedFrom'->>'openAIRunId' = $2`,
    [projectId, runId],
  );
  if (imported) throw badInput(`The run ${runId} was imported already.`, ['input', 'run', 'id']);
}
