// What an online evaluation rule's input means: the GraphQL input fields shared by
// createEvaluationRule and updateEvaluationRule, their zod bounds, and checkRule (the fields
// together, the testing criteria validated by the code evaluations use).
import { z } from 'zod';
import { EvaluationRuleTarget } from '../../generated/prisma/enums';
import { parseInput } from '../../lib/validate';
import { builder } from '../../schema/builder';
import { checkTestingCriteria } from '../graders/validate';
import { SpanKindEnum, SpanStatusEnum } from '../traces/schema';
import type { JudgeRouting } from '../providers/router';
import { type RuleFilter, ruleFilterSchema, storedFilter } from './filter';
import { EvaluationRuleContextsEnum, EvaluationRuleTargetEnum } from './schema';
import { type Variables, variablesSchema } from './variables';

const MetadataInput = builder.inputType('EvaluationRuleMetadataInput', {
  fields: (t) => ({
    key: t.string({ required: true, description: 'A dotted key reads nested objects.' }),
    value: t.string({ required: true, description: 'Compared with the value as text.' }),
  }),
});

const FilterInput = builder.inputType('EvaluationRuleFilterInput', {
  description:
    'All given conditions must hold. Trace conditions (userId, sessionId, tags: all of them) hold for the trace; span conditions (spanKind, model, name, status, metadata) for one span.',
  fields: (t) => ({
    spanKind: t.field({ type: SpanKindEnum }),
    model: t.string({ description: 'Compared normalised: gpt-4o matches gpt-4o-2024-08-06.' }),
    name: t.string({ description: 'The span name, exactly.' }),
    tags: t.stringList(),
    userId: t.string({ description: 'The end user.' }),
    sessionId: t.string(),
    metadata: t.field({ type: [MetadataInput] }),
    status: t.field({ type: SpanStatusEnum }),
  }),
});

const VariablesInput = builder.inputType('EvaluationRuleVariablesInput', {
  description:
    'Span fields named: input, output, name, metadata or metadata.<key>. Omitted: input and output from the span of the same name, no expected output, contexts from retrievers.',
  fields: (t) => ({
    input: t.string({ description: '{{item.input}} (default "input").' }),
    output: t.string({ description: '{{sample.output_text}} (default "output").' }),
    expectedOutput: t.string({
      description: '{{item.expected_output}}, e.g. "metadata.expected_output".',
    }),
    contexts: t.field({ type: EvaluationRuleContextsEnum }),
  }),
});

/** The input fields of a rule; on create, the defaults are given. */
// biome-ignore lint/suspicious/noExplicitAny: Pothos' input field builder, shared by two mutations.
export function ruleInputFields(t: any, creating: boolean) {
  return {
    name: t.string({ required: creating }),
    target: t.field({
      type: EvaluationRuleTargetEnum,
      ...(creating ? { required: true, defaultValue: 'TRACE' } : {}),
    }),
    filter: t.field({ type: FilterInput, description: 'None: every trace (or span).' }),
    samplingRate: t.float({
      description: 'Share of the matching targets judged, from 0 to 1.',
      ...(creating ? { required: true, defaultValue: 1 } : {}),
    }),
    delaySeconds: t.int({
      description: "Seconds after a trace's last batch before it is judged (0 to 86400).",
      ...(creating ? { required: true, defaultValue: 30 } : {}),
    }),
    testingCriteria: t.field({
      type: ['JSON'],
      required: creating,
      description: 'Graders, as createEvaluation takes them.',
    }),
    variables: t.field({ type: VariablesInput }),
    enabled: t.boolean(creating ? { required: true, defaultValue: true } : {}),
  };
}

const ruleSchema = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(200),
  target: z.enum(EvaluationRuleTarget),
  filter: ruleFilterSchema.nullish(),
  samplingRate: z.number().min(0).max(1),
  delaySeconds: z.number().int().min(0).max(86_400),
  testingCriteria: z.unknown(),
  variables: variablesSchema.nullish(),
  enabled: z.boolean(),
});

export interface RuleData {
  name: string;
  target: EvaluationRuleTarget;
  filter: RuleFilter;
  samplingRate: number;
  delaySeconds: number;
  testingCriteria: unknown;
  variables: Variables;
  enabled: boolean;
}

/** The rule as it will be stored, or BAD_USER_INPUT naming the first problem's input path. */
export function checkRule(input: unknown, judges: JudgeRouting): RuleData {
  const parsed = parseInput(ruleSchema, input);
  checkTestingCriteria(parsed.testingCriteria, {
    judges,
    path: ['input', 'testingCriteria'],
  });
  return {
    ...parsed,
    filter: storedFilter(parsed.filter),
    variables: parsed.variables ?? variablesSchema.parse({}),
  };
}
