// The DataLoaders of one request for scores: by id (node), and the first page and count of many
// traces' or spans' scores (a page of traces with their scores is one statement more, not one
// per trace).
import { createContextCache } from '@pothos/core';
import DataLoader from 'dataloader';
import type { Context } from '../../context';
import { countScoresOf, scoresById, scoresOf, type ScoreOwner } from './read-sql';
import type { ScoreRow } from './repo';

export const scoreLoadersOf = createContextCache((ctx: Context) => {
  const sql = ctx.deps.db.query;
  const pages = new Map<string, DataLoader<string, ScoreRow[]>>();
  const counts = new Map<ScoreOwner, DataLoader<string, number>>();
  return {
    byId: new DataLoader<string, ScoreRow | null>(async (ids) => {
      const rows = new Map((await scoresById(sql, ids)).map((r) => [r.id, r]));
      return ids.map((id) => rows.get(id) ?? null);
    }),
    /** The first `limit` scores of traces or spans; one loader per owner and limit. */
    firstOf(owner: ScoreOwner, limit: number) {
      const key = `${owner}:${limit}`;
      let loader = pages.get(key);
      if (!loader) {
        const column = owner === 'trace_id' ? 'traceId' : 'spanId';
        loader = new DataLoader<string, ScoreRow[]>(async (ids) => {
          const byOwner = new Map<string, ScoreRow[]>();
          for (const row of await scoresOf(sql, owner, ids, limit)) {
            const id = row[column] as string;
            const list = byOwner.get(id);
            if (list) list.push(row);
            else byOwner.set(id, [row]);
          }
          return ids.map((id) => byOwner.get(id) ?? []);
        });
        pages.set(key, loader);
      }
      return loader;
    },
    countOf(owner: ScoreOwner) {
      let loader = counts.get(owner);
      if (!loader) {
        loader = new DataLoader<string, number>(async (ids) => {
          const n = new Map((await countScoresOf(sql, owner, ids)).map((r) => [r.id, r.n]));
          return ids.map((id) => n.get(id) ?? 0);
        });
        counts.set(owner, loader);
      }
      return loader;
    },
  };
});
