// Online evaluation rules on the ingest path (traces/service.ts calls `listener` with each batch).
// A project's enabled rules are kept in process (read again after a few seconds, or at once when
// any process announces a change over pub/sub); each batch is matched against them in JS, and
// only the targets sampled write a row, in the batch's transaction (task-sql.ts). A project
// without rules costs one map lookup. How many targets matched is counted here and added to the
// rules every couple of seconds, not in the ingest transaction (a hot row there would serialise
// concurrent batches).
import { LRUCache } from 'lru-cache';
import { v7 as uuidv7 } from 'uuid';
import type { Deps } from '../../deps';
import { topics } from '../events/catalogue';
import type { IngestListener } from '../traces/service';
import { type CompiledRule, compileRule, matchTrace, ruleFilterSchema } from './filter';
import { type QueuedTask, queueIngested } from './task-sql';

/** A change announced over pub/sub is seen at once; a lost announcement, after this. */
const CACHE_MS = 5_000;
const FLUSH_MS = 2_000;

type CachedRule = CompiledRule & { delaySeconds: number };

interface RuleRow {
  id: string;
  target: 'TRACE' | 'SPAN';
  sampling_rate: number;
  delay_seconds: number;
  filter: unknown;
}

export function createRuleCache(deps: Deps) {
  const cache = new LRUCache<string, { at: number; rules: Promise<CachedRule[]> }>({ max: 10_000 });
  const unlisten = deps.pubsub.listen<{ projectId: string }>(
    topics.evaluationRulesChanged,
    ({ projectId }) => cache.delete(projectId),
  );

  async function load(projectId: string): Promise<CachedRule[]> {
    const rows = await deps.db.query<RuleRow>(
      `SELECT id::text, target::text, sampling_rate, delay_seconds, filter FROM evaluation_rules
       WHERE project_id = $1::uuid AND enabled ORDER BY id`,
      [projectId],
    );
    return rows.flatMap((row) => {
      const filter = ruleFilterSchema.safeParse(row.filter ?? {});
      // A stored filter that no longer parses matches nothing rather than everything.
      if (!filter.success) return [];
      const rule = compileRule({
        id: row.id,
        target: row.target,
        samplingRate: row.sampling_rate,
        filter: filter.data,
      });
      return [{ ...rule, delaySeconds: row.delay_seconds }];
    });
  }

  function rulesOf(projectId: string): Promise<CachedRule[]> {
    const entry = cache.get(projectId);
    if (entry && Date.now() - entry.at < CACHE_MS) return entry.rules;
    const rules = load(projectId);
    cache.set(projectId, { at: Date.now(), rules });
    rules.catch(() => {
      if (cache.get(projectId)?.rules === rules) cache.delete(projectId);
    });
    return rules;
  }

  // ruleId → targets matched and not yet added to the rule.
  let pending = new Map<string, number>();
  let failing = false;

  async function flush() {
    if (!pending.size) return;
    const batch = pending;
    pending = new Map();
    try {
      await deps.db.query(
        `UPDATE evaluation_rules r SET matched_count = r.matched_count + v.n
         FROM unnest($1::uuid[], $2::bigint[]) AS v(id, n) WHERE r.id = v.id`,
        [[...batch.keys()], [...batch.values()]],
      );
      if (failing) deps.log.info('online evaluation match counts stored again');
      failing = false;
    } catch (error) {
      // Kept for the next write rather than lost.
      for (const [id, n] of batch) pending.set(id, (pending.get(id) ?? 0) + n);
      if (!failing) deps.log.warn({ err: error }, 'could not store match counts; retrying');
      failing = true;
    }
  }
  const timer = setInterval(() => void flush(), FLUSH_MS);
  timer.unref();

  const listener: IngestListener = {
    async prepare(projectId) {
      const rules = await rulesOf(projectId);
      if (!rules.length) return null;
      const delays = new Map(rules.map((r) => [r.id, r.delaySeconds]));
      const matched = new Map<string, number>();
      let sampled = 0;
      return {
        async write(sql, traces) {
          const queued = new Map<string, QueuedTask>();
          const existed: string[] = [];
          for (const t of traces) {
            if (t.existed) existed.push(t.id);
            const facts = {
              externalId: t.external_id,
              userId: t.user_id,
              sessionId: t.session_id,
              tags: t.tags,
            };
            for (const m of matchTrace(rules, facts, t.spans)) {
              matched.set(m.ruleId, (matched.get(m.ruleId) ?? 0) + 1);
              if (!m.sampled) continue;
              const span = m.spanExternalId ?? '';
              // A span sent twice in one batch is one target.
              queued.set(`${m.ruleId}|${t.id}|${span}`, {
                id: uuidv7(),
                rule_id: m.ruleId,
                project_id: projectId,
                trace_id: t.id,
                span_external_id: span,
                delay_seconds: delays.get(m.ruleId)!,
              });
            }
          }
          if (existed.length || queued.size)
            await queueIngested(sql, existed, [...queued.values()]);
          sampled = queued.size;
        },
        committed() {
          let total = 0;
          for (const [id, n] of matched) {
            pending.set(id, (pending.get(id) ?? 0) + n);
            total += n;
          }
          if (total) deps.meters.onlineEvaluationTargets.inc({ stage: 'matched' }, total);
          if (sampled) deps.meters.onlineEvaluationTargets.inc({ stage: 'sampled' }, sampled);
        },
      };
    },
  };

  return {
    listener,
    /** Every process drops its cached rules of the project (call after the change commits). */
    changed(projectId: string) {
      cache.delete(projectId);
      deps.pubsub.publish(topics.evaluationRulesChanged, { projectId });
    },
    flush,
    async close() {
      clearInterval(timer);
      unlisten();
      await flush();
    },
  };
}

export type RuleCache = ReturnType<typeof createRuleCache>;
