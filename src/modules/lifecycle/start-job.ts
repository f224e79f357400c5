// How a deleting call starts its data job: made with its audit entry (and the call's own writes)
// in one transaction, worked on by the call until EVALGRAPH_DELETE_INLINE_MS is up, then handed to
// the workers. deleteTraces, deleteEndUserData and deleteProject all start theirs here.
import type { Context } from '../../context';
import type { Sql } from '../../storage/db';
import { recordAudit } from '../audit/record';
import type { DataJobKind, DataJobRow, DataJobTarget } from './data-jobs';

export interface StartOptions {
  /** What the audit entry names (default: the job). */
  auditTarget?: { type: string; id: string };
  /**
   * More writes of the job's transaction, before it is made (a project's deletion marks it); what
   * it answers joins the audit entry's details.
   */
  before?: (sql: Sql) => Promise<Record<string, unknown> | undefined>;
  /** Once that transaction committed, before the call works on the job (tell every process). */
  committed?: () => void;
}

export async function startJob(
  ctx: Context,
  input: { projectId: string; kind: DataJobKind; target: DataJobTarget; matched?: number },
  action: string,
  options: StartOptions = {},
): Promise<{ job: DataJobRow }> {
  const jobs = ctx.services.dataJobs;
  const held = await ctx.deps.db.transaction(async (sql) => {
    const more = await options.before?.(sql);
    const made = await jobs.create(sql, { ...input, requestedBy: ctx.principal?.userId ?? null });
    await recordAudit(
      ctx,
      {
        action,
        projectId: input.projectId,
        targetType: options.auditTarget?.type ?? 'DataJob',
        targetId: options.auditTarget?.id ?? made.job.id,
        details: {
          target: input.target,
          tracesMatched: made.job.tracesMatched,
          ...(options.auditTarget ? { dataJobId: made.job.id } : {}),
          ...more,
        },
      },
      sql,
    );
    return made;
  });
  options.committed?.();
  const job = await jobs.run(held, Date.now() + ctx.deps.config.lifecycle.deleteInlineMs);
  if (job.status === 'RUNNING') await jobs.release(held);
  return { job };
}
