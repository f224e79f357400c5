// Every alert metric, one record each: to add one, add its value to the AlertMetric enum in
// prisma/schema.prisma (with its migration) and its record here. Validation of rules, the SQL that
// measures them, the costs right and the GraphQL descriptions of AlertMetric, AlertAggregation and
// minSamples all read these records. Pure.
import type { AlertAggregation, AlertMetric } from '../../generated/prisma/enums';
import type { SpanAggregateRow } from '../analytics/query';
import type { AlertFilter } from './measure-sql';

const ANY: readonly AlertAggregation[] = ['COUNT', 'SUM', 'AVG', 'MIN', 'MAX', 'P50', 'P95', 'P99'];

/** The rows a metric's samples are (measure-sql.ts selects them), and the filters that apply to them. */
export const SOURCES = {
  spans: { label: 'spans', filters: ['model', 'spanKind', 'userId', 'tags'] },
  evaluationResults: { label: 'evaluation results', filters: ['evaluationName', 'grader'] },
  scores: { label: 'scores', filters: ['scoreName', 'scoreSource'] },
} as const satisfies Record<string, { label: string; filters: readonly (keyof AlertFilter)[] }>;

export interface MetricDefinition {
  source: keyof typeof SOURCES;
  /** Its value per row, in SQL over `s` (a span), `r` (a result) and `e` (its evaluation), or `sc` (a score); NULL when the row has none. */
  value: string;
  /** Counting metrics take COUNT; rates average a 0/1 per sample; the others take any aggregation of their value. */
  aggregations: readonly AlertAggregation[];
  /**
   * Every row in the window is a sample, and an empty window counts as 0 (a stop in traffic), not
   * as no data: minSamples defaults to 0. Other metrics' samples are the rows with a value.
   */
  counting: boolean;
  /** Its values are money: measuring, reading or setting them needs the costs right (BILLING, ADMIN). */
  costs: boolean;
  /** What its value is, when its name does not say (shown after it in the AlertMetric description). */
  unit?: string;
  /** Filters its rules must set (a mean over every score name would mean nothing). */
  requires?: readonly (keyof AlertFilter)[];
  /**
   * How the span rollups answer it exactly (alerts/measure-rollups.ts), from a row of
   * analytics' aggregateSpans: the rows with a value (COUNT), their sum (SUM, and AVG as sum /
   * count), or whether the values are the latency sketch's (P50, P95, P99 within its error).
   * Absent: only its spans answer it.
   */
  rollup?: {
    values: (r: SpanAggregateRow) => number;
    sum?: (r: SpanAggregateRow) => number;
    sketch?: true;
  };
}

// In the order the AlertMetric description names them.
export const METRICS: Record<AlertMetric, MetricDefinition> = {
  COST: {
    source: 'spans',
    value: 's.total_cost::float8',
    aggregations: ANY,
    counting: false,
    costs: true,
    unit: 'USD per priced span; spans that could not be priced are not samples',
    rollup: { values: (r) => r.priced, sum: (r) => Number(r.cost ?? 0) },
  },
  TOKENS: {
    source: 'spans',
    value: 's.total_tokens::float8',
    aggregations: ANY,
    counting: false,
    costs: false,
    rollup: { values: (r) => r.spans, sum: (r) => Number(r.totalTokens) },
  },
  SPAN_COUNT: {
    source: 'spans',
    value: '1',
    aggregations: ['COUNT'],
    counting: true,
    costs: false,
    rollup: { values: (r) => r.spans },
  },
  ERROR_COUNT: {
    source: 'spans',
    value: "CASE WHEN s.status = 'ERROR' THEN 1 END",
    aggregations: ['COUNT'],
    counting: true,
    costs: false,
    rollup: { values: (r) => r.errors },
  },
  ERROR_RATE: {
    source: 'spans',
    value: "CASE WHEN s.status = 'ERROR' THEN 1.0 ELSE 0.0 END",
    aggregations: ['AVG'],
    counting: false,
    costs: false,
    unit: '0–1',
    rollup: { values: (r) => r.spans, sum: (r) => r.errors },
  },
  LATENCY_MS: {
    source: 'spans',
    value: 's.latency_ms::float8',
    aggregations: ANY,
    counting: false,
    costs: false,
    // The rollups keep no sum of latencies: AVG and SUM read the spans.
    rollup: { values: (r) => r.latency.counts.reduce((n, c) => n + c, 0), sketch: true },
  },
  EVAL_SCORE: {
    source: 'evaluationResults',
    value: 'r.score',
    aggregations: ANY,
    counting: false,
    costs: false,
  },
  EVAL_PASS_RATE: {
    source: 'evaluationResults',
    value: 'CASE WHEN r.passed THEN 1.0 WHEN NOT r.passed THEN 0.0 END',
    aggregations: ['AVG'],
    counting: false,
    costs: false,
    unit: '0–1',
  },
  EVAL_FAILED_COUNT: {
    source: 'evaluationResults',
    value: 'CASE WHEN r.passed = false THEN 1 END',
    aggregations: ['COUNT'],
    counting: true,
    costs: false,
  },
  SCORE: {
    source: 'scores',
    value: 'sc.value',
    aggregations: ['COUNT', 'AVG', 'MIN', 'MAX', 'P50', 'P95', 'P99'],
    counting: false,
    costs: false,
    unit: 'the value of scores named by filter.scoreName, by when they were given',
    requires: ['scoreName'],
  },
};

const entries = Object.entries(METRICS) as [AlertMetric, MetricDefinition][];
const namesWhere = (keep: (m: MetricDefinition) => boolean) =>
  entries.filter(([, m]) => keep(m)).map(([name]) => name);
/** "A, B and C". */
const listed = (names: string[]) =>
  names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names.join('');

/** The default minSamples of a metric's rules. */
export const defaultMinSamples = (metric: AlertMetric) => (METRICS[metric].counting ? 0 : 1);

export const descriptions = {
  metric: Object.entries(SOURCES)
    .map(([source, { label }]) => {
      const names = entries
        .filter(([, m]) => m.source === source)
        .map(([name, m]) => (m.unit ? `${name} (${m.unit})` : name));
      return `Over ${label}: ${names.join(', ')}.`;
    })
    .join(' '),
  aggregation: `COUNT for the counting metrics, AVG for the rates, any for ${listed(namesWhere((m) => ANY.every((a) => m.aggregations.includes(a))))}.`,
  minSamples: `Default 1 (0 for ${listed(namesWhere((m) => m.counting))}, where an empty window counts as 0).`,
};
