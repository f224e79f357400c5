// Alert rules: measuring a rule (one SQL statement), and evaluating the rules that are due. A
// worker claims due rules with FOR UPDATE SKIP LOCKED and, in the same transaction, measures each,
// records its state change (AlertEvent), emits its event (the webhook message is written with it)
// and moves its next evaluation on: any number of workers may run this, and a rule is evaluated
// by one of them at a time, once per interval. Subscribers hear about changes after the commit.
import { v7 as uuidv7 } from 'uuid';
import type { Deps } from '../../deps';
import type { AlertState } from '../../generated/prisma/enums';
import type { Sql } from '../../storage/db';
import type { Emit, Events } from '../events/emitter';
import { boundNear } from './anomaly';
import { emitAlert, type AlertNotification } from './events';
import { recordGroups, resolveGroups, ruleSubject, type Subject } from './groups';
import {
  measureRule,
  RULE_COLUMNS,
  type DueRule,
  type MeasuredRule,
  type Measured,
  type Measurement,
  type RuleRow,
} from './measure';
import { nextState, shouldNotify } from './rules';

export type { DueRule, MeasuredRule, RuleRow } from './measure';

export function createAlertRules(
  deps: Deps,
  services: {
    events: Events;
    cache?: { invalidateProjects(ids: Iterable<string>): Promise<void> };
  },
) {
  /** A rule whose measurement failed is tried again at its next interval. */
  const unmeasured = (due: DueRule, error: unknown) =>
    deps.log.warn(
      { err: error, ruleId: due.rule.id },
      'alert rule could not be measured; it is tried again at its next interval',
    );

  /**
   * Records what a measurement means for a rule, against its state as it is now (read under a row
   * lock: a slow worker cannot act on a state another has moved on). Returns whether it changed.
   */
  async function record(
    sql: Sql,
    emit: Emit,
    claimed: RuleRow,
    m: Measurement,
    now: Date,
  ): Promise<boolean> {
    const [rule] = await sql<RuleRow>(
      `SELECT ${RULE_COLUMNS} FROM alert_rules WHERE id = $1::uuid FOR UPDATE`,
      [claimed.id],
    );
    if (!rule) return false; // deleted meanwhile
    // Grouped while claimed and still: a change of groupBy since the claim waits for the next check.
    if (rule.group_by !== claimed.group_by) return false;
    if (rule.group_by)
      return recordGroups(sql, rule, m, now, (to, g, subject) =>
        moveTo(sql, emit, rule, to, { ...m, ...g }, now, null, subject),
      );
    const to = nextState(rule.state, m.level);
    if (!to) {
      await sql(
        `UPDATE alert_rules SET last_value = $2, last_evaluated_at = $3 WHERE id = $1::uuid`,
        [rule.id, m.value, now],
      );
      return false;
    }
    await moveTo(sql, emit, rule, to, m, now, null);
    return true;
  }

  /**
   * Moves a locked rule, or one group of it (`subject`), to `to`: the event, the state, and its
   * notification unless the cooldown holds it back.
   */
  async function moveTo(
    sql: Sql,
    emit: Emit,
    rule: RuleRow,
    to: AlertState,
    m: Measured & { windowStart: Date; windowEnd: Date },
    now: Date,
    reason: string | null,
    subject: Subject = ruleSubject(rule),
  ): Promise<void> {
    const notified = shouldNotify(
      to,
      {
        lastFiredAt: subject.last_fired_at,
        lastWarnedAt: subject.last_warned_at,
        stateNotified: subject.state_notified,
      },
      rule.cooldown_seconds,
      now,
    );
    deps.meters.alertStateChanges.inc({ state: to, notified: String(notified) });
    const threshold =
      rule.operator === 'ANOMALY'
        ? m.baseline && m.value !== null
          ? boundNear(m.value, m.baseline)
          : null
        : to === 'WARNING' || (to === 'OK' && rule.warning_threshold !== null)
          ? (rule.warning_threshold ?? rule.threshold)
          : rule.threshold;
    const baseline = rule.operator === 'ANOMALY' ? (m.baseline ?? null) : null;
    const group = subject.group === null ? null : { by: rule.group_by!, value: subject.group };
    const eventId = uuidv7();
    await sql(
      `INSERT INTO alert_events (id, rule_id, project_id, from_state, to_state, value, threshold, window_start, window_end, samples, notified, reason, created_at, group_by, group_value, baseline)
       VALUES ($1::uuid, $2::uuid, $3::uuid, $4::"AlertState", $5::"AlertState", $6, $7, $8, $9, $10, $11, $12, $13, $14::"AlertGroupBy", $15, $16::jsonb)`,
      [
        eventId,
        rule.id,
        rule.project_id,
        subject.state,
        to,
        m.value,
        threshold,
        m.windowStart,
        m.windowEnd,
        m.samples,
        notified,
        reason,
        now,
        group?.by ?? null,
        group?.value ?? null,
        baseline === null ? null : JSON.stringify(baseline),
      ],
    );
    if (group)
      await sql(
        `INSERT INTO alert_rule_groups (id, rule_id, value, state, state_notified, last_value, last_evaluated_at, last_fired_at, last_warned_at)
         VALUES ($1::uuid, $2::uuid, $3, $4::"AlertState", $5, $6, $7,
           CASE WHEN $5 AND $4 = 'FIRING' THEN $7::timestamptz END, CASE WHEN $5 AND $4 = 'WARNING' THEN $7::timestamptz END)
         ON CONFLICT (rule_id, value) DO UPDATE SET state = excluded.state, state_notified = excluded.state_notified,
           last_value = excluded.last_value, last_evaluated_at = excluded.last_evaluated_at,
           last_fired_at = coalesce(excluded.last_fired_at, alert_rule_groups.last_fired_at),
           last_warned_at = coalesce(excluded.last_warned_at, alert_rule_groups.last_warned_at)`,
        [uuidv7(), rule.id, group.value, to, notified, m.value, now],
      );
    else
      await sql(
        `UPDATE alert_rules SET state = $2::"AlertState", state_notified = $3, last_value = $4, last_evaluated_at = $5,
         last_fired_at = CASE WHEN $3 AND $2 = 'FIRING' THEN $5 ELSE last_fired_at END,
         last_warned_at = CASE WHEN $3 AND $2 = 'WARNING' THEN $5 ELSE last_warned_at END
       WHERE id = $1::uuid`,
        [rule.id, to, notified, m.value, now],
      );
    const notification: AlertNotification = {
      eventId,
      ruleId: rule.id,
      ruleName: rule.name,
      metric: rule.metric,
      severity: rule.severity,
      projectId: rule.project_id,
      fromState: subject.state,
      state: to,
      value: m.value,
      threshold,
      windowSeconds: rule.window_seconds,
      group,
      baseline,
      samples: m.samples,
      notified,
      reason,
      at: now.toISOString(),
    };
    if (notified)
      emitAlert(
        emit,
        notification,
        rule.channels.length ? rule.channels : null,
        rule.channel_ids ?? [],
      );
  }

  // The steps of evaluating due rules, run by the worker pool (job.ts) and by `evaluateDue`.
  const steps = {
    /**
     * Claims up to `limit` due rules: one statement moves each one's next evaluation on, so that no
     * other worker takes it. Each comes with the time it was claimed at, which it is measured at.
     */
    async claimDue(limit: number): Promise<DueRule[]> {
      const now = deps.clock.now();
      const claimed = await deps.db.query<RuleRow>(
        `UPDATE alert_rules r SET next_evaluation_at = $1::timestamptz + make_interval(secs => r.interval_seconds)
         WHERE r.id IN (SELECT id FROM alert_rules WHERE enabled AND next_evaluation_at <= $1 ORDER BY next_evaluation_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING ${RULE_COLUMNS}`,
        [now, limit],
      );
      return claimed.map((rule) => ({ rule, now }));
    },

    /** Measures a claimed rule: one statement (from the rollups, one per period), outside any transaction. */
    measureDue: async ({ rule, now }: DueRule): Promise<MeasuredRule> => ({
      rule,
      now,
      m: await measureRule(deps.db.query, rule, now, deps.config.rollups.enabled),
    }),

    /** Records what measurements mean, in one short transaction with their events. */
    async recordMeasured(measured: MeasuredRule[]): Promise<void> {
      const changedProjects = await services.events.transaction(async (sql, emit) => {
        const changed = new Set<string>();
        for (const { rule, m, now } of measured)
          if (await record(sql, emit, rule, m, now)) changed.add(rule.project_id);
        return changed;
      });
      deps.meters.alertRulesEvaluated.inc(measured.length);
      // Cached answers about rules that changed state (their state, their history) are stale now;
      // a value that moved without a change of state shows within the rules' 5 s cache TTL.
      if (changedProjects.size) await services.cache?.invalidateProjects(changedProjects);
    },

    /** Hands back claimed rules not measured (a stopping worker): due again, unless changed since the claim. */
    async releaseDue(due: DueRule[]): Promise<void> {
      await deps.db.query(
        `UPDATE alert_rules r SET next_evaluation_at = c.claimed_at
         FROM json_to_recordset($1::json) AS c(id uuid, claimed_at timestamptz)
         WHERE r.id = c.id AND r.next_evaluation_at = c.claimed_at + make_interval(secs => r.interval_seconds)`,
        [JSON.stringify(due.map((d) => ({ id: d.rule.id, claimed_at: d.now.toISOString() })))],
      );
    },
  };

  return {
    unmeasured,
    /** The rule's value now (each group's for a grouped rule), and the state it would move to, without recording anything; null when there is no such rule. */
    async test(ruleId: string) {
      const [rule] = await deps.db.query<RuleRow>(
        `SELECT ${RULE_COLUMNS} FROM alert_rules WHERE id = $1::uuid`,
        [ruleId],
      );
      if (!rule) return null;
      const m = await measureRule(
        deps.db.query,
        rule,
        deps.clock.now(),
        deps.config.rollups.enabled,
      );
      const states = new Map(
        (
          await deps.db.query<{ value: string; state: AlertState }>(
            `SELECT value, state::text AS state FROM alert_rule_groups WHERE rule_id = $1::uuid`,
            [ruleId],
          )
        ).map((g) => [g.value, g.state]),
      );
      const common = { metric: rule.metric, projectId: rule.project_id };
      return {
        ...m,
        ...common,
        state: rule.state,
        nextState: rule.group_by ? null : nextState(rule.state, m.level),
        truncatedGroups: rule.group_by ? (m.truncatedGroups ?? 0) : null,
        groups: (m.groups ?? []).map((g) => {
          const state = states.get(g.group) ?? 'OK';
          return {
            ...g,
            ...common,
            group: { by: rule.group_by!, value: g.group },
            wouldBecome: nextState(state, g.level) ?? state,
          };
        }),
      };
    },

    /**
     * A rule disabled while WARNING or FIRING is resolved at once (with the reason, and
     * `alert.resolved` sent as for a measured resolution): a disabled rule is never measured again,
     * so it would otherwise stay firing for good. A grouped rule resolves each group. The same
     * happens to a rule whose groupBy changes (its groups mean nothing any more).
     */
    async resolveDisabled(ruleId: string, reason = 'The rule was disabled.'): Promise<boolean> {
      const now = deps.clock.now();
      return services.events.transaction(async (sql, emit) => {
        const [rule] = await sql<RuleRow>(
          `SELECT ${RULE_COLUMNS} FROM alert_rules WHERE id = $1::uuid FOR UPDATE`,
          [ruleId],
        );
        if (!rule || (rule.state !== 'WARNING' && rule.state !== 'FIRING')) return false;
        const window = {
          windowStart: new Date(now.getTime() - rule.window_seconds * 1000),
          windowEnd: now,
        };
        const m = { value: null, samples: 0, level: null, baseline: null, historyPeriods: null };
        if (rule.group_by)
          return resolveGroups(sql, rule, (subject) =>
            moveTo(sql, emit, rule, 'RESOLVED', { ...m, ...window }, now, reason, subject),
          );
        await moveTo(sql, emit, rule, 'RESOLVED', { ...m, ...window }, now, reason);
        return true;
      });
    },

    ...steps,

    /**
     * Evaluates up to `limit` due rules at once; returns how many were claimed. Three steps, so
     * that no long transaction holds rules or the database: claim, measure each (a rule whose
     * measurement fails is logged and tried at its next interval), then record the outcomes in one
     * short transaction. The worker runs the same steps on the pool (job.ts).
     */
    async evaluateDue(limit = 100): Promise<number> {
      const claimed = await steps.claimDue(limit);
      if (!claimed.length) return 0;
      const measured: MeasuredRule[] = [];
      for (const due of claimed) {
        try {
          measured.push(await steps.measureDue(due));
        } catch (error) {
          unmeasured(due, error);
        }
      }
      await steps.recordMeasured(measured);
      return claimed.length;
    },
  };
}

export type AlertRules = ReturnType<typeof createAlertRules>;
