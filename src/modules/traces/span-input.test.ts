import { checkBatch, checkSpan, mergeSpan, type SpanInput } from './span-input';

const limits = { maxTextChars: 100, maxMetadataBytes: 64 };
const now = new Date('2025-03-01T12:00:00Z');
const ok: SpanInput = {
  traceId: 't',
  spanId: 's',
  name: 'n',
  startTime: new Date('2025-03-01T11:00:00Z'),
};

describe('checkSpan', () => {
  it('accepts a minimal span', () => {
    expect(checkSpan(ok, 0, limits, now)).toEqual([]);
  });

  it.each<[Partial<SpanInput>, string]>([
    [{ spanId: ' ' }, 'spanId'],
    [{ traceId: 'x'.repeat(257) }, 'traceId'],
    [{ parentSpanId: 's' }, 'parentSpanId'],
    [{ startTime: new Date('2025-03-03T12:00:00Z') }, 'startTime'],
    [{ startTime: new Date('nope') }, 'startTime'],
    [{ endTime: new Date('2025-03-01T10:00:00Z') }, 'endTime'],
    [{ inputTokens: 1.5 }, 'inputTokens'],
    [{ inputTokens: 10, cachedInputTokens: 11 }, 'cachedInputTokens'],
    [{ totalCost: '-1' }, 'totalCost'],
    [{ totalCost: '12345678901' }, 'totalCost'],
    [{ tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }, 'tags'],
    [{ tags: [''] }, 'tags'],
    [{ metadata: { big: 'x'.repeat(100) } }, 'metadata'],
  ])('refuses %j naming %s', (over, field) => {
    const problems = checkSpan({ ...ok, ...over }, 7, limits, now);
    expect(problems.map((p) => [p.index, p.field])).toEqual([[7, field]]);
  });
});

describe('checkBatch', () => {
  it('merges repeats of a span, later fields over earlier ones, and keeps problems apart', () => {
    const { valid, problems } = checkBatch(
      [
        { ...ok, name: 'first', model: 'gpt-4o' },
        { ...ok, spanId: '' },
        { ...ok, name: 'second', model: null, endTime: new Date('2025-03-01T11:30:00Z') },
      ],
      limits,
      now,
    );
    expect(problems.map((p) => p.index)).toEqual([1]);
    expect(valid).toHaveLength(1);
    expect(valid[0].span).toMatchObject({
      name: 'second',
      model: 'gpt-4o',
      endTime: new Date('2025-03-01T11:30:00Z'),
    });
  });
});

describe('mergeSpan', () => {
  it('keeps earlier values where the later span sends nothing', () => {
    expect(
      mergeSpan({ ...ok, userId: 'u' }, { ...ok, userId: undefined, sessionId: 'x' }),
    ).toMatchObject({ userId: 'u', sessionId: 'x' });
  });
});
