// An alert rule as the worker reads it, and measuring it: one aggregation over its window of
// spans, evaluation results or scores (the SQL is built in measure-sql.ts; long windows of span
// metrics come from the rollups, measure-rollups.ts), per group for a grouped rule, with its
// baseline for an ANOMALY rule.
import type {
  AlertAggregation,
  AlertGroupBy,
  AlertMetric,
  AlertNoDataState,
  AlertOperator,
  AlertSeverity,
  AlertState,
} from '../../generated/prisma/enums';
import type { Sql } from '../../storage/db';
import { baselineOf, type Baseline } from './anomaly';
import { TooManyRowsError } from '../analytics/query';
import { rollupGrouped, rollupMeasure, rollupsAnswer } from './measure-rollups';
import { groupedSql, MAX_GROUPS, measureSql, type AlertFilter, type GroupRow } from './measure-sql';
import { levelOf, type Level } from './rules';

export interface RuleRow {
  id: string;
  project_id: string;
  name: string;
  metric: AlertMetric;
  aggregation: AlertAggregation;
  filter: AlertFilter;
  operator: AlertOperator;
  threshold: number | null;
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
  group_by: AlertGroupBy | null;
  anomaly_k: number;
  anomaly_periods: number;
}

export const RULE_COLUMNS = `id::text, project_id::text, name, metric::text, aggregation::text, filter, operator::text, threshold, warning_threshold,
  window_seconds, interval_seconds, min_samples, no_data::text, cooldown_seconds, channels, channel_ids, severity::text, state::text, last_fired_at, last_warned_at, state_notified,
  group_by::text, anomaly_k, anomaly_periods`;

/** A rule claimed to be measured, with the time of the claim (its measurement's end). */
export interface DueRule {
  rule: RuleRow;
  now: Date;
}

export interface MeasuredRule extends DueRule {
  m: Measurement;
}

/** What one window measured: the whole rule's, or one group's. */
export interface Measured {
  value: number | null;
  samples: number;
  /** ANOMALY: what the value was compared with; null when there are fewer than anomalyPeriods periods of history. */
  baseline: Baseline | null;
  /** ANOMALY: periods of history with a value (the baseline needs anomalyPeriods of them). */
  historyPeriods: number | null;
  level: Level | null;
}

export interface GroupMeasured extends Measured {
  /** The user id, normalised model name or span kind. */
  group: string;
}

export interface Measurement extends Measured {
  windowStart: Date;
  windowEnd: Date;
  /** A grouped rule's groups (the top-level value and level are then null). */
  groups?: GroupMeasured[];
  /** Groups left out beyond MAX_GROUPS (those with the lowest values). */
  truncatedGroups?: number;
}

/** What a value (and baseline) means for the rule. */
export function judge(
  rule: RuleRow,
  value: number | null,
  samples: number,
  baseline: Baseline | null,
): Level | null {
  return levelOf(
    {
      operator: rule.operator,
      threshold: rule.threshold,
      warningThreshold: rule.warning_threshold,
      minSamples: rule.min_samples,
      noData: rule.no_data,
      cooldownSeconds: rule.cooldown_seconds,
    },
    value,
    samples,
    baseline,
  );
}

const measuredOf = (rule: RuleRow, row: GroupRow): Measured => {
  const anomaly = rule.operator === 'ANOMALY';
  const baseline = anomaly
    ? baselineOf(row.median, row.mad, row.n ?? 0, rule.anomaly_k, rule.anomaly_periods)
    : null;
  return {
    value: row.value,
    samples: row.samples,
    baseline,
    historyPeriods: anomaly ? (row.n ?? 0) : null,
    level: judge(rule, row.value, row.samples, baseline),
  };
};

/** What a rule's window answered: a plain rule's one row, or a row per group (one, '', for an ungrouped ANOMALY rule). */
type Answer = { plain: { samples: number; value: number | null } } | { rows: GroupRow[] };

const specOf = (rule: RuleRow) => ({
  projectId: rule.project_id,
  metric: rule.metric,
  aggregation: rule.aggregation,
  filter: rule.filter ?? {},
  windowSeconds: rule.window_seconds,
  groupBy: rule.group_by,
  periods: rule.operator === 'ANOMALY' ? rule.anomaly_periods : 0,
});

const isPlain = (rule: RuleRow) => !rule.group_by && rule.operator !== 'ANOMALY';
const windowStartOf = (rule: RuleRow, now: Date) =>
  new Date(now.getTime() - rule.window_seconds * 1000);

function measurementOf(rule: RuleRow, now: Date, answer: Answer): Measurement {
  const windowStart = windowStartOf(rule, now);
  if ('plain' in answer) {
    const row = answer.plain;
    return {
      value: row.value,
      samples: row.samples,
      baseline: null,
      historyPeriods: null,
      windowStart,
      windowEnd: now,
      level: judge(rule, row.value, row.samples, null),
    };
  }
  const { rows } = answer;
  if (!rule.group_by) return { ...measuredOf(rule, rows[0]), windowStart, windowEnd: now };
  const kept = rows.slice(0, MAX_GROUPS);
  return {
    value: null,
    samples: kept.reduce((n, r) => n + r.samples, 0),
    baseline: null,
    historyPeriods: null,
    level: null,
    windowStart,
    windowEnd: now,
    groups: kept.map((row) => ({ group: row.g, ...measuredOf(rule, row) })),
    truncatedGroups: Math.max(0, (rows[0]?.total ?? 0) - MAX_GROUPS),
  };
}

/** A rule's value over its window ending at `now` from its rows themselves: one statement. */
export async function measureRaw(sql: Sql, rule: RuleRow, now: Date): Promise<Measurement> {
  const spec = specOf(rule);
  if (isPlain(rule)) {
    const { text, values } = measureSql(spec, windowStartOf(rule, now), now);
    const [row] = await sql<{ samples: number; value: number | null }>(text, values);
    return measurementOf(rule, now, { plain: row });
  }
  const { text, values } = groupedSql(spec, now);
  return measurementOf(rule, now, { rows: await sql<GroupRow>(text, values) });
}

/** The same from the span rollups (a rule rollupsAnswer accepts): one aggregateSpans call per period. */
export async function measureFromRollups(sql: Sql, rule: RuleRow, now: Date): Promise<Measurement> {
  const spec = specOf(rule);
  if (isPlain(rule))
    return measurementOf(rule, now, {
      plain: await rollupMeasure(sql, spec, windowStartOf(rule, now), now),
    });
  return measurementOf(rule, now, { rows: await rollupGrouped(sql, spec, now) });
}

/**
 * A rule's value over its window ending at `now`: from the rollups when they answer it (a long
 * enough window, a metric and aggregation they hold), else from the rows. A grouped rule with more
 * groups than the rollup path brings back reads the rows, which pick the top groups in SQL.
 */
export async function measureRule(
  sql: Sql,
  rule: RuleRow,
  now: Date,
  rollups: boolean,
): Promise<Measurement> {
  if (rollups && rollupsAnswer(specOf(rule))) {
    try {
      return await measureFromRollups(sql, rule, now);
    } catch (error) {
      if (!(error instanceof TooManyRowsError)) throw error;
    }
  }
  return measureRaw(sql, rule, now);
}
