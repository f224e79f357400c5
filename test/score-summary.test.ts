// scoreSummary against values worked out by hand: numeric statistics (p50/p95 interpolated, as
// percentile_cont), counts per category, and groupings by name, day, model, end user, string
// value, source and hour.
import { createTestApp, globalId, type TestApp } from './support/app';
import { ingest, span } from './support/spans';

let app: TestApp;
let projectId: string;
let p: string;

const SUMMARY = `query($p: ID!, $from: DateTime!, $to: DateTime!, $groupBy: [ScoreGroupBy!], $filter: ScoreFilter) {
  scoreSummary(projectId: $p, from: $from, to: $to, groupBy: $groupBy, filter: $filter) {
    keys { name source day hour model userId stringValue }
    count valueCount mean min max p50 p95 categoryCounts { category count } } }`;
const APRIL = { from: '2026-04-01T00:00:00Z', to: '2026-05-01T00:00:00Z' };

beforeAll(async () => {
  app = await createTestApp();
  projectId = await app.seedProject('summary');
  p = globalId('Project', projectId);
  const spans = await ingest(app, projectId, [
    span({ traceId: 'ta', spanId: 'root', name: 'root', kind: 'CHAIN', userId: 'alice' }),
    // The trace's main model is its LLM span's, though the embedding used more tokens.
    span({
      traceId: 'ta',
      spanId: 'llm',
      parentSpanId: 'root',
      name: 'chat',
      model: 'gpt-4o-2024-08-06',
      inputTokens: 100,
      outputTokens: 0,
    }),
    span({
      traceId: 'ta',
      spanId: 'embed',
      parentSpanId: 'root',
      name: 'embed',
      kind: 'EMBEDDING',
      model: 'text-embedding-3-small',
      inputTokens: 500,
      outputTokens: 0,
    }),
    span({
      traceId: 'tb',
      spanId: 'llm',
      name: 'chat',
      model: 'openai/gpt-4o-mini',
      userId: 'bob',
      inputTokens: 10,
      outputTokens: 5,
    }),
  ]);
  expect(spans.body.errors).toBeUndefined();
  const prisma = app.server.deps.db.prisma;
  const ta = await prisma.trace.findFirstOrThrow({
    where: { projectId, externalId: 'ta' },
    include: { spans: true },
  });
  const tb = await prisma.trace.findFirstOrThrow({ where: { projectId, externalId: 'tb' } });
  const a = globalId('Trace', ta.id);
  const b = globalId('Trace', tb.id);
  const aLlm = globalId('Span', ta.spans.find((s) => s.externalId === 'llm')!.id);
  const day1 = (h: number) => `2026-04-01T${String(h).padStart(2, '0')}:30:00.000Z`;
  const day2 = (h: number) => `2026-04-02T${String(h).padStart(2, '0')}:30:00.000Z`;
  const res = await app.gql(
    `mutation($input: CreateScoresInput!) { createScores(input: $input) { acceptedCount } }`,
    {
      input: {
        projectId: p,
        scores: [
          { traceId: a, name: 'quality', value: 0.2, timestamp: day1(1) },
          { spanId: aLlm, name: 'quality', value: 0.4, timestamp: day1(2) },
          { traceId: b, name: 'quality', value: 0.6, timestamp: day1(3) },
          { traceId: b, name: 'quality', value: 0.8, timestamp: day2(1) },
          { sessionId: 's', name: 'quality', value: 1.0, userId: 'carol', timestamp: day2(2) },
          { traceId: a, name: 'sentiment', stringValue: 'good', timestamp: day1(1) },
          { traceId: a, name: 'sentiment', stringValue: 'good', timestamp: day1(1) },
          { traceId: b, name: 'sentiment', stringValue: 'good', timestamp: day1(2) },
          { traceId: b, name: 'sentiment', stringValue: 'bad', timestamp: day1(2) },
          {
            traceId: a,
            name: 'thumbs',
            dataType: 'BOOLEAN',
            value: 1,
            source: 'FEEDBACK',
            timestamp: day1(5),
          },
          {
            traceId: b,
            name: 'thumbs',
            dataType: 'BOOLEAN',
            value: 1,
            source: 'FEEDBACK',
            timestamp: day1(5),
          },
          { traceId: b, name: 'thumbs', dataType: 'BOOLEAN', value: 0, timestamp: day1(6) },
          // Outside April.
          { traceId: a, name: 'quality', value: 100, timestamp: '2026-05-01T00:00:00Z' },
        ],
      },
    },
  );
  expect(res.body.data.createScores.acceptedCount).toBe(13);
});
afterAll(() => app.close());

async function summary(groupBy: string[], filter?: Record<string, unknown>, window = APRIL) {
  const res = await app.gql(SUMMARY, { p, ...window, groupBy, filter });
  expect(res.body.errors).toBeUndefined();
  return res.body.data.scoreSummary as any[];
}

const NO_KEYS = {
  name: null,
  source: null,
  day: null,
  hour: null,
  model: null,
  userId: null,
  stringValue: null,
};
const close = (n: number) => expect.closeTo(n, 9);

it('gives count, mean, min, max, p50, p95 of values and counts per category, by name', async () => {
  const rows = await summary(['NAME']);
  expect(rows).toEqual([
    {
      keys: { ...NO_KEYS, name: 'quality' },
      count: 5,
      valueCount: 5,
      mean: close(0.6),
      min: 0.2,
      max: 1,
      p50: close(0.6),
      // 0.95 × (5 − 1) = 3.8: 0.8 + 0.8 × (1.0 − 0.8)
      p95: close(0.96),
      categoryCounts: [],
    },
    {
      keys: { ...NO_KEYS, name: 'sentiment' },
      count: 4,
      valueCount: 0,
      mean: null,
      min: null,
      max: null,
      p50: null,
      p95: null,
      categoryCounts: [
        { category: 'good', count: 3 },
        { category: 'bad', count: 1 },
      ],
    },
    {
      keys: { ...NO_KEYS, name: 'thumbs' },
      count: 3,
      valueCount: 3,
      mean: close(2 / 3),
      min: 0,
      max: 1,
      p50: 1,
      p95: 1,
      categoryCounts: [
        { category: 'True', count: 2 },
        { category: 'False', count: 1 },
      ],
    },
  ]);
});

it('groups by name and day', async () => {
  const rows = await summary(['NAME', 'DAY'], { name: 'quality' });
  expect(rows.map((r) => [r.keys.name, r.keys.day, r.count, r.mean, r.p50, r.p95])).toEqual([
    // [0.2, 0.4, 0.6]: p95 at 1.9 → 0.4 + 0.9 × 0.2
    ['quality', '2026-04-01', 3, close(0.4), close(0.4), close(0.58)],
    // [0.8, 1.0]: p95 at 0.95 → 0.8 + 0.95 × 0.2
    ['quality', '2026-04-02', 2, close(0.9), close(0.9), close(0.99)],
  ]);
});

it("groups by model: a span's own, a trace's main model, none for a session", async () => {
  const rows = await summary(['MODEL'], { name: 'quality' });
  expect(rows.map((r) => [r.keys.model, r.count, r.mean])).toEqual([
    ['gpt-4o', 2, close(0.3)],
    ['gpt-4o-mini', 2, close(0.7)],
    [null, 1, close(1)],
  ]);
});

it('groups by end user: who gave it, else the end user of what was scored', async () => {
  const rows = await summary(['USER'], { name: 'quality' });
  expect(rows.map((r) => [r.keys.userId, r.count, r.max])).toEqual([
    ['alice', 2, 0.4],
    ['bob', 2, 0.8],
    ['carol', 1, 1],
  ]);
});

it('groups by string value, and by source and hour', async () => {
  const byValue = await summary(['STRING_VALUE'], { name: 'sentiment' });
  expect(byValue.map((r) => [r.keys.stringValue, r.count, r.categoryCounts])).toEqual([
    ['bad', 1, [{ category: 'bad', count: 1 }]],
    ['good', 3, [{ category: 'good', count: 3 }]],
  ]);
  const bySourceHour = await summary(['SOURCE', 'HOUR'], { name: 'thumbs' });
  expect(bySourceHour.map((r) => [r.keys.source, r.keys.hour, r.count, r.mean])).toEqual([
    ['API', '2026-04-01T06:00:00.000Z', 1, 0],
    ['FEEDBACK', '2026-04-01T05:00:00.000Z', 2, 1],
  ]);
});

it('keeps to the window (narrowed by the filter’s own from/to) and answers none for an empty one', async () => {
  const [all] = await summary([]);
  expect(all).toMatchObject({ keys: NO_KEYS, count: 12, valueCount: 8 });
  const [early] = await summary([], { name: 'quality', to: '2026-04-02T00:00:00Z' });
  expect(early).toMatchObject({ count: 3, max: 0.6 });
  const [may] = await summary(['NAME'], undefined, {
    from: '2026-05-01T00:00:00Z',
    to: '2026-06-01T00:00:00Z',
  });
  expect(may).toMatchObject({ keys: { name: 'quality' }, count: 1, mean: 100 });
  expect(
    await summary(['NAME'], undefined, {
      from: '2025-01-01T00:00:00Z',
      to: '2025-02-01T00:00:00Z',
    }),
  ).toEqual([]);
  const backwards = await app.gql(SUMMARY, { p, from: APRIL.to, to: APRIL.from });
  expect(backwards.body.errors?.[0].extensions).toMatchObject({
    code: 'BAD_USER_INPUT',
    path: ['to'],
  });
});
