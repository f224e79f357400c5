// TTLs are declared with their types and fields; the cache reads them all from the schema.
import { isObjectType } from 'graphql';
import { getSchema } from '../../schema';
import { cacheTtls } from './ttl';

const schema = getSchema();

test('the cache policy the schema declares', () => {
  // A change here is a change of what clients may see stale, and for how long.
  expect(cacheTtls(schema)).toEqual({
    CostSummaryRow: 30_000,
    MetricsSeries: 30_000,
    ScoreMetricsSeries: 30_000,
    CostForecast: 30_000,
    Trace: 10_000,
    Span: 10_000,
    Score: 10_000,
    ScoreSummaryRow: 30_000,
    Evaluation: 60_000,
    EvaluationResult: 60_000,
    EvaluationItem: 60_000,
    // Results of a run being graded change it without an event that reaches it.
    EvaluationComparison: 5_000,
    ApiKey: 0,
    WebhookEndpoint: 0,
    WebhookDelivery: 0,
    WebhookAttempt: 0,
    // Every audited mutation writes one, of any project or none.
    AuditEntry: 0,
    // A data job changes batch by batch, from any process.
    DataJob: 0,
    'Query.rateLimit': 0,
    'Query.usage': 0,
    'Query.limits': 0,
    'Query.projects': 0,
    'Query.testAlertRule': 0,
    // Counts every API process writes each minute: a cached answer would hide them.
    'Query.serviceStatus': 0,
    AlertRule: 5_000,
    AlertEvent: 5_000,
    // Workers change a rule's pause and its stats as they judge.
    EvaluationRule: 5_000,
    EvaluationRuleStats: 1_000,
  });
});

test('every TTL is declared as cacheTtlMs, a whole number of milliseconds', () => {
  const declared: [string, string, unknown][] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type)) continue;
    const holders = [
      [type.name, type.extensions] as const,
      ...Object.values(type.getFields()).map(
        (f) => [`${type.name}.${f.name}`, f.extensions] as const,
      ),
    ];
    for (const [coordinate, extensions] of holders) {
      for (const [key, value] of Object.entries(extensions ?? {}))
        if (/ttl/i.test(key)) declared.push([coordinate, key, value]);
    }
  }
  expect(declared.length).toBeGreaterThan(0);
  for (const [coordinate, key, value] of declared)
    expect([coordinate, key, Number.isInteger(value) && (value as number) >= 0]).toEqual([
      coordinate,
      'cacheTtlMs',
      true,
    ]);
});
