import { compileRule, matchTrace, sampleKey, type SpanFacts } from './filter';
import { contextsOf } from './variables';

const spanOf = (over: Partial<SpanFacts>): SpanFacts => ({
  external_id: 's',
  kind: null,
  name: null,
  normalized_model: null,
  status: null,
  tags: null,
  user_id: null,
  session_id: null,
  metadata: null,
  ...over,
});
const trace = { externalId: 't', userId: null, sessionId: null, tags: null };

describe('sampleKey', () => {
  it('spreads ids that differ in their last characters over [0, 1)', () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => sampleKey(`trace-${i}`, null));
    expect(keys.every((k) => k >= 0 && k < 1)).toBe(true);
    for (const rate of [0.1, 0.3, 0.5, 0.9]) {
      const share = keys.filter((k) => k < rate).length / keys.length;
      expect(Math.abs(share - rate)).toBeLessThan(0.02);
    }
  });

  it('is the same for the same ids, and tells a trace from its spans', () => {
    expect(sampleKey('abc', 'def')).toBe(sampleKey('abc', 'def'));
    expect(sampleKey('abc', null)).not.toBe(sampleKey('abc', ''));
    expect(sampleKey('ab', 'c')).not.toBe(sampleKey('a', 'bc'));
  });
});

describe('matchTrace', () => {
  it('holds trace conditions over the stored trace and the spans together, span conditions on one span', () => {
    const rule = compileRule({
      id: 'r',
      target: 'TRACE',
      samplingRate: 1,
      filter: { tags: ['a', 'b'], userId: 'u', spanKind: 'LLM', model: 'gpt-4o' },
    });
    const llm = spanOf({ external_id: 'l', kind: 'LLM', normalized_model: 'gpt-4o', tags: ['b'] });
    // User and tag "a" stored with the trace by an earlier batch.
    expect(matchTrace([rule], { ...trace, userId: 'u', tags: ['a'] }, [llm])).toHaveLength(1);
    expect(matchTrace([rule], { ...trace, tags: ['a'] }, [llm])).toHaveLength(0);
    // Kind and model must be on the same span.
    const split = [
      spanOf({ external_id: 'x', kind: 'LLM', tags: ['a', 'b'], user_id: 'u' }),
      spanOf({ external_id: 'y', normalized_model: 'gpt-4o' }),
    ];
    expect(matchTrace([rule], trace, split)).toHaveLength(0);
  });

  it('samples a SPAN rule per span and a TRACE rule per trace', () => {
    const spans = Array.from({ length: 200 }, (_, i) => spanOf({ external_id: `s${i}` }));
    const perSpan = compileRule({ id: 's', target: 'SPAN', samplingRate: 0.5, filter: {} });
    const matched = matchTrace([perSpan], trace, spans);
    expect(matched).toHaveLength(200);
    const sampled = matched.filter((m) => m.sampled).length;
    expect(sampled).toBeGreaterThan(60);
    expect(sampled).toBeLessThan(140);
    const perTrace = compileRule({ id: 't', target: 'TRACE', samplingRate: 0.5, filter: {} });
    expect(matchTrace([perTrace], trace, spans)).toEqual([
      { ruleId: 't', spanExternalId: null, sampled: sampleKey('t', null) < 0.5 },
    ]);
  });

  it('compares metadata values as text, a dotted key reading nested objects', () => {
    const rule = compileRule({
      id: 'r',
      target: 'SPAN',
      samplingRate: 1,
      filter: {
        metadata: [
          { key: 'cfg.temp', value: '0.5' },
          { key: 'on', value: 'true' },
        ],
      },
    });
    const match = (metadata: unknown) => matchTrace([rule], trace, [spanOf({ metadata })]).length;
    expect(match({ cfg: { temp: 0.5 }, on: true })).toBe(1);
    expect(match({ 'cfg.temp': '0.5', on: 'true' })).toBe(1);
    expect(match({ cfg: { temp: 0.7 }, on: true })).toBe(0);
    expect(match(null)).toBe(0);
  });
});

describe('contextsOf', () => {
  it('reads a list of documents or strings, else the whole text', () => {
    expect(
      contextsOf(JSON.stringify([{ page_content: 'a' }, 'b', { text: 'c' }, { x: 1 }])),
    ).toEqual(['a', 'b', 'c', '{"x":1}']);
    expect(contextsOf('plain text')).toEqual(['plain text']);
    expect(contextsOf('{"a":1}')).toEqual(['{"a":1}']);
    expect(contextsOf(null)).toEqual([]);
  });
});
