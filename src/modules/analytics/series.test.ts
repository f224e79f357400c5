import { bucketCount, bucketOf, bucketStarts } from './series';

const at = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();

test('buckets start as date_trunc in UTC: a week on Monday', () => {
  // 2026-03-05 is a Thursday; its week starts on Monday 2026-03-02.
  expect(iso(bucketOf(at('2026-03-05T17:42:10Z'), 'WEEK'))).toBe('2026-03-02T00:00:00.000Z');
  expect(iso(bucketOf(at('2026-03-02T00:00:00Z'), 'WEEK'))).toBe('2026-03-02T00:00:00.000Z');
  expect(iso(bucketOf(at('2026-03-01T23:59:59Z'), 'WEEK'))).toBe('2026-02-23T00:00:00.000Z');
  expect(iso(bucketOf(at('2026-03-05T17:42:10Z'), 'DAY'))).toBe('2026-03-05T00:00:00.000Z');
  expect(iso(bucketOf(at('2026-03-05T17:42:10Z'), 'HOUR'))).toBe('2026-03-05T17:00:00.000Z');
  expect(iso(bucketOf(at('2026-03-05T17:42:10Z'), 'MINUTE'))).toBe('2026-03-05T17:42:00.000Z');
});

test('every bucket the window touches, partial ones at both ends included', () => {
  const from = new Date('2026-03-05T10:30:00Z');
  const to = new Date('2026-03-05T13:00:00Z');
  expect(bucketStarts(from, to, 'HOUR').map(iso)).toEqual([
    '2026-03-05T10:00:00.000Z',
    '2026-03-05T11:00:00.000Z',
    '2026-03-05T12:00:00.000Z',
  ]);
  expect(bucketCount(from, new Date('2026-03-05T13:00:01Z'), 'HOUR')).toBe(4);
  expect(
    bucketStarts(new Date('2026-03-01T00:00:00Z'), new Date('2026-03-10T00:00:00Z'), 'WEEK').map(
      iso,
    ),
  ).toEqual(['2026-02-23T00:00:00.000Z', '2026-03-02T00:00:00.000Z', '2026-03-09T00:00:00.000Z']);
});
