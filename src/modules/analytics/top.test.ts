import { compareKeys, topN } from './top';

const group = (
  name: string,
  m: Partial<{
    cost: string | null;
    calls: number;
    errors: number;
    totalTokens: bigint;
    p95LatencyMs: number | null;
  }>,
) => ({
  name,
  cost: null,
  calls: 1,
  errors: 0,
  totalTokens: 0n,
  p95LatencyMs: null,
  ...m,
});

const items = [
  group('a', { cost: '0.5', calls: 4, errors: 1, totalTokens: 10n, p95LatencyMs: 300 }),
  group('b', { cost: null, calls: 9, errors: 0, totalTokens: 99n }),
  group('c', { cost: '10.25', calls: 4, errors: 2, totalTokens: 10n, p95LatencyMs: 100 }),
  group('d', { cost: '0.50', calls: 2, errors: 2, totalTokens: 5n, p95LatencyMs: 900 }),
];
const names = (list: { name: string }[]) => list.map((i) => i.name);

test('ranks by each measure, ties in the given order, null last in either direction', () => {
  expect(names(topN(items, { field: 'COST', direction: 'desc' }, null))).toEqual([
    'c',
    'a',
    'd',
    'b',
  ]);
  expect(names(topN(items, { field: 'COST', direction: 'asc' }, null))).toEqual([
    'a',
    'd',
    'c',
    'b',
  ]);
  expect(names(topN(items, { field: 'CALLS', direction: 'desc' }, 3))).toEqual(['b', 'a', 'c']);
  expect(names(topN(items, { field: 'TOKENS', direction: 'desc' }, null))).toEqual([
    'b',
    'a',
    'c',
    'd',
  ]);
  expect(names(topN(items, { field: 'LATENCY_P95', direction: 'desc' }, 2))).toEqual(['d', 'a']);
  expect(names(topN(items, { field: 'ERROR_RATE', direction: 'desc' }, null))).toEqual([
    'd',
    'c',
    'a',
    'b',
  ]);
  expect(names(topN(items, null, 2))).toEqual(['a', 'b']);
});

test('keys ascending with nulls last', () => {
  const keys = [{ MODEL: null }, { MODEL: 'b' }, { MODEL: 'a' }];
  expect(keys.sort(compareKeys(['MODEL']))).toEqual([
    { MODEL: 'a' },
    { MODEL: 'b' },
    { MODEL: null },
  ]);
});
