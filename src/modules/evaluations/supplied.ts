// Outputs supplied by the caller (an evaluation created with `outputs: SUPPLIED`): its items wait,
// unclaimed, until their outputs arrive (submitEvaluationOutputs), are then queued and graded like
// any other, and the evaluation completes once every item is graded or, after closeEvaluation,
// skipped. An item is named by its EvaluationItem id or, for a run on a dataset, by the id of the
// dataset item it was made from (what the caller's experiment iterates over).
import type { Deps } from '../../deps';
import { badInput, notFound } from '../../errors';
import { isUuid } from '../../lib/ids';
import { topics } from '../events/catalogue';
import type { Events } from '../events/emitter';
import { announceEvaluations } from './announce';
import { MAX_ITEM_JSON } from './datasets';

export const MAX_OUTPUTS_PER_CALL = 1_000;
const MAX_TRACE_ID = 200;

export interface SuppliedOutput {
  itemId: string;
  output: unknown;
  traceId?: string | null;
}

interface WaitingItem {
  id: string;
  dataset_item_id: string | null;
  state: string;
}

/** Why an item that is not waiting cannot take an output. */
const notWaiting: Record<string, string> = {
  SKIPPED: 'was skipped: the evaluation was closed before its output arrived',
  CANCELED: 'was canceled with its evaluation',
};

export function createSupplied(deps: Pick<Deps, 'db' | 'pubsub'>, events: Events) {
  const { db } = deps;

  /** The evaluation's output mode and status; NOT_FOUND when it is gone. */
  async function evaluationOf(id: string) {
    const [row] = await db.query<{ outputs: string; status: string }>(
      `SELECT outputs::text, status::text FROM evaluations WHERE id = $1::uuid`,
      [id],
    );
    if (!row) throw notFound('Evaluation', ['input', 'evaluationId']);
    return row;
  }

  /** Checks the outputs alone (sizes, one per item named); returns them with lower-case ids. */
  function checkOutputs(outputs: SuppliedOutput[]) {
    const path = ['input', 'outputs'];
    if (outputs.length === 0 || outputs.length > MAX_OUTPUTS_PER_CALL)
      throw badInput(`Send 1 to ${MAX_OUTPUTS_PER_CALL} outputs at a time.`, path);
    return outputs.map((o, i) => {
      if (o.output === undefined || o.output === null)
        throw badInput(`Output ${i} is null.`, [...path, i, 'output']);
      if (JSON.stringify(o.output).length > MAX_ITEM_JSON)
        throw badInput(`Output ${i} is larger than ${MAX_ITEM_JSON} bytes of JSON.`, [
          ...path,
          i,
          'output',
        ]);
      if (o.traceId != null && (o.traceId.length === 0 || o.traceId.length > MAX_TRACE_ID))
        throw badInput(`traceId must be 1 to ${MAX_TRACE_ID} characters.`, [...path, i, 'traceId']);
      return { ...o, itemId: o.itemId.toLowerCase() };
    });
  }

  return {
    /**
     * Stores the outputs of waiting items and queues them for grading, all or none; returns how
     * many. Another evaluation's item, or an id that names none, is NOT_FOUND at its index; an item
     * named twice, or whose output already came, BAD_USER_INPUT.
     */
    async submitEvaluationOutputs(evaluationId: string, given: SuppliedOutput[]) {
      const outputs = checkOutputs(given);
      const evaluation = await evaluationOf(evaluationId);
      if (evaluation.outputs !== 'SUPPLIED')
        throw badInput(
          'This evaluation grades outputs it does not take from you (it was not created with outputs: SUPPLIED).',
          ['input', 'evaluationId'],
        );
      if (!['QUEUED', 'RUNNING'].includes(evaluation.status))
        throw badInput(`The evaluation has finished (${evaluation.status}).`, [
          'input',
          'evaluationId',
        ]);
      const ids = outputs.map((o) => o.itemId).filter(isUuid);
      const count = await db.transaction(async (sql) => {
        // Items are locked before their evaluation, as every writer of both does (no deadlock);
        // a close or cancel meanwhile shows in their states.
        const items = await sql<WaitingItem>(
          `SELECT id::text, dataset_item_id::text, state::text FROM evaluation_items
           WHERE evaluation_id = $1::uuid AND (id = ANY($2::uuid[]) OR dataset_item_id = ANY($2::uuid[])) ORDER BY id FOR UPDATE`,
          [evaluationId, ids],
        );
        const byId = new Map<string, WaitingItem>();
        for (const item of items) byId.set(item.id, item);
        for (const item of items) if (item.dataset_item_id) byId.set(item.dataset_item_id, item);
        const named = new Map<string, number>();
        const rows = outputs.map((o, i) => {
          const path = ['input', 'outputs', i, 'itemId'];
          const item = byId.get(o.itemId);
          if (!item) throw notFound('Evaluation item', path);
          const before = named.get(item.id);
          if (before !== undefined)
            throw badInput(`Item ${o.itemId} is given twice (at ${before} and ${i}).`, path);
          named.set(item.id, i);
          if (item.state !== 'AWAITING_OUTPUT')
            throw badInput(
              `Item ${o.itemId} ${notWaiting[item.state] ?? 'already has its output'}.`,
              path,
            );
          return { id: item.id, output: o.output, trace_id: o.traceId ?? null };
        });
        await sql(
          `UPDATE evaluation_items i SET output = o.output, output_trace_id = o.trace_id, state = 'PENDING', next_attempt_at = now()
           FROM json_to_recordset($1::json) AS o(id uuid, output jsonb, trace_id text)
           WHERE i.id = o.id AND i.state = 'AWAITING_OUTPUT'`,
          [JSON.stringify(rows)],
        );
        return rows.length;
      });
      // Queued: any worker may take them now.
      deps.pubsub.publish(topics.evaluationWork, {});
      return count;
    },

    /**
     * No more outputs will come: the items still waiting are skipped, and the evaluation completes
     * once the items queued before are graded (at once, when none is left). Returns how many were
     * skipped.
     */
    async closeEvaluation(id: string) {
      const evaluation = await evaluationOf(id);
      if (evaluation.outputs !== 'SUPPLIED')
        throw badInput(
          'Only an evaluation waiting for your outputs is closed; cancelEvaluation stops any other.',
          ['input', 'id'],
        );
      const closed = await events.transaction(async (sql, emit) => {
        const skipped = await sql(
          `UPDATE evaluation_items SET state = 'SKIPPED', completed_at = now()
           WHERE evaluation_id = $1::uuid AND state = 'AWAITING_OUTPUT' RETURNING id`,
          [id],
        );
        const [row] = await sql<{ done: boolean }>(
          `UPDATE evaluations SET skipped_count = skipped_count + $2, updated_at = now(),
             status = CASE WHEN completed_count + skipped_count + $2 >= total_count THEN 'COMPLETED'::"EvaluationStatus" ELSE status END,
             started_at = CASE WHEN completed_count + skipped_count + $2 >= total_count THEN coalesce(started_at, now()) ELSE started_at END,
             finished_at = CASE WHEN completed_count + skipped_count + $2 >= total_count THEN now() ELSE finished_at END
           WHERE id = $1::uuid AND status IN ('QUEUED', 'RUNNING') RETURNING status = 'COMPLETED' AS done`,
          [id, skipped.length],
        );
        if (!row) return null;
        await announceEvaluations(sql, emit, [
          { type: row.done ? 'evaluation.completed' : 'evaluation.progress', id },
        ]);
        return skipped.length;
      });
      if (closed === null) throw badInput('The evaluation has already finished.', ['input', 'id']);
      return closed;
    },
  };
}
