// The alert check job on the worker pool: claims due rules a hundred at a time, measures them one
// after another (each is one aggregation over spans or results), and records what the
// measurements mean through a group commit: a state change, its event and its webhook message.
import type { Deps } from '../../deps';
import { createGroupCommit } from '../../lib/group-commit';
import type { Job } from '../../worker/job';
import type { AlertRules, DueRule, MeasuredRule } from './service';

export function createAlertJob(deps: Deps, rules: AlertRules): Job<DueRule, MeasuredRule> {
  const recorder = createGroupCommit(async (group: MeasuredRule[]) => {
    await rules.recordMeasured(group);
    return group.map(() => undefined);
  });
  return {
    name: 'alerts',
    // One aggregation at a time, as alert checks always ran: a large rule set loads the database
    // with one query at a time, not many.
    concurrency: 1,
    maxHeld: 100,
    idleMs: deps.config.alerts.pollMs,
    key: (due) => due.rule.id,
    claim: (limit) => rules.claimDue(limit),
    run: (due) => rules.measureDue(due),
    record: (measured) => recorder.add(measured),
    failed: (due, error) => rules.unmeasured(due, error),
    release: (due) => rules.releaseDue(due),
    onStop: 'finish',
  };
}
