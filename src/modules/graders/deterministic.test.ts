import { parseTestingCriteria, type GraderSpec } from './definitions';
import { jsonSchema, regex, schemaProblem, stringCheck, textSimilarity } from './deterministic';
import type { GradingItem } from './template';
import { render } from './template';

const item = (
  output: unknown,
  expectedOutput: unknown = null,
  input: unknown = { question: 'What is 2+2?' },
): GradingItem => ({ input, expectedOutput, output, contexts: [], metadata: null });

function one<T extends GraderSpec['type']>(raw: object) {
  const { graders, problems } = parseTestingCriteria([raw]);
  expect(problems).toEqual([]);
  return graders[0] as Extract<GraderSpec, { type: T }>;
}

describe('testing criteria', () => {
  it('accepts OpenAI Evals grader JSON as is', () => {
    const { graders, problems } = parseTestingCriteria([
      {
        type: 'string_check',
        name: 'exact',
        input: '{{sample.output_text}}',
        reference: '{{item.expected_output}}',
        operation: 'eq',
      },
      {
        type: 'text_similarity',
        name: 'bleu',
        input: '{{sample.output_text}}',
        reference: '{{item.reference}}',
        evaluation_metric: 'bleu',
        pass_threshold: 0.5,
      },
      {
        type: 'score_model',
        name: 'judge',
        model: 'gpt-4o-mini',
        input: [
          { role: 'system', content: 'Rate 0 to 1.' },
          { role: 'user', content: { type: 'input_text', text: '{{sample.output_text}}' } },
        ],
        range: [0, 1],
        pass_threshold: 0.7,
      },
      {
        type: 'label_model',
        name: 'tone',
        model: 'gpt-4o-mini',
        input: [{ role: 'user', content: 'Tone of: {{sample.output_text}}' }],
        labels: ['polite', 'rude'],
        passing_labels: ['polite'],
      },
    ]);
    expect(problems).toEqual([]);
    expect(graders.map((g) => g.type)).toEqual([
      'STRING_CHECK',
      'TEXT_SIMILARITY',
      'SCORE_MODEL',
      'LABEL_MODEL',
    ]);
    expect(graders[2]).toMatchObject({
      input: [
        { role: 'system', content: 'Rate 0 to 1.' },
        { role: 'user', content: '{{sample.output_text}}' },
      ],
    });
  });

  it('names every problem with its path', () => {
    const { problems } = parseTestingCriteria([
      {
        type: 'string_check',
        name: 'a',
        input: '{{sample.output_text}}',
        reference: 'x',
        operation: 'equals',
      },
      { type: 'nope', name: 'b' },
      {
        type: 'text_similarity',
        name: 'c',
        input: '{{output}}',
        reference: 'x',
        evaluation_metric: 'meteor',
        pass_threshold: 2,
      },
      { type: 'regex', name: 'd', input: '{{sample.output_text}}', pattern: '(a+)+$' },
      {
        type: 'label_model',
        name: 'e',
        input: [{ role: 'user', content: 'x' }],
        labels: ['a', 'b'],
        passing_labels: ['c'],
      },
      { type: 'g_eval', name: 'a', criteria: 'Coherence' },
    ]);
    expect(problems.map((p) => p.path.join('.'))).toEqual([
      '0.operation',
      '1.type',
      '2.input',
      '2.evaluation_metric',
      '2.pass_threshold',
      '3.pattern',
      '4.passing_labels',
    ]);
    expect(parseTestingCriteria([]).problems[0].message).toMatch(/non-empty/);
    expect(
      parseTestingCriteria([
        { type: 'g_eval', name: 'x', criteria: 'c' },
        { type: 'g_eval', name: 'x', criteria: 'c' },
      ]).problems[0],
    ).toEqual({ path: [1, 'name'], message: 'grader name "x" is used twice' });
  });
});

describe('deterministic graders', () => {
  it('string_check: eq, ne, like, ilike', () => {
    const base = {
      type: 'string_check',
      name: 's',
      input: '{{sample.output_text}}',
      reference: '{{item.expected_output}}',
    };
    expect(stringCheck(one({ ...base, operation: 'eq' }), item('Paris', 'Paris')).passed).toBe(
      true,
    );
    expect(stringCheck(one({ ...base, operation: 'ne' }), item('Paris', 'Paris')).passed).toBe(
      false,
    );
    expect(stringCheck(one({ ...base, operation: 'like' }), item('It is Paris.', 'Paris'))).toEqual(
      { score: 1, passed: true },
    );
    expect(
      stringCheck(one({ ...base, operation: 'like' }), item('It is PARIS.', 'Paris')).passed,
    ).toBe(false);
    expect(
      stringCheck(one({ ...base, operation: 'ilike' }), item('It is PARIS.', 'Paris')).passed,
    ).toBe(true);
  });

  it('regex and JSON', () => {
    expect(
      regex(
        one({
          type: 'regex',
          name: 'r',
          input: '{{sample.output_text}}',
          pattern: '^\\d{4}-\\d{2}$',
        }),
        item('2026-11'),
      ).passed,
    ).toBe(true);
    expect(
      regex(
        one({
          type: 'regex',
          name: 'r',
          input: '{{sample.output_text}}',
          pattern: 'paris',
          flags: 'i',
        }),
        item('PARIS'),
      ).score,
    ).toBe(1);
    const valid = one<'JSON_SCHEMA'>({
      type: 'json_valid',
      name: 'j',
      input: '{{sample.output_text}}',
    });
    expect(jsonSchema(valid, item('{"a":1}')).passed).toBe(true);
    expect(jsonSchema(valid, item('{a:1}'))).toMatchObject({
      passed: false,
      reasoning: expect.stringMatching(/not valid JSON/),
    });
    const schema = one<'JSON_SCHEMA'>({
      type: 'json_schema',
      name: 'j',
      input: '{{sample.output_text}}',
      schema: { type: 'object', required: ['city'], properties: { city: { type: 'string' } } },
    });
    expect(jsonSchema(schema, item({ city: 'Paris' })).passed).toBe(true);
    expect(jsonSchema(schema, item({ town: 'Paris' }))).toMatchObject({
      passed: false,
      reasoning: expect.stringMatching(/city/),
    });
    expect(schemaProblem({ type: 'nonsense-type' })).toMatch(/type/);
  });

  it('text_similarity by metric, against the threshold', () => {
    const spec = (metric: string, pass = 0.5) =>
      one<'TEXT_SIMILARITY'>({
        type: 'text_similarity',
        name: 't',
        input: '{{sample.output_text}}',
        reference: '{{item.expected_output}}',
        evaluation_metric: metric,
        pass_threshold: pass,
      });
    expect(textSimilarity(spec('exact'), item('a b', 'a b'))).toEqual({ score: 1, passed: true });
    expect(textSimilarity(spec('fuzzy_match'), item('kitten', 'sitting')).score).toBeCloseTo(
      4 / 7,
      12,
    );
    expect(
      textSimilarity(
        spec('rouge_1', 0.7),
        item(
          'The quick brown dog jumps on the log.',
          'The quick brown fox jumps over the lazy dog',
        ),
      ),
    ).toEqual({ score: expect.closeTo(12 / 17, 12), passed: true });
    expect(
      textSimilarity(
        spec('rouge_l', 0.7),
        item(
          'The quick brown dog jumps on the log.',
          'The quick brown fox jumps over the lazy dog',
        ),
      ).passed,
    ).toBe(false);
    expect(
      textSimilarity(
        spec('bleu'),
        item('the cat sat on the mat today', 'the cat sat on the mat today'),
      ).score,
    ).toBeCloseTo(1, 12);
  });

  it('templates read item fields, input fields and the sample', () => {
    const it1 = item('4', '4', { question: 'What is 2+2?' });
    expect(
      render(
        'Q: {{item.question}} / {{item.input.question}} / A: {{sample.output_text}} / E: {{ item.expected_output }}',
        it1,
      ),
    ).toBe('Q: What is 2+2? / What is 2+2? / A: 4 / E: 4');
    expect(render('{{item.input}}', it1)).toBe('{"question":"What is 2+2?"}');
    expect(render('{{item.missing}}', it1)).toBe('');
  });
});
