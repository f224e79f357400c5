// The metric records are the only list: the GraphQL enums, filters and descriptions agree with them.
import { isEnumType, isInputObjectType } from 'graphql';
import { getSchema } from '../../schema';
import { descriptions, METRICS, SOURCES } from './metrics';

const schema = getSchema();
const enumValues = (name: string) => {
  const type = schema.getType(name);
  if (!isEnumType(type)) throw new Error(`${name} is not an enum`);
  return type.getValues().map((v) => v.name);
};

test('every AlertMetric value has a record, and every record an AlertMetric value', () => {
  expect(enumValues('AlertMetric').sort()).toEqual(Object.keys(METRICS).sort());
});

test('every metric allows some aggregations, each an AlertAggregation', () => {
  const aggregations = enumValues('AlertAggregation');
  for (const metric of Object.values(METRICS)) {
    expect(metric.aggregations.length).toBeGreaterThan(0);
    expect(aggregations).toEqual(expect.arrayContaining([...metric.aggregations]));
  }
});

test('every AlertFilterInput field applies to exactly one source of samples', () => {
  const input = schema.getType('AlertFilterInput');
  if (!isInputObjectType(input)) throw new Error('AlertFilterInput is not an input type');
  const filters = Object.values(SOURCES).flatMap((s) => [...s.filters]);
  expect(filters.sort()).toEqual(Object.keys(input.getFields()).sort());
});

test('the descriptions name every metric (minSamples the counting ones), and the schema shows them', () => {
  const names = (text: string) =>
    Object.keys(METRICS).filter((name) => new RegExp(`\\b${name}\\b`).test(text));
  expect(names(descriptions.metric)).toEqual(Object.keys(METRICS));
  expect(names(descriptions.minSamples)).toEqual(
    Object.keys(METRICS).filter((name) => METRICS[name as keyof typeof METRICS].counting),
  );
  expect(schema.getType('AlertMetric')?.description).toBe(descriptions.metric);
  expect(schema.getType('AlertAggregation')?.description).toBe(descriptions.aggregation);
  const input = schema.getType('CreateAlertRuleInput');
  if (!isInputObjectType(input)) throw new Error('CreateAlertRuleInput is not an input type');
  expect(input.getFields().minSamples.description).toBe(descriptions.minSamples);
});
