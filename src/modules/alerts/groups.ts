// The states of a grouped rule (groupBy): one per group, in alert_rule_groups, keyed by rule and
// group value. A table rather than a JSON map on the rule: a check changes a few groups of up to a
// thousand, each under the rule's lock, and the groups are listed a page at a time (AlertRule.groups).
// Only groups with something to remember have a row (not OK, or notified within the cooldown):
// a group without one is OK. The rule's own state is its worst group's.
import type { AlertState } from '../../generated/prisma/enums';
import type { Sql } from '../../storage/db';
import { zeroWhenEmpty } from './measure-sql';
import { judge, type Measured, type Measurement, type RuleRow } from './measure';
import { nextState } from './rules';

/** Whose state changes: the rule (group null) or one of its groups. */
export interface Subject {
  group: string | null;
  state: AlertState;
  last_fired_at: Date | null;
  last_warned_at: Date | null;
  state_notified: boolean;
}

export const ruleSubject = (rule: RuleRow): Subject => ({ group: null, ...rule });

type Move = (to: AlertState, m: Measured, subject: Subject) => Promise<void>;

const SUBJECT_COLUMNS = `value AS "group", state::text AS state, last_fired_at, last_warned_at, state_notified`;

/**
 * Records a grouped rule's measurement against its groups' states (locked). A group that had a
 * row but was not measured had no samples: it is judged as an empty window (and may resolve),
 * unless the measurement left groups out (it cannot tell then; it keeps its state).
 */
export async function recordGroups(
  sql: Sql,
  rule: RuleRow,
  m: Measurement,
  now: Date,
  move: Move,
): Promise<boolean> {
  // Before the check (so that a resolution shows until the next one): nothing left to remember: OK or resolved, and its last notification older than the cooldown.
  await sql(
    `DELETE FROM alert_rule_groups WHERE rule_id = $1::uuid AND state IN ('OK', 'RESOLVED')
       AND coalesce(greatest(last_fired_at, last_warned_at), '-infinity') <= $2::timestamptz - make_interval(secs => $3)`,
    [rule.id, now, rule.cooldown_seconds],
  );
  const stored = await sql<Subject>(
    `SELECT ${SUBJECT_COLUMNS} FROM alert_rule_groups WHERE rule_id = $1::uuid ORDER BY value FOR UPDATE`,
    [rule.id],
  );
  const known = new Map(stored.map((s) => [s.group!, s]));
  const groups = new Map((m.groups ?? []).map((g) => [g.group, g as Measured]));
  if (!m.truncatedGroups) {
    const empty =
      rule.aggregation === 'COUNT' ||
      (rule.operator === 'ANOMALY' && zeroWhenEmpty(rule.aggregation))
        ? 0
        : null;
    for (const s of stored)
      if (!groups.has(s.group!))
        groups.set(s.group!, {
          value: empty,
          samples: 0,
          baseline: null,
          historyPeriods: null,
          level: judge(rule, empty, 0, null),
        });
  }
  let changed = false;
  const unchanged: { g: string; v: number | null }[] = [];
  for (const [group, g] of groups) {
    const subject = known.get(group) ?? {
      group,
      state: 'OK',
      last_fired_at: null,
      last_warned_at: null,
      state_notified: false,
    };
    const to = nextState(subject.state, g.level);
    if (to) {
      await move(to, g, subject);
      changed = true;
    } else if (known.has(group)) unchanged.push({ g: group, v: g.value });
  }
  if (unchanged.length)
    await sql(
      `UPDATE alert_rule_groups r SET last_value = c.v, last_evaluated_at = $2
       FROM json_to_recordset($3::json) AS c(g text, v float8) WHERE r.rule_id = $1::uuid AND r.value = c.g`,
      [rule.id, now, JSON.stringify(unchanged)],
    );
  await settle(sql, rule.id, now, m.truncatedGroups ?? 0);
  return changed;
}

/** Resolves a grouped rule's WARNING and FIRING groups (disabled, or regrouped); whether there were any. */
export async function resolveGroups(
  sql: Sql,
  rule: RuleRow,
  resolve: (subject: Subject) => Promise<void>,
): Promise<boolean> {
  const up = await sql<Subject>(
    `SELECT ${SUBJECT_COLUMNS} FROM alert_rule_groups WHERE rule_id = $1::uuid AND state IN ('WARNING', 'FIRING') ORDER BY value FOR UPDATE`,
    [rule.id],
  );
  for (const subject of up) await resolve(subject);
  await sql(`UPDATE alert_rules SET state = 'RESOLVED' WHERE id = $1::uuid`, [rule.id]);
  return up.length > 0;
}

/** The rule's state is its worst group's (FIRING, WARNING, RESOLVED, then OK); its value is per group. */
async function settle(sql: Sql, ruleId: string, now: Date, truncated: number) {
  await sql(
    `UPDATE alert_rules SET last_value = NULL, last_evaluated_at = $2, truncated_groups = $3,
       state = coalesce((SELECT g.state FROM alert_rule_groups g WHERE g.rule_id = $1::uuid
         ORDER BY CASE g.state WHEN 'FIRING' THEN 3 WHEN 'WARNING' THEN 2 WHEN 'RESOLVED' THEN 1 ELSE 0 END DESC LIMIT 1), 'OK'),
       last_fired_at = greatest(last_fired_at, (SELECT max(g.last_fired_at) FROM alert_rule_groups g WHERE g.rule_id = $1::uuid))
     WHERE id = $1::uuid`,
    [ruleId, now, truncated],
  );
}
