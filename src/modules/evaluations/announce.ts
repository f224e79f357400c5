// Evaluation state changes, announced in the transaction that makes them: the evaluations are
// read as the change left them, each change is emitted (events/catalogue.ts builds the payloads),
// and a batch whose last evaluation ended this way completes, once, with its `batch.completed`.
import type { Sql } from '../../storage/db';
import type { BatchState, EvaluationEventName } from '../events/catalogue';
import { FINAL_EVENTS } from '../events/catalogue';
import type { Emit } from '../events/emitter';
import { loadEvaluationStates } from './summaries';

export interface EvaluationChange {
  type: EvaluationEventName;
  id: string;
}

/** Emits `changes` (in their order) with the evaluations as they are now in this transaction. */
export async function announceEvaluations(
  sql: Sql,
  emit: Emit,
  changes: EvaluationChange[],
): Promise<void> {
  if (!changes.length) return;
  const states = await loadEvaluationStates(sql, [...new Set(changes.map((c) => c.id))]);
  const batches = new Set<string>();
  for (const change of changes) {
    const state = states.get(change.id);
    if (!state) continue; // deleted meanwhile (with its project)
    emit(change.type, state);
    if (FINAL_EVENTS.has(change.type) && state.batchId) batches.add(state.batchId);
  }
  for (const batch of await completeBatches(sql, [...batches])) emit('batch.completed', batch);
}

/**
 * Marks completed the batches among `ids` whose evaluations have all ended, once: the batch rows
 * are locked first (in id order), then checked in a statement of its own, which sees the endings
 * that other transactions committed meanwhile; of concurrent endings, the last one completes it.
 */
async function completeBatches(sql: Sql, ids: string[]): Promise<BatchState[]> {
  if (!ids.length) return [];
  await sql(
    `SELECT id FROM evaluation_batches WHERE id = ANY($1::uuid[]) AND completed_at IS NULL ORDER BY id FOR UPDATE`,
    [ids],
  );
  return sql<BatchState>(
    `UPDATE evaluation_batches b SET completed_at = clock_timestamp()
      WHERE b.id = ANY($1::uuid[]) AND b.completed_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM evaluations x WHERE x.batch_id = b.id AND x.status NOT IN ('COMPLETED', 'FAILED', 'CANCELED'))
     RETURNING b.id::text, b.project_id::text AS "projectId", b.name,
       (SELECT json_agg(json_build_object('id', x.id, 'name', x.name, 'status', x.status) ORDER BY x.id) FROM evaluations x WHERE x.batch_id = b.id) AS evaluations`,
    [ids],
  );
}
