// Evalgraph's own metrics (prom-client), made once per process with its registry. Label values
// are bounded: tiers, outcomes, grader types, operation types; models and providers through
// boundedLabel. No user, key or project ids in labels.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { boundedLabel } from '../../lib/bounded-label';

export function createMeters(registry: Registry) {
  const registers = [registry];
  return {
    model: boundedLabel(50),
    requests: new Counter({
      name: 'evalgraph_requests_total',
      help: 'GraphQL operations by tier of the caller and operation type.',
      labelNames: ['tier', 'type'],
      registers,
    }),
    httpRequests: new Counter({
      name: 'evalgraph_http_requests_total',
      help: 'HTTP requests answered, by route and status class; the availability SLO is 1 - (5xx + internal errors) / all.',
      labelNames: ['route', 'status_class'],
      registers,
    }),
    internalErrors: new Counter({
      name: 'evalgraph_internal_errors_total',
      help: 'Operations answered with an unexpected (masked) error.',
      registers,
    }),
    subscriptionExecutions: new Counter({
      name: 'evalgraph_subscription_executions_total',
      help: 'Subscription events executed: once per event for each group of subscriptions that share results (one key and access, document and variables), however many subscribers it reaches.',
      registers,
    }),
    ingestedSpans: new Counter({
      name: 'evalgraph_ingested_spans_total',
      help: 'Spans stored, by source (graphql, otlp).',
      labelNames: ['source'],
      registers,
    }),
    evaluationsFinished: new Counter({
      name: 'evalgraph_evaluations_finished_total',
      help: 'Evaluations that ended, by status.',
      labelNames: ['status'],
      registers,
    }),
    evaluationDuration: new Histogram({
      name: 'evalgraph_evaluation_duration_seconds',
      help: 'From start to end of an evaluation, by final status.',
      labelNames: ['status'],
      buckets: [1, 5, 15, 60, 300, 900, 3600, 14400],
      registers,
    }),
    itemsScored: new Counter({
      name: 'evalgraph_grader_results_total',
      help: 'Grader results recorded, by grader type and outcome (passed, failed, errored).',
      labelNames: ['grader_type', 'outcome'],
      registers,
    }),
    graderDuration: new Histogram({
      name: 'evalgraph_grader_duration_seconds',
      help: 'Time to grade one item with one grader, by grader type.',
      labelNames: ['grader_type'],
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    judgeRequests: new Histogram({
      name: 'evalgraph_judge_request_seconds',
      help: 'Judge provider calls, by provider (its configured name), call (chat, embed) and outcome.',
      labelNames: ['provider', 'call', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    judgeTokens: new Counter({
      name: 'evalgraph_judge_tokens_total',
      help: 'Judge tokens by model, provider and direction (input, output).',
      labelNames: ['model', 'provider', 'direction'],
      registers,
    }),
    judgeCost: new Counter({
      name: 'evalgraph_judge_cost_usd_total',
      help: 'Judge cost in USD by model and provider (priced from the model price table).',
      labelNames: ['model', 'provider'],
      registers,
    }),
    onlineEvaluationTargets: new Counter({
      name: 'evalgraph_online_evaluation_targets_total',
      help: 'Traces and spans matched by enabled online evaluation rules at ingest, and those sampled (queued to be judged).',
      labelNames: ['stage'],
      registers,
    }),
    onlineEvaluations: new Counter({
      name: 'evalgraph_online_evaluations_total',
      help: 'Sampled traces and spans of online evaluation rules done with, by outcome (evaluated, errored, skipped_budget).',
      labelNames: ['outcome'],
      registers,
    }),
    onlineEvaluationLag: new Histogram({
      name: 'evalgraph_online_evaluation_lag_seconds',
      help: "From the last ingested batch of a sampled trace to its scores (the rule's delay included); backfills not counted.",
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 300, 900, 3600],
      registers,
    }),
    alertRulesEvaluated: new Counter({
      name: 'evalgraph_alert_rules_evaluated_total',
      help: 'Alert rule evaluations.',
      registers,
    }),
    alertStateChanges: new Counter({
      name: 'evalgraph_alert_state_changes_total',
      help: 'Alert rule state changes, by new state and whether it was notified (false: held back by cooldown).',
      labelNames: ['state', 'notified'],
      registers,
    }),
    instanceLimitRefused: new Counter({
      name: 'evalgraph_instance_limit_refused_total',
      help: 'Requests, operations and judge spending refused by a limit of the whole instance (EVALGRAPH_GLOBAL_LIMITS), by limit (concurrent, requestsPerHour, judgeCostPerDayUsd).',
      labelNames: ['limit'],
      registers,
    }),
    /** Set by collect callbacks (subscriptions, queues): see observeGauges. */
    gauge: (
      name: string,
      help: string,
      labelNames: string[],
      collect: (g: Gauge) => void | Promise<void>,
    ) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          return collect(this);
        },
      }),
  };
}

export type Meters = ReturnType<typeof createMeters>;
