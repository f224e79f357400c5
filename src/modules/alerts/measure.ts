// An alert rule as the worker reads it, and measuring it: one aggregation over its window of
// spans or evaluation results (the SQL is built in measure-sql.ts).
import type {
  AlertAggregation,
  AlertMetric,
  AlertNoDataState,
  AlertOperator,
  AlertSeverity,
  AlertState,
} from '../../generated/prisma/enums';
import type { Sql } from '../../storage/db';
import { measureSql, type AlertFilter } from './measure-sql';
import { levelOf, type Level } from './rules';

export interface RuleRow {
  id: string;
  project_id: string;
  name: string;
  metric: AlertMetric;
  aggregation: AlertAggregation;
  filter: AlertFilter;
  operator: AlertOperator;
  threshold: number;
  warning_threshold: number | null;
  window_seconds: number;
  interval_seconds: number;
  min_samples: number;
  no_data: AlertNoDataState;
  cooldown_seconds: number;
  channels: string[];
  channel_ids: string[];
  severity: AlertSeverity;
  state: AlertState;
  last_fired_at: Date | null;
  last_warned_at: Date | null;
  state_notified: boolean;
}

export const RULE_COLUMNS = `id::text, project_id::text, name, metric::text, aggregation::text, filter, operator::text, threshold, warning_threshold,
  window_seconds, interval_seconds, min_samples, no_data::text, cooldown_seconds, channels, channel_ids, severity::text, state::text, last_fired_at, last_warned_at, state_notified`;

/** A rule claimed to be measured, with the time of the claim (its measurement's end). */
export interface DueRule {
  rule: RuleRow;
  now: Date;
}

export interface MeasuredRule extends DueRule {
  m: Measurement;
}

export interface Measurement {
  value: number | null;
  samples: number;
  windowStart: Date;
  windowEnd: Date;
  level: Level | null;
}

/** A rule's value over its window ending at `now`: one statement. */
export async function measureRule(sql: Sql, rule: RuleRow, now: Date): Promise<Measurement> {
  const windowStart = new Date(now.getTime() - rule.window_seconds * 1000);
  const { text, values } = measureSql(
    {
      projectId: rule.project_id,
      metric: rule.metric,
      aggregation: rule.aggregation,
      filter: rule.filter ?? {},
    },
    windowStart,
    now,
  );
  const [row] = await sql<{ samples: number; value: number | null }>(text, values);
  const settings = {
    operator: rule.operator,
    threshold: rule.threshold,
    warningThreshold: rule.warning_threshold,
    minSamples: rule.min_samples,
    noData: rule.no_data,
    cooldownSeconds: rule.cooldown_seconds,
  };
  return {
    value: row.value,
    samples: row.samples,
    windowStart,
    windowEnd: now,
    level: levelOf(settings, row.value, row.samples),
  };
}
