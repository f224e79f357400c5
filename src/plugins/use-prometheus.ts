// GraphQL metrics on our registry (served by useMetricsEndpoint): operations, their duration and
// errors by operation name and type, the parse, validate, context and execute phases, and the HTTP
// request, under names and labels that pass `promtool check metrics`. Operation names are the
// client's: the trusted documents' names and the first 200 others are kept as they are, the rest
// become "other".
//
// Our own hooks rather than @graphql-yoga/plugin-prometheus: that plugin and the @envelop/prometheus
// under it were two layers timing one request, with a label object filled, filtered and hashed
// for every observation (6 % of `{ viewer { id } }`, bench/README.md). Here an operation's labels
// are found once, at parse, and each series' child is kept, so an observation hashes nothing.
import { getOperationAST, type GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { Counter, Histogram, type Registry } from 'prom-client';
import { boundedLabel } from '../lib/bounded-label';
import { Feed, type EventMeter } from '../lib/shared-subscribe';

// 2 and 5 s: the query latency SLOs' thresholds, read by deploy/prometheus/evalgraph.rules.yml.
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5, 10];
const OPERATION = ['operation_name', 'operation_type'] as const;

/** An operation's label values, and the series children made for them. */
interface Operation {
  name: string;
  type: string;
  series: Map<Histogram | Counter, { observe?(v: number): void; inc?(): void }>;
  /** The HTTP histogram's children, by method and status. */
  http: Map<string, { observe(v: number): void }>;
}

const seconds = (since: number) => (performance.now() - since) / 1000;

interface Recorder {
  executed(op: Operation, result: { errors?: readonly unknown[] }): void;
  ended(op: Operation, since: number): void;
}

/** One subscription's events and end, as counted (a class: thousands are open at once). */
class SubscriptionMeter implements EventMeter {
  constructor(
    private readonly recorder: Recorder,
    private readonly op: Operation,
    private readonly since: number,
  ) {}

  event(result: { errors?: readonly unknown[] }) {
    this.recorder.executed(this.op, result);
  }

  end() {
    this.recorder.ended(this.op, this.since);
  }
}

export function usePrometheus({
  registry,
  knownOperations,
}: {
  registry: Registry;
  knownOperations: Iterable<string>;
}): Plugin {
  const boundedName = boundedLabel(200, knownOperations);
  const histogram = (name: string, help: string, labelNames: readonly string[] = OPERATION) =>
    new Histogram({ name, help, labelNames, buckets: BUCKETS, registers: [registry] });
  const operations = new Counter({
    name: 'graphql_operations_total',
    help: 'GraphQL operations executed, by operation name and type.',
    labelNames: OPERATION,
    registers: [registry],
  });
  const duration = histogram(
    'graphql_operation_duration_seconds',
    'Time to execute a GraphQL operation, in seconds.',
  );
  const parse = histogram(
    'graphql_parse_duration_seconds',
    'Time to parse a GraphQL document, in seconds.',
  );
  const validate = histogram(
    'graphql_validate_duration_seconds',
    'Time to validate a GraphQL document, in seconds.',
  );
  const context = histogram(
    'graphql_context_duration_seconds',
    'Time to build the GraphQL context, in seconds.',
  );
  const execute = histogram(
    'graphql_execute_duration_seconds',
    'Time in the execute phase, in seconds.',
  );
  const errors = new Counter({
    name: 'graphql_operation_errors_total',
    help: 'GraphQL operations that ended with errors, by phase and operation.',
    labelNames: [...OPERATION, 'phase', 'code'],
    registers: [registry],
  });
  const http = histogram(
    'graphql_http_request_duration_seconds',
    'Time to answer an HTTP request to /graphql, in seconds.',
    [...OPERATION, 'method', 'status_code'],
  );

  // One Operation per label pair: the bounded name keeps them few.
  const byLabels = new Map<string, Operation>();
  const operationOf = (name: string | undefined, type: string | undefined): Operation => {
    const n = boundedName(name);
    const t = type ?? 'unknown';
    const key = `${t} ${n}`;
    let found = byLabels.get(key);
    if (!found)
      byLabels.set(key, (found = { name: n, type: t, series: new Map(), http: new Map() }));
    return found;
  };
  const UNKNOWN = operationOf(undefined, undefined);
  const child = (metric: Histogram | Counter, op: Operation) => {
    let found = op.series.get(metric);
    if (!found) op.series.set(metric, (found = metric.labels(op.name, op.type)));
    return found;
  };
  const observe = (metric: Histogram, op: Operation, since: number) =>
    child(metric, op).observe?.(seconds(since));
  const failed = (op: Operation, phase: string, error?: unknown) =>
    errors.inc({
      operation_name: op.name,
      operation_type: op.type,
      phase,
      code: String((error as GraphQLError | undefined)?.extensions?.code ?? 'unknown').slice(0, 40),
    });

  // Found at parse, by the context object Yoga passes to every phase (and by request for HTTP).
  const byContext = new WeakMap<object, Operation>();
  const byRequest = new WeakMap<Request, Operation>();
  const startedAt = new WeakMap<Request, number>();
  const ended = (op: Operation, since: number) => {
    observe(duration, op, since);
    child(operations, op).inc?.();
  };
  const executed = (op: Operation, result: { errors?: readonly unknown[] }) => {
    for (const error of result.errors ?? []) failed(op, 'execute', error);
  };

  const recorder: Recorder = { executed, ended };

  return {
    onPluginInit({ registerContextErrorHandler }) {
      registerContextErrorHandler(({ context: ctx, error }) =>
        failed(byContext.get(ctx) ?? UNKNOWN, 'context', error),
      );
    },
    onRequest({ request }) {
      startedAt.set(request, performance.now());
    },
    onParse({ context: ctx }) {
      const since = performance.now();
      const { request, params } = ctx as { request?: Request; params?: { operationName?: string } };
      return ({ result }) => {
        if (result instanceof Error || !result) {
          observe(parse, UNKNOWN, since);
          failed(UNKNOWN, 'parse', result);
          return;
        }
        const operation = getOperationAST(result, params?.operationName);
        const op = operationOf(operation?.name?.value, operation?.operation);
        byContext.set(ctx, op);
        if (request) byRequest.set(request, op);
        observe(parse, op, since);
      };
    },
    onValidate({ context: ctx }) {
      const op = byContext.get(ctx);
      if (!op) return;
      const since = performance.now();
      return ({ valid, result }) => {
        observe(validate, op, since);
        if (!valid) failed(op, 'validate', result[0]);
      };
    },
    onContextBuilding({ context: ctx }) {
      const op = byContext.get(ctx);
      if (!op) return;
      const since = performance.now();
      return () => observe(context, op, since);
    },
    onExecute({ args }) {
      const op = byContext.get(args.contextValue as object);
      if (!op) return;
      const since = performance.now();
      return {
        onExecuteDone({ result }) {
          if (Symbol.asyncIterator in result)
            return { onNext: ({ result: r }) => executed(op, r), onEnd: () => ended(op, since) };
          observe(execute, op, since);
          executed(op, result);
          ended(op, since);
        },
      };
    },
    onSubscribe({ args }) {
      const op = byContext.get(args.contextValue as object);
      if (!op) return;
      const meter = new SubscriptionMeter(recorder, op, performance.now());
      return {
        // Methods, not arrow properties: a subscription keeps these while it is open, and under
        // tsx (esbuild's keepNames) a named arrow costs a property dictionary of its own.
        onSubscribeResult({ result }) {
          // A pushed subscription (ws.ts): its transport reports each event and the end.
          if (result instanceof Feed) {
            result.meter = meter;
            return;
          }
          if (Symbol.asyncIterator in result)
            return {
              onNext({ result: r }) {
                meter.event(r);
              },
              onEnd() {
                meter.end();
              },
            };
          meter.event(result);
          meter.end();
        },
        onSubscribeError({ error }) {
          failed(op, 'subscribe', error);
        },
      };
    },
    onResponse({ request, response }) {
      const since = startedAt.get(request);
      const op = byRequest.get(request);
      if (since === undefined || !op) return;
      const key = `${request.method} ${response.status}`;
      let series = op.http.get(key);
      if (!series)
        op.http.set(
          key,
          (series = http.labels(op.name, op.type, request.method, String(response.status))),
        );
      series.observe(seconds(since));
    },
  };
}
