// Deleting one dataset or one evaluation: small enough for one transaction, so no data job. Each
// needs the write right on its project; a foreign or missing id is NOT_FOUND. The rows go through
// delete-sql.ts, with the audit entry in the same transaction.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { badInput, notFound } from '../../errors';
import { builder } from '../../schema/builder';
import { authorizeId } from '../auth/access';
import { recordAudit } from '../audit/record';
import { DatasetRef } from '../evaluations/dataset-schema';
import { EvaluationRef } from '../evaluations/schema';
import { deleteDatasetRows, deleteEvaluationBatch } from './delete-sql';

builder.relayMutationField(
  'deleteDataset',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: DatasetRef }) }) },
  {
    description:
      'Deletes a dataset with its versions and items (write right). Evaluations that ran on it stay, with their items and results; their dataset becomes null.',
    resolve: async (_root, { input }, ctx) => {
      const id = input.id.id;
      const projectId = await authorizeId(ctx, 'Dataset', id, 'write', ['input', 'id']);
      await ctx.deps.db.transaction(async (sql) => {
        // Deleted meanwhile: answered as any missing id.
        if (!(await deleteDatasetRows(sql, projectId, id)))
          throw notFound('Dataset', ['input', 'id']);
        await recordAudit(
          ctx,
          { action: 'dataset.delete', projectId, targetType: 'Dataset', targetId: id },
          sql,
        );
      });
      return { id };
    },
  },
  {
    outputFields: (t) => ({
      deletedDatasetId: t.id({ resolve: (p) => encodeGlobalID('Dataset', p.id) }),
    }),
  },
);

builder.relayMutationField(
  'deleteEvaluation',
  { inputFields: (t) => ({ id: t.globalID({ required: true, for: EvaluationRef }) }) },
  {
    description:
      'Deletes a finished evaluation (write right): its items, results and webhook messages, and the scores it wrote, taken out of the score rollups. One still QUEUED or RUNNING is refused (BAD_USER_INPUT): cancel it first (cancelEvaluation).',
    resolve: async (_root, { input }, ctx) => {
      const id = input.id.id;
      const projectId = await authorizeId(ctx, 'Evaluation', id, 'write', ['input', 'id']);
      await ctx.deps.db.transaction(async (sql) => {
        // Its row locked as rerunEvaluation locks it: it is not queued again meanwhile.
        const [row] = await sql<{ status: string; name: string }>(
          `SELECT status::text, name FROM evaluations WHERE id = $1::uuid FOR UPDATE`,
          [id],
        );
        if (!row) throw notFound('Evaluation', ['input', 'id']);
        // Workers grading its items would write results and scores of rows gone: it stops first.
        if (row.status === 'QUEUED' || row.status === 'RUNNING')
          throw badInput(
            `The evaluation is ${row.status}: cancel it (cancelEvaluation) before deleting it.`,
            ['input', 'id'],
          );
        await deleteEvaluationBatch(sql, projectId, [id]);
        await recordAudit(
          ctx,
          {
            action: 'evaluation.delete',
            projectId,
            targetType: 'Evaluation',
            targetId: id,
            details: { name: row.name, status: row.status },
          },
          sql,
        );
      });
      return { id };
    },
  },
  {
    outputFields: (t) => ({
      deletedEvaluationId: t.id({ resolve: (p) => encodeGlobalID('Evaluation', p.id) }),
    }),
  },
);
