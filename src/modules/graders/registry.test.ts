// The grader list is the only list: the GraphQL enum, parsing and dispatch read it, and they agree.
import { isEnumType } from 'graphql';
import { getSchema } from '../../schema';
import { parseTestingCriteria } from './definitions';
import { needsJudge, needsPreparation } from './grade';
import { GRADERS } from './registry';

test('every GraderType value has a grader record, and every record a GraderType value', () => {
  const type = getSchema().getType('GraderType');
  if (!isEnumType(type)) throw new Error('GraderType is not an enum');
  expect(
    type
      .getValues()
      .map((v) => v.name)
      .sort(),
  ).toEqual(GRADERS.map((g) => g.type).sort());
});

test('each type name and alias names one grader, and parsing knows every one', () => {
  const names = GRADERS.flatMap((g) => [g.type.toLowerCase(), ...(g.aliases ?? [])]);
  expect(new Set(names).size).toBe(names.length);
  for (const name of names) {
    expect(name).toBe(name.toLowerCase());
    const { problems } = parseTestingCriteria([{ type: name, name: 'x' }]);
    expect(problems.filter((p) => p.path[1] === 'type')).toEqual([]);
  }
});

test('the judge and preparation steps are read from the records', () => {
  const { graders, problems } = parseTestingCriteria([
    {
      type: 'string_check',
      name: 'a',
      input: '{{sample.output_text}}',
      reference: 'x',
      operation: 'eq',
    },
    {
      type: 'text_similarity',
      name: 'b',
      input: '{{sample.output_text}}',
      reference: 'x',
      evaluation_metric: 'bleu',
      pass_threshold: 0.5,
    },
    {
      type: 'text_similarity',
      name: 'c',
      input: '{{sample.output_text}}',
      reference: 'x',
      evaluation_metric: 'cosine',
      pass_threshold: 0.5,
    },
    { type: 'g_eval', name: 'd', criteria: 'Coherence' },
    { type: 'g_eval', name: 'e', criteria: 'Coherence', evaluation_steps: ['Read it.'] },
    { type: 'faithfulness', name: 'f' },
  ]);
  expect(problems).toEqual([]);
  expect(graders.map(needsJudge)).toEqual([false, false, true, true, true, true]);
  expect(graders.map(needsPreparation)).toEqual([false, false, false, true, false, false]);
});
