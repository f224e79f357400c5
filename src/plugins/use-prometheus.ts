// GraphQL metrics from Yoga's Prometheus plugin on our registry (served by useMetricsEndpoint):
// operations, their duration and errors by operation name and type, and the parse, validate,
// context and execute phases, under names and labels that pass `promtool check metrics`. Operation names are the client's: the trusted documents' names and
// the first 200 others are kept as they are, the rest become "other".
import {
  createCounter,
  createHistogram,
  usePrometheus as useYogaPrometheus,
} from '@graphql-yoga/plugin-prometheus';
import type { Plugin } from 'graphql-yoga';
import type { Registry } from 'prom-client';
import { boundedLabel } from '../lib/bounded-label';

// 2 and 5 s: the query latency SLOs' thresholds, read by deploy/prometheus/evalgraph.rules.yml.
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5, 10];

export function usePrometheus({
  registry,
  knownOperations,
}: {
  registry: Registry;
  knownOperations: Iterable<string>;
}): Plugin {
  const name = boundedLabel(200, knownOperations);
  const labels = ({
    operationName,
    operationType,
  }: {
    operationName?: string;
    operationType?: string;
  }) => ({ operation_name: name(operationName), operation_type: operationType ?? 'unknown' });
  const histogram = <P extends string>(metric: string, help: string, phases: [P, ...P[]]) =>
    createHistogram<P, 'operation_name' | 'operation_type'>({
      registry,
      histogram: {
        name: metric,
        help,
        labelNames: ['operation_name', 'operation_type'],
        buckets: BUCKETS,
      },
      fillLabelsFn: labels,
      phases,
    });
  return useYogaPrometheus({
    registry,
    endpoint: false,
    metrics: {
      // Off: on by default in the plugin, but with camelCase labels or unbounded names.
      graphql_envelop_phase_subscribe: false,
      graphql_envelop_request_time_summary: false,
      graphql_envelop_schema_change: false,
      graphql_envelop_deprecated_field: false,
      graphql_envelop_execute_resolver: false,
      graphql_envelop_request: createCounter<
        'execute' | 'subscribe',
        'operation_name' | 'operation_type'
      >({
        registry,
        counter: {
          name: 'graphql_operations_total',
          help: 'GraphQL operations executed, by operation name and type.',
          labelNames: ['operation_name', 'operation_type'],
        },
        fillLabelsFn: labels,
        phases: ['execute', 'subscribe'],
      }),
      graphql_envelop_request_duration: histogram(
        'graphql_operation_duration_seconds',
        'Time to execute a GraphQL operation, in seconds.',
        ['execute', 'subscribe'],
      ),
      graphql_envelop_phase_parse: histogram(
        'graphql_parse_duration_seconds',
        'Time to parse a GraphQL document, in seconds.',
        ['parse'],
      ),
      graphql_envelop_phase_validate: histogram(
        'graphql_validate_duration_seconds',
        'Time to validate a GraphQL document, in seconds.',
        ['validate'],
      ),
      graphql_envelop_phase_context: histogram(
        'graphql_context_duration_seconds',
        'Time to build the GraphQL context, in seconds.',
        ['context'],
      ),
      graphql_envelop_phase_execute: histogram(
        'graphql_execute_duration_seconds',
        'Time in the execute phase, in seconds.',
        ['execute'],
      ),
      graphql_envelop_error_result: createCounter({
        registry,
        counter: {
          name: 'graphql_operation_errors_total',
          help: 'GraphQL operations that ended with errors, by phase and operation.',
          labelNames: ['operation_name', 'operation_type', 'phase', 'code'] as const,
        },
        fillLabelsFn: (params) => ({
          ...labels(params),
          phase: params.errorPhase ?? 'unknown',
          code: String(params.error?.extensions?.code ?? 'unknown').slice(0, 40),
        }),
      }),
      graphql_yoga_http_duration: createHistogram({
        registry,
        histogram: {
          name: 'graphql_http_request_duration_seconds',
          help: 'Time to answer an HTTP request to /graphql, in seconds.',
          labelNames: ['operation_name', 'operation_type', 'method', 'status_code'] as const,
          buckets: BUCKETS,
        },
        fillLabelsFn: (params) => ({
          ...labels(params),
          method: params.request.method,
          status_code: params.response.status,
        }),
      }),
    },
  });
}
