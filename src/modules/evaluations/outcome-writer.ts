// Group commit of graded items: outcomes that arrive while a write is running are written
// together by the next statement, so a busy evaluation's hot rows (its counts, the usage
// counters) are locked once per group rather than once per item.
import type { Deps } from '../../deps';
import { fromUnits, toUnits } from '../../lib/money';
import type { Events } from '../events/emitter';
import { announceEvaluations } from './announce';
import { writeOutcomes, type ItemOutcome } from './queue-sql';

type Spending = { judgeTokens: number; judgeCost: string };

interface Pending {
  outcome: ItemOutcome;
  subjects: { userId: string | null; projectId: string | null };
  resolve: (result: { written: boolean; completed: boolean }) => void;
  reject: (error: unknown) => void;
}

export function createOutcomeWriter(deps: Deps, token: string, events: Events) {
  let pending: Pending[] = [];
  let flushing = false;
  // Judge spending queued here and not yet committed, per user and per project: quota checks add it.
  const unwritten = new Map<string, { tokens: number; units: bigint }>();
  const add = (key: string, tokens: number, units: bigint) => {
    const u = unwritten.get(key) ?? { tokens: 0, units: 0n };
    u.tokens += tokens;
    u.units += units;
    if (u.tokens === 0 && u.units === 0n) unwritten.delete(key);
    else unwritten.set(key, u);
  };
  const track = (p: Pending, sign: 1 | -1) => {
    const tokens = sign * (p.outcome.judgeInputTokens + p.outcome.judgeOutputTokens);
    const units = BigInt(sign) * toUnits(p.outcome.judgeCost);
    if (p.subjects.userId) add(`user:${p.subjects.userId}`, tokens, units);
    if (p.subjects.projectId) add(`project:${p.subjects.projectId}`, tokens, units);
  };
  const spendingOf = (key: string) => {
    const u = unwritten.get(key);
    return { judgeTokens: u?.tokens ?? 0, judgeCost: fromUnits(u?.units ?? 0n) };
  };

  async function writeGroup(group: Pending[]) {
    const { result, completes } = await events.transaction(async (sql, emit) => {
      const result = await writeOutcomes(sql, token, deps.clock.now(), group.map((p) => ({ ...p.outcome, ...p.subjects })));
      // An evaluation completed by this group is announced once, with its last item written here.
      const announced = new Set<string>();
      const completes = new Set<Pending>();
      for (const p of [...group].reverse()) {
        const id = p.outcome.evaluationId;
        if (result.completed.has(id) && result.written.has(p.outcome.itemId) && !announced.has(id)) {
          announced.add(id);
          completes.add(p);
        }
      }
      // Progress for each item written, in the transaction that wrote it.
      const changes = group.filter((p) => result.written.has(p.outcome.itemId)).flatMap((p) => [
        { type: 'evaluation.progress' as const, id: p.outcome.evaluationId },
        ...(completes.has(p) ? [{ type: 'evaluation.completed' as const, id: p.outcome.evaluationId }] : []),
      ]);
      await announceEvaluations(sql, emit, changes);
      return { result, completes };
    });
    for (const p of group) p.resolve({ written: result.written.has(p.outcome.itemId), completed: completes.has(p) });
  }

  // A group's commit and a quota read never overlap: a read sees each outcome of this process
  // exactly once, either committed or still unwritten (never both, never neither).
  let lock: Promise<unknown> = Promise.resolve();
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = lock.then(fn, fn);
    lock = run.catch(() => {});
    return run;
  }

  async function flush() {
    flushing = true;
    try {
      while (pending.length) {
        await exclusive(async () => {
          const group = pending;
          pending = [];
          await writeGroup(group)
            .catch((error) => group.forEach((p) => p.reject(error)))
            .finally(() => group.forEach((p) => track(p, -1)));
        });
      }
    } finally {
      flushing = false;
    }
  }

  return {
    /** Runs `read` (of committed usage) with the user's and the project's judge spending queued here and not yet committed, while no group commits. */
    withUnwritten<T>(subjects: { userId: string | null; projectId: string }, read: (unwritten: { user: Spending; project: Spending }) => Promise<T>): Promise<T> {
      return exclusive(() => read({ user: spendingOf(`user:${subjects.userId}`), project: spendingOf(`project:${subjects.projectId}`) }));
    },
    /** Resolves once the item is stored (or its claim found lost), saying whether this write completed its evaluation. */
    write(outcome: ItemOutcome, subjects: Pending['subjects']): Promise<{ written: boolean; completed: boolean }> {
      return new Promise((resolve, reject) => {
        const entry = { outcome, subjects, resolve, reject };
        track(entry, 1);
        pending.push(entry);
        if (!flushing) void flush();
      });
    },
  };
}
