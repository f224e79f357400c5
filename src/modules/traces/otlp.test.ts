import { otlpToSpans } from './otlp';

const TRACE = '5b8efff798038103d269b633813fc60c';
const ROOT = 'eee19b7ec3c1b174';
const CHILD = 'eee19b7ec3c1b173';
const LIMITS = { maxSpans: 100 };

const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
const int = (key: string, value: string | number) => ({ key, value: { intValue: value } });
const dbl = (key: string, value: number) => ({ key, value: { doubleValue: value } });

/** One resource with one scope holding `spans`. */
function request(spans: unknown[], resource: unknown[] = [str('service.name', 'checkout')]) {
  return {
    resourceSpans: [
      { resource: { attributes: resource }, scopeSpans: [{ scope: { name: 'test' }, spans }] },
    ],
  };
}

const genAiChat = {
  traceId: TRACE,
  spanId: CHILD,
  parentSpanId: ROOT,
  name: 'chat gpt-4o',
  kind: 3,
  startTimeUnixNano: '1717171717123456789',
  endTimeUnixNano: '1717171718999999999',
  status: { code: 2, message: 'rate limited' },
  attributes: [
    str('gen_ai.operation.name', 'chat'),
    str('gen_ai.provider.name', 'openai'),
    str('gen_ai.request.model', 'gpt-4o'),
    str('gen_ai.response.model', 'gpt-4o-2024-08-06'),
    int('gen_ai.usage.input_tokens', '1200'),
    int('gen_ai.usage.output_tokens', 34),
    int('gen_ai.usage.cache_read.input_tokens', '1024'),
    str('gen_ai.conversation.id', 'conv-9'),
    str('enduser.id', 'user-7'),
    { key: 'gen_ai.request.temperature', value: { doubleValue: 0.2 } },
    {
      key: 'gen_ai.response.finish_reasons',
      value: { arrayValue: { values: [{ stringValue: 'stop' }] } },
    },
  ],
};

const openInferenceLlm = {
  traceId: TRACE,
  spanId: ROOT,
  parentSpanId: '',
  name: 'ChatCompletion',
  startTimeUnixNano: 1717171717000000000,
  endTimeUnixNano: '0',
  status: { code: 'STATUS_CODE_OK' },
  attributes: [
    str('openinference.span.kind', 'llm'),
    str('llm.model_name', 'claude-sonnet-4'),
    str('llm.provider', 'anthropic'),
    int('llm.token_count.prompt', '90'),
    int('llm.token_count.completion', '10'),
    int('llm.token_count.total', '100'),
    dbl('llm.cost.total', 0.00012),
    dbl('llm.cost.prompt', 1e-7),
    str('input.value', '{"question":"hi"}'),
    str('output.value', 'hello'),
    {
      key: 'tag.tags',
      value: { arrayValue: { values: [{ stringValue: 'prod' }, { stringValue: 'beta' }] } },
    },
    str('metadata', '{"experiment":"e1","n":2}'),
    str('session.id', 'sess-1'),
    str('user.id', 'u-1'),
    str('llm.input_messages.0.message.content', 'hi'),
    str('llm.input_messages.1.message.content', 'x'.repeat(5_000)),
  ],
};

describe('otlpToSpans', () => {
  it('maps an OTel GenAI chat span: model, provider, tokens with cache, error status', () => {
    const { spans, rejected } = otlpToSpans(request([genAiChat]), LIMITS);
    expect(rejected).toEqual([]);
    expect(spans).toHaveLength(1);
    const [span] = spans;
    expect(span).toMatchObject({
      traceId: TRACE,
      spanId: CHILD,
      parentSpanId: ROOT,
      kind: 'LLM',
      name: 'chat gpt-4o',
      status: 'ERROR',
      error: 'rate limited',
      model: 'gpt-4o',
      provider: 'openai',
      inputTokens: 1200,
      outputTokens: 34,
      cachedInputTokens: 1024,
      sessionId: 'conv-9',
      userId: 'user-7',
    });
    expect(span.totalTokens).toBeUndefined();
    expect(span.totalCost).toBeUndefined();
    // Nanosecond strings → exact milliseconds (truncated, not rounded).
    expect(span.startTime).toEqual(new Date(1717171717123));
    expect(span.endTime).toEqual(new Date(1717171718999));
    // Unmapped attributes are kept; the losing model and the operation name too.
    expect(span.metadata).toEqual({
      resource: { 'service.name': 'checkout' },
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.response.model': 'gpt-4o-2024-08-06',
        'gen_ai.request.temperature': 0.2,
        'gen_ai.response.finish_reasons': ['stop'],
      },
    });
  });

  it('maps an OpenInference LLM span and a retriever child, keeping the parent/child relation', () => {
    const retriever = {
      traceId: TRACE,
      spanId: CHILD,
      parentSpanId: ROOT,
      name: 'retrieve',
      startTimeUnixNano: '1717171717500000000',
      endTimeUnixNano: '1717171717600000000',
      attributes: [
        str('openinference.span.kind', 'RETRIEVER'),
        str('input.value', 'what is otlp?'),
      ],
    };
    const { spans, rejected } = otlpToSpans(request([openInferenceLlm, retriever]), LIMITS);
    expect(rejected).toEqual([]);
    const [llm, child] = spans;
    expect(llm).toEqual({
      traceId: TRACE,
      spanId: ROOT,
      parentSpanId: null,
      kind: 'LLM',
      name: 'ChatCompletion',
      startTime: new Date(1717171717000),
      endTime: null,
      status: 'OK',
      model: 'claude-sonnet-4',
      provider: 'anthropic',
      inputTokens: 90,
      outputTokens: 10,
      totalTokens: 100,
      totalCost: '0.00012',
      inputCost: '0.0000001',
      userId: 'u-1',
      sessionId: 'sess-1',
      tags: ['prod', 'beta'],
      input: '{"question":"hi"}',
      output: 'hello',
      metadata: {
        experiment: 'e1',
        n: 2,
        resource: { 'service.name': 'checkout' },
        // The 5,000-character message is left out of metadata.
        attributes: { 'llm.input_messages.0.message.content': 'hi' },
      },
    });
    expect(llm.error).toBeUndefined();
    expect(child).toMatchObject({
      kind: 'RETRIEVER',
      parentSpanId: llm.spanId,
      input: 'what is otlp?',
      status: 'UNSET',
    });
    expect(child.endTime!.getTime() - child.startTime.getTime()).toBe(100);
  });

  it('takes the error from an exception event, and derives kinds from the GenAI operation', () => {
    const failing = {
      ...genAiChat,
      status: { code: 'STATUS_CODE_ERROR' },
      events: [
        { name: 'log', attributes: [str('exception.message', 'not this one')] },
        {
          name: 'exception',
          timeUnixNano: '1717171718000000000',
          attributes: [str('exception.type', 'Timeout'), str('exception.message', 'timed out')],
        },
      ],
    };
    const tool = {
      ...genAiChat,
      spanId: 'aaaaaaaaaaaaaaaa',
      status: undefined,
      attributes: [str('gen_ai.operation.name', 'execute_tool')],
    };
    const embed = {
      ...tool,
      spanId: 'bbbbbbbbbbbbbbbb',
      attributes: [str('gen_ai.operation.name', 'embeddings'), str('embedding.model_name', 'e5')],
    };
    const odd = {
      ...tool,
      spanId: 'cccccccccccccccc',
      attributes: [str('openinference.span.kind', 'wizard'), str('gen_ai.operation.name', 'chat')],
    };
    const { spans } = otlpToSpans(request([failing, tool, embed, odd]), LIMITS);
    expect(spans[0]).toMatchObject({ status: 'ERROR', error: 'timed out' });
    expect(spans[1]).toMatchObject({ kind: 'TOOL', status: 'UNSET' });
    expect(spans[2]).toMatchObject({ kind: 'EMBEDDING', model: 'e5' });
    expect(spans[3].kind).toBe('GENERIC');
    expect(spans[3].metadata).toMatchObject({
      attributes: { 'openinference.span.kind': 'wizard' },
    });
    // Neither says: left to ingest, which makes a span with a model an LLM call on every transport.
    const bare = {
      ...tool,
      spanId: 'dddddddddddddddd',
      attributes: [str('gen_ai.request.model', 'gpt-4o-mini')],
    };
    expect(otlpToSpans(request([bare]), LIMITS).spans[0].kind).toBeNull();
  });

  it('accepts base64 ids and treats an all-zero parent as a root', () => {
    const span = {
      ...genAiChat,
      traceId: Buffer.from(TRACE, 'hex').toString('base64'),
      spanId: Buffer.from(CHILD, 'hex').toString('base64'),
      parentSpanId: '0000000000000000',
    };
    const [mapped] = otlpToSpans(request([span]), LIMITS).spans;
    expect(mapped).toMatchObject({ traceId: TRACE, spanId: CHILD, parentSpanId: null });
  });

  it('rejects malformed spans by their index across the request while the others map', () => {
    const body = {
      resourceSpans: [
        request([genAiChat, { ...genAiChat, spanId: 'aaaaaaaaaaaaaaaa', name: '' }])
          .resourceSpans[0],
        request([
          'not a span',
          {
            ...genAiChat,
            spanId: 'bbbbbbbbbbbbbbbb',
            startTimeUnixNano: undefined,
            traceId: undefined,
          },
          {
            ...genAiChat,
            spanId: 'cccccccccccccccc',
            attributes: [int('gen_ai.usage.input_tokens', '-3')],
          },
          {
            ...genAiChat,
            spanId: 'dddddddddddddddd',
            attributes: [int('llm.token_count.total', '12.5')],
          },
          { ...openInferenceLlm, spanId: 'xyz' },
          openInferenceLlm,
        ]).resourceSpans[0],
      ],
    };
    const { spans, rejected } = otlpToSpans(body, LIMITS);
    expect(spans.map((span) => span.spanId)).toEqual([CHILD, ROOT]);
    expect(rejected.map((problem) => problem.index)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rejected[0].message).toMatch(/name is required/);
    expect(rejected[1].message).toMatch(/must be an object/);
    expect(rejected[2].message).toMatch(/traceId is required/);
    expect(rejected[2].message).toMatch(/startTimeUnixNano is required/);
    expect(rejected[3].message).toMatch(/gen_ai\.usage\.input_tokens/);
    expect(rejected[4].message).toMatch(/llm\.token_count\.total/);
    expect(rejected[5].message).toMatch(/spanId must be 16 hex characters/);
  });

  it('reads the project hint from the first resource that has one', () => {
    const body = {
      resourceSpans: [
        request([genAiChat]).resourceSpans[0],
        request([], [str('evalgraph.project.id', 'proj_1')]).resourceSpans[0],
        request([], [str('evalgraph.project.id', 'proj_2')]).resourceSpans[0],
      ],
    };
    expect(otlpToSpans(body, LIMITS).projectHint).toBe('proj_1');
    expect(otlpToSpans(request([genAiChat]), LIMITS).projectHint).toBeNull();
    expect(otlpToSpans({ resourceSpans: [] }, LIMITS)).toEqual({
      spans: [],
      rejected: [],
      projectHint: null,
    });
  });

  it('throws when the request holds more spans than allowed', () => {
    const body = request([genAiChat, genAiChat, genAiChat]);
    expect(() => otlpToSpans(body, { maxSpans: 2 })).toThrow(/at most 2/);
    expect(otlpToSpans(body, { maxSpans: 3 }).spans).toHaveLength(3);
  });

  it('throws on a body that is not an export request', () => {
    for (const body of [null, 'spans', [], 42, {}, { resourceSpans: {} }]) {
      expect(() => otlpToSpans(body, LIMITS)).toThrow(/resourceSpans array/);
    }
  });
});
