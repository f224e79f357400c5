import { checkConfig, checkScore, type ScoreConfigRow, type ScoreInput } from './input';

const now = new Date('2026-06-01T00:00:00Z');
const trace = '0190c7d4-0000-7000-8000-000000000001';
const config = (over: Partial<ScoreConfigRow>): ScoreConfigRow => ({
  id: 'c',
  projectId: 'p',
  name: 'n',
  dataType: 'NUMERIC',
  minValue: null,
  maxValue: null,
  categories: null,
  description: null,
  archived: false,
  createdAt: now,
  updatedAt: now,
  ...over,
});
const check = (input: Partial<ScoreInput>, cfg?: ScoreConfigRow) =>
  checkScore({ name: 'n', traceId: trace, ...input }, 4, cfg, now);
const fields = (input: Partial<ScoreInput>, cfg?: ScoreConfigRow) =>
  check(input, cfg).problems.map((p) => p.field);

describe('checkScore', () => {
  it('settles the data type and values, defaulting the source and time', () => {
    expect(check({ value: 0.5 }).score).toEqual({
      clientId: null,
      target: { kind: 'trace', id: trace },
      name: 'n',
      dataType: 'NUMERIC',
      value: 0.5,
      stringValue: null,
      comment: null,
      source: 'API',
      userId: null,
      timestamp: now,
    });
    expect(check({ stringValue: 'a' }).score).toMatchObject({
      dataType: 'CATEGORICAL',
      value: null,
    });
    expect(check({ dataType: 'BOOLEAN', stringValue: 'FALSE' }).score).toMatchObject({
      value: 0,
      stringValue: 'False',
    });
    expect(check({ value: 3 }, config({ dataType: 'BOOLEAN' })).problems).toEqual([
      { index: 4, field: 'value', message: expect.any(String), code: 'BAD_USER_INPUT' },
    ]);
  });

  it('needs exactly one target', () => {
    expect(fields({ traceId: null, value: 1 })).toEqual(['traceId']);
    expect(fields({ sessionId: 's', value: 1 })).toEqual(['sessionId']);
    expect(check({ traceId: null, evaluationItemId: trace, value: 1 }).score?.target).toEqual({
      kind: 'evaluationItem',
      id: trace,
    });
  });

  it('holds scores to their config', () => {
    const range = config({ minValue: 0, maxValue: 1 });
    expect(fields({ value: 2 }, range)).toEqual(['value']);
    expect(fields({ value: -1 }, range)).toEqual(['value']);
    expect(fields({ value: 1 }, range)).toEqual([]);
    expect(fields({ value: 1 }, config({ archived: true }))).toEqual(['name']);
    expect(fields({ dataType: 'BOOLEAN', value: 1 }, range)).toEqual(['dataType']);
    const categories = config({
      dataType: 'CATEGORICAL',
      categories: [
        { label: 'good', value: 1 },
        { label: 'odd', value: null },
      ],
    });
    expect(check({ stringValue: 'good' }, categories).score?.value).toBe(1);
    expect(check({ stringValue: 'good', value: 1 }, categories).score?.value).toBe(1);
    expect(fields({ stringValue: 'good', value: 0 }, categories)).toEqual(['value']);
    expect(fields({ stringValue: 'odd', value: 0 }, categories)).toEqual(['value']);
    expect(fields({ stringValue: 'GOOD' }, categories)).toEqual(['stringValue']);
  });

  it('refuses what Evalgraph keeps to itself, unless written by Evalgraph', () => {
    expect(fields({ value: 1, source: 'ONLINE_EVALUATION' })).toEqual(['source']);
    expect(
      checkScore({ name: 'n', traceId: trace, value: 1, source: 'EVALUATION' }, 0, undefined, now, {
        internal: true,
      }).problems,
    ).toEqual([]);
  });
});

describe('checkConfig', () => {
  it('names the field at fault', () => {
    expect(checkConfig({ name: 'a', dataType: 'NUMERIC', minValue: 0, maxValue: 1 })).toEqual([]);
    expect(checkConfig({ name: 'a', dataType: 'NUMERIC', minValue: 1, maxValue: 0 })).toEqual([
      ['maxValue', 'must not be below minValue'],
    ]);
    expect(
      checkConfig({
        name: 'a',
        dataType: 'CATEGORICAL',
        categories: [{ label: 'x' }, { label: '' }, { label: 'x', value: 2 }],
      }).map(([field]) => field),
    ).toEqual(['categories.1.label', 'categories.2.label']);
    expect(checkConfig({ name: 'a', dataType: 'BOOLEAN', categories: [] })).toEqual([
      ['categories', 'are only for CATEGORICAL configs'],
    ]);
  });
});
