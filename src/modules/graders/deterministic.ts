// Graders that need no model: string checks, regular expressions, JSON validity and schemas, and
// text similarity (except cosine, which needs embeddings). Pure, apart from caching compiled schemas.
import Ajv, { type ValidateFunction } from 'ajv';
import safeRegex from 'safe-regex2';
import type { GraderSpecOf } from './definitions';
import { render, type GradingItem } from './template';
import { bleu, fuzzyRatio, rougeL, rougeN } from './text-metrics';

export interface Outcome {
  score: number;
  passed: boolean;
  reasoning?: string;
}

export function stringCheck(spec: GraderSpecOf<'STRING_CHECK'>, item: GradingItem): Outcome {
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

export function regex(spec: GraderSpecOf<'REGEX'>, item: GradingItem): Outcome {
  const ok = new RegExp(spec.pattern, spec.flags).test(render(spec.input, item));
  return { score: ok ? 1 : 0, passed: ok };
}

// Schemas compile to code once per grader object. Each gets its own Ajv instance: a shared one
// would register every `$id`, so one tenant's schema could clash with (or be `$ref`'d by)
// another's, and its cache would only grow. Strict mode off: schemas written for other
// validators (unknown keywords, formats) still compile.
const newAjv = () => new Ajv({ allErrors: false, strict: false, validateFormats: false, code: { regExp: safeRegExp } });
const compiled = new WeakMap<object, ValidateFunction>();

/** Ajv's RegExp constructor for `pattern` keywords: refuses patterns that may backtrack badly. */
function safeRegExp(pattern: string, flags: string) {
  if (!safeRegex(pattern)) throw new Error(`schema pattern may backtrack catastrophically: ${pattern}`);
  return new RegExp(pattern, flags);
}
safeRegExp.code = 'new RegExp';

export function jsonSchema(spec: GraderSpecOf<'JSON_SCHEMA'>, item: GradingItem): Outcome {
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
export function textSimilarity(spec: GraderSpecOf<'TEXT_SIMILARITY'>, item: GradingItem): Outcome {
  const input = render(spec.input, item);
  const reference = render(spec.reference, item);
  const metric = spec.evaluation_metric;
  let score: number;
  if (metric === 'exact') score = input === reference ? 1 : 0;
  else if (metric === 'fuzzy_match') score = fuzzyRatio(input, reference);
  else if (metric === 'bleu') score = bleu([reference], input);
  else if (metric === 'rouge_l') score = rougeL(reference, input).fmeasure;
  else if (metric.startsWith('rouge_')) score = rougeN(reference, input, Number(metric.slice(6))).fmeasure;
  else throw new Error(`${metric} needs embeddings`);
  return { score, passed: score >= spec.pass_threshold };
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
