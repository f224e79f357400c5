// Graders that need no model: string checks, regular expressions, JSON validity and schemas, and
// text similarity (except cosine, for which its record asks the judge for embeddings), with their
// records. Pure, apart from caching compiled schemas.
import Ajv, { type ValidateFunction } from 'ajv';
import safeRegex from 'safe-regex2';
import { z } from 'zod';
import {
  defineGrader,
  MAX_TEMPLATE,
  name,
  provider,
  template,
  threshold,
  type Outcome,
  type SpecOf,
} from './grader';
import { usageOf } from './judges';
import { render, type GradingItem } from './template';
import { bleu, cosine, fuzzyRatio, rougeL, rougeN } from './text-metrics';

const stringCheckSchema = z
  .object({
    name,
    input: template,
    reference: template,
    operation: z.enum(['eq', 'ne', 'like', 'ilike']),
  })
  .strict();

const regexSchema = z
  .object({
    name,
    input: template,
    pattern: z.string().min(1).max(1_000),
    flags: z
      .string()
      .regex(/^[imsu]*$/, 'flags may be i, m, s and u')
      .optional(),
  })
  .strict()
  .superRefine((g, ctx) => {
    try {
      new RegExp(g.pattern, g.flags);
    } catch (error) {
      return void ctx.addIssue({
        code: 'custom',
        path: ['pattern'],
        message: (error as Error).message,
      });
    }
    // Outputs are long and untrusted: a pattern that backtracks badly would stall a worker.
    if (!safeRegex(g.pattern))
      ctx.addIssue({
        code: 'custom',
        path: ['pattern'],
        message: 'may backtrack catastrophically; simplify it',
      });
  });

const jsonSchemaSchema = z
  .object({ name, input: template, schema: z.record(z.string(), z.unknown()).optional() })
  .strict()
  .refine((g) => g.schema === undefined || JSON.stringify(g.schema).length <= MAX_TEMPLATE, {
    path: ['schema'],
    message: `must be at most ${MAX_TEMPLATE} characters of JSON`,
  });

const SIMILARITY_METRICS = [
  'exact',
  'fuzzy_match',
  'bleu',
  'rouge_1',
  'rouge_2',
  'rouge_3',
  'rouge_4',
  'rouge_5',
  'rouge_l',
  'cosine',
] as const;
const textSimilaritySchema = z
  .object({
    name,
    input: template,
    reference: template,
    evaluation_metric: z.enum(SIMILARITY_METRICS, {
      message: `expected one of ${SIMILARITY_METRICS.join(', ')} (gleu and meteor are not supported)`,
    }),
    pass_threshold: threshold,
    /** The provider of the embeddings (cosine only). */
    provider,
  })
  .strict();

export function stringCheck(
  spec: SpecOf<'STRING_CHECK', typeof stringCheckSchema>,
  item: GradingItem,
): Outcome {
  const input = render(spec.input, item);
  const reference = render(spec.reference, item);
  const ok = {
    eq: () => input === reference,
    ne: () => input !== reference,
    like: () => input.includes(reference),
    ilike: () => input.toLowerCase().includes(reference.toLowerCase()),
  }[spec.operation]();
  return { score: ok ? 1 : 0, passed: ok };
}

export function regex(spec: SpecOf<'REGEX', typeof regexSchema>, item: GradingItem): Outcome {
  const ok = new RegExp(spec.pattern, spec.flags).test(render(spec.input, item));
  return { score: ok ? 1 : 0, passed: ok };
}

// Schemas compile to code once per grader object. Each gets its own Ajv instance: a shared one
// would register every `$id`, so one tenant's schema could clash with (or be `$ref`'d by)
// another's, and its cache would only grow. Strict mode off: schemas written for other
// validators (unknown keywords, formats) still compile.
const newAjv = () =>
  new Ajv({
    allErrors: false,
    strict: false,
    validateFormats: false,
    code: { regExp: safeRegExp },
  });
const compiled = new WeakMap<object, ValidateFunction>();

/** Ajv's RegExp constructor for `pattern` keywords: refuses patterns that may backtrack badly. */
function safeRegExp(pattern: string, flags: string) {
  if (!safeRegex(pattern))
    throw new Error(`schema pattern may backtrack catastrophically: ${pattern}`);
  return new RegExp(pattern, flags);
}
safeRegExp.code = 'new RegExp';

export function jsonSchema(
  spec: SpecOf<'JSON_SCHEMA', typeof jsonSchemaSchema>,
  item: GradingItem,
): Outcome {
  const text = render(spec.input, item);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { score: 0, passed: false, reasoning: `not valid JSON: ${(error as Error).message}` };
  }
  if (!spec.schema) return { score: 1, passed: true };
  let validate = compiled.get(spec.schema);
  if (!validate) compiled.set(spec.schema, (validate = newAjv().compile(spec.schema)));
  if (validate(value)) return { score: 1, passed: true };
  return { score: 0, passed: false, reasoning: new Ajv().errorsText(validate.errors) };
}

/** Text similarity by every metric but cosine. */
export function textSimilarity(
  spec: SpecOf<'TEXT_SIMILARITY', typeof textSimilaritySchema>,
  item: GradingItem,
): Outcome {
  const input = render(spec.input, item);
  const reference = render(spec.reference, item);
  const metric = spec.evaluation_metric;
  let score: number;
  if (metric === 'exact') score = input === reference ? 1 : 0;
  else if (metric === 'fuzzy_match') score = fuzzyRatio(input, reference);
  else if (metric === 'bleu') score = bleu([reference], input);
  else if (metric === 'rouge_l') score = rougeL(reference, input).fmeasure;
  else if (metric.startsWith('rouge_'))
    score = rougeN(reference, input, Number(metric.slice(6))).fmeasure;
  else throw new Error(`${metric} needs embeddings`);
  return { score, passed: score >= spec.pass_threshold };
}

/**
 * A validator of `schema` by the rules json_schema grades with (for OpenAI Evals item schemas):
 * it answers why a value does not match, or null. Throws when the schema does not compile.
 */
export function schemaValidator(schema: object): (value: unknown) => string | null {
  const validate = newAjv().compile(schema);
  return (value) => (validate(value) ? null : new Ajv().errorsText(validate.errors));
}

/** Checks a JSON schema compiles (when an evaluation is created, not at its first item). */
export function schemaProblem(schema: object): string | null {
  try {
    newAjv().compile(schema);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

export const STRING_CHECK = defineGrader({
  type: 'STRING_CHECK',
  schema: stringCheckSchema,
  grade: stringCheck,
  needsJudge: () => false,
});

export const REGEX = defineGrader({
  type: 'REGEX',
  schema: regexSchema,
  grade: regex,
  needsJudge: () => false,
});

export const JSON_SCHEMA = defineGrader({
  type: 'JSON_SCHEMA',
  // A JSON_SCHEMA grader without a schema only checks the output is JSON.
  aliases: ['json_valid'],
  schema: jsonSchemaSchema,
  grade: jsonSchema,
  needsJudge: () => false,
  check: (g) => {
    const problem = g.schema ? schemaProblem(g.schema) : null;
    return problem ? { path: ['schema'], message: problem } : null;
  },
});

export const TEXT_SIMILARITY = defineGrader({
  type: 'TEXT_SIMILARITY',
  schema: textSimilaritySchema,
  async grade(spec, item, ctx) {
    if (spec.evaluation_metric !== 'cosine') return textSimilarity(spec, item);
    const embedded = await ctx.judge.embed(
      [render(spec.input, item), render(spec.reference, item)],
      ctx.signal,
      ctx.provider,
    );
    ctx.usage.push(usageOf(embedded));
    const score = cosine(embedded.vectors[0], embedded.vectors[1]);
    return { score, passed: score >= spec.pass_threshold };
  },
  // Cosine similarity compares the provider's embeddings.
  needsJudge: (spec) => spec.evaluation_metric === 'cosine',
});
