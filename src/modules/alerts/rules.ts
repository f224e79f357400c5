// What an alert rule means, without the database: how a value compares with the thresholds, and
// how the rule's state moves
// (OK → WARNING → FIRING → RESOLVED), with the cooldown that keeps a flapping rule quiet.
import type { AlertNoDataState, AlertOperator, AlertState } from '../../generated/prisma/enums';
import { outside, type Baseline } from './anomaly';

/** Whether a value breaches a comparing operator's threshold (ANOMALY compares with a baseline instead). */
export function breaches(value: number, operator: AlertOperator, threshold: number): boolean {
  switch (operator) {
    case 'ANOMALY':
      return false;
    case 'GT':
      return value > threshold;
    case 'GTE':
      return value >= threshold;
    case 'LT':
      return value < threshold;
    case 'LTE':
      return value <= threshold;
    case 'EQ':
      return value === threshold;
    case 'NEQ':
      return value !== threshold;
  }
}

/** A warning threshold must be reached before the alert threshold, in the operator's direction. */
export function warningProblem(
  operator: AlertOperator,
  threshold: number,
  warning: number | null,
): string | null {
  if (warning === null) return null;
  if (operator === 'ANOMALY') return 'ANOMALY takes no warning threshold';
  if (operator === 'EQ' || operator === 'NEQ')
    return 'a warning threshold needs an ordering operator (GT, GTE, LT, LTE)';
  const before =
    operator === 'GT' || operator === 'GTE' ? warning < threshold : warning > threshold;
  return before
    ? null
    : `with ${operator}, the warning threshold must be ${operator.startsWith('G') ? 'below' : 'above'} the alert threshold`;
}

export type Level = 'OK' | 'WARNING' | 'FIRING';

export interface RuleSettings {
  operator: AlertOperator;
  /** null for ANOMALY. */
  threshold: number | null;
  warningThreshold: number | null;
  minSamples: number;
  noData: AlertNoDataState;
  cooldownSeconds: number;
}

/**
 * The level a measurement puts the rule at; null: no data, and the rule keeps its state. An
 * ANOMALY rule without a baseline (too little history) keeps its state too: it cannot tell.
 */
export function levelOf(
  rule: RuleSettings,
  value: number | null,
  samples: number,
  baseline: Baseline | null = null,
): Level | null {
  if (value === null || samples < rule.minSamples)
    return rule.noData === 'KEEP' ? null : rule.noData === 'FIRING' ? 'FIRING' : 'OK';
  if (rule.operator === 'ANOMALY') {
    if (!baseline) return null;
    return outside(value, baseline) ? 'FIRING' : 'OK';
  }
  if (rule.threshold === null) return null;
  if (breaches(value, rule.operator, rule.threshold)) return 'FIRING';
  if (rule.warningThreshold !== null && breaches(value, rule.operator, rule.warningThreshold))
    return 'WARNING';
  return 'OK';
}

/** The state a rule moves to from `state` at `level`; null: it stays. */
export function nextState(state: AlertState, level: Level | null): AlertState | null {
  if (level === null) return null;
  if (level === 'FIRING') return state === 'FIRING' ? null : 'FIRING';
  if (state === 'FIRING') return 'RESOLVED';
  if (level === 'WARNING') return state === 'WARNING' ? null : 'WARNING';
  return state === 'WARNING' ? 'OK' : null;
}

export interface NotifyMemory {
  lastFiredAt: Date | null;
  lastWarnedAt: Date | null;
  /** Whether entering the current state was notified. */
  stateNotified: boolean;
}

/**
 * Whether a change is sent out. Going up (WARNING, FIRING) is held back when the same or a worse
 * state was sent within the cooldown; coming down (RESOLVED, OK) is sent only when going up was.
 */
export function shouldNotify(
  to: AlertState,
  memory: NotifyMemory,
  cooldownSeconds: number,
  now: Date,
): boolean {
  const recent = (at: Date | null) =>
    at !== null && now.getTime() - at.getTime() < cooldownSeconds * 1000;
  if (to === 'FIRING') return !recent(memory.lastFiredAt);
  if (to === 'WARNING') return !recent(memory.lastFiredAt) && !recent(memory.lastWarnedAt);
  return memory.stateNotified;
}
