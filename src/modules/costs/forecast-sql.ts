// The one statement behind costForecast: a subject's hourly spend back from now, its spend in the
// period so far, and when it was first seen. Calls are counted as costSummary counts them
// (costs/unpriced.ts); hours run back from now, so the latest spend is in the rate.
import type { Sql } from '../../storage/db';
import { HISTORY_HOURS, type HourSpend } from './forecast';
import { isUnpricedSql, needsPriceSql } from './unpriced';

export interface ForecastRead {
  firstSeen: Date | null;
  spent: string | null;
  hours: HourSpend[];
}

export async function readForecastSeries(
  query: Sql,
  input: { projectId: string; userId: string | null; now: Date; periodStart: Date },
): Promise<ForecastRead> {
  const historyStart = new Date(input.now.getTime() - HISTORY_HOURS * 3_600_000);
  const scanFrom = historyStart < input.periodStart ? historyStart : input.periodStart;
  const params: unknown[] = [input.projectId, input.now, scanFrom, input.periodStart, historyStart];
  const byUser = input.userId !== null ? `AND s.user_id = $${params.push(input.userId)}` : '';
  // A project's first span is one step down its (project_id, start_time) index. A user's is the
  // start of their first trace (traces are indexed by user; spans are not), or their first span
  // of the window if earlier.
  const firstSeen = input.userId
    ? `least((SELECT min(t.start_time) FROM traces t WHERE t.project_id = $1 AND t.user_id = $6),
             (SELECT min(start_time) FROM w))`
    : '(SELECT min(s.start_time) FROM spans s WHERE s.project_id = $1)';
  const [row] = await query<{
    first_seen: Date | null;
    spent: string | null;
    hours: HourSpend[] | string;
  }>(
    `WITH w AS (
       SELECT s.start_time, s.total_cost,
         (s.total_cost IS NOT NULL OR ${needsPriceSql('s')}) AS counted, ${isUnpricedSql('s')} AS unpriced
       FROM spans s
       WHERE s.project_id = $1 AND s.start_time >= $3 AND s.start_time < $2 ${byUser}
     )
     SELECT ${firstSeen} AS first_seen,
       (SELECT CASE WHEN count(total_cost) = 0 AND count(*) FILTER (WHERE unpriced) > 0 THEN NULL
                    ELSE COALESCE(sum(total_cost), 0)::text END
          FROM w WHERE start_time >= $4) AS spent,
       COALESCE((SELECT json_agg(json_build_object('h', h, 'cost', cost, 'calls', calls, 'unpriced', unpriced) ORDER BY h)
         FROM (SELECT floor(extract(epoch FROM $2::timestamptz - start_time) / 3600)::int AS h,
                 sum(total_cost)::text AS cost, count(*)::int AS calls,
                 count(*) FILTER (WHERE unpriced)::int AS unpriced
               FROM w WHERE counted AND start_time >= $5 GROUP BY 1) x), '[]') AS hours`,
    params,
  );
  const hours = typeof row.hours === 'string' ? JSON.parse(row.hours) : row.hours;
  return {
    firstSeen: row.first_seen === null ? null : new Date(row.first_seen),
    spent: row.spent,
    hours,
  };
}
