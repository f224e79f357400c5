// Testing criteria: the graders of an evaluation, as clients send them. OpenAI Evals grader JSON
// (`string_check`, `text_similarity`, `score_model`, `label_model`, snake_case fields) is accepted
// as is; our other graders use the same style. camelCase keys are accepted too. Pure.
import safeRegex from 'safe-regex2';
import { z } from 'zod';
import { unknownPlaceholders } from './template';

export const GRADER_TYPES = [
  'STRING_CHECK',
  'REGEX',
  'JSON_SCHEMA',
  'TEXT_SIMILARITY',
  'SCORE_MODEL',
  'LABEL_MODEL',
  'G_EVAL',
  'FAITHFULNESS',
  'ANSWER_RELEVANCY',
  'CONTEXT_PRECISION',
  'CONTEXT_RECALL',
] as const;
export type GraderType = (typeof GRADER_TYPES)[number];

export const MAX_GRADERS = 20;
const MAX_TEMPLATE = 20_000;

const template = z
  .string()
  .min(1)
  .max(MAX_TEMPLATE)
  .superRefine((t, ctx) => {
    const bad = unknownPlaceholders(t);
    if (bad.length) ctx.addIssue({ code: 'custom', message: `unknown placeholder {{${bad[0]}}}: use {{item.…}} or {{sample.output_text}}` });
  });
const name = z.string().trim().min(1).max(100);
const threshold = z.number().min(0).max(1);
const model = z.string().min(1).max(200).optional();

// OpenAI's message content is a string or an input_text/output_text part.
const content = z.union([template, z.object({ type: z.enum(['input_text', 'output_text']), text: template }).transform((p) => p.text)]);
const messages = z
  .array(z.object({ role: z.enum(['system', 'developer', 'user', 'assistant']), content, type: z.literal('message').optional() }))
  .min(1)
  .max(20);
const samplingParams = z
  .object({ temperature: z.number().min(0).max(2).optional(), top_p: z.number().min(0).max(1).optional(), seed: z.number().int().optional(), max_completions_tokens: z.number().int().min(1).max(16_384).optional() })
  .strict()
  .optional();

const SIMILARITY_METRICS = ['exact', 'fuzzy_match', 'bleu', 'rouge_1', 'rouge_2', 'rouge_3', 'rouge_4', 'rouge_5', 'rouge_l', 'cosine'] as const;

const schemas = {
  STRING_CHECK: z.object({ name, input: template, reference: template, operation: z.enum(['eq', 'ne', 'like', 'ilike']) }).strict(),
  REGEX: z
    .object({ name, input: template, pattern: z.string().min(1).max(1_000), flags: z.string().regex(/^[imsu]*$/, 'flags may be i, m, s and u').optional() })
    .strict()
    .superRefine((g, ctx) => {
      try {
        new RegExp(g.pattern, g.flags);
      } catch (error) {
        return void ctx.addIssue({ code: 'custom', path: ['pattern'], message: (error as Error).message });
      }
      // Outputs are long and untrusted: a pattern that backtracks badly would stall a worker.
      if (!safeRegex(g.pattern)) ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'may backtrack catastrophically; simplify it' });
    }),
  JSON_SCHEMA: z
    .object({ name, input: template, schema: z.record(z.string(), z.unknown()).optional() })
    .strict()
    .refine((g) => g.schema === undefined || JSON.stringify(g.schema).length <= MAX_TEMPLATE, { path: ['schema'], message: `must be at most ${MAX_TEMPLATE} characters of JSON` }),
  TEXT_SIMILARITY: z
    .object({
      name,
      input: template,
      reference: template,
      evaluation_metric: z.enum(SIMILARITY_METRICS, { message: `expected one of ${SIMILARITY_METRICS.join(', ')} (gleu and meteor are not supported)` }),
      pass_threshold: threshold,
    })
    .strict(),
  SCORE_MODEL: z
    .object({ name, model, input: messages, range: z.tuple([z.number(), z.number()]).default([0, 1]), pass_threshold: z.number().optional(), sampling_params: samplingParams })
    .strict()
    .refine((g) => g.range[0] < g.range[1], { path: ['range'], message: 'must be [low, high] with low < high' })
    .refine((g) => g.pass_threshold === undefined || (g.pass_threshold >= g.range[0] && g.pass_threshold <= g.range[1]), { path: ['pass_threshold'], message: 'must lie within range' }),
  LABEL_MODEL: z
    .object({ name, model, input: messages, labels: z.array(z.string().min(1).max(100)).min(2).max(50), passing_labels: z.array(z.string()).min(1), sampling_params: samplingParams })
    .strict()
    .refine((g) => g.passing_labels.every((l) => g.labels.includes(l)), { path: ['passing_labels'], message: 'each passing label must be one of labels' }),
  G_EVAL: z
    .object({
      name,
      model,
      criteria: z.string().min(1).max(5_000),
      evaluation_steps: z.array(z.string().min(1).max(1_000)).min(1).max(20).optional(),
      input: template.default('{{item.input}}'),
      output: template.default('{{sample.output_text}}'),
      score_range: z.tuple([z.number().int(), z.number().int()]).default([1, 5]),
      pass_threshold: threshold.default(0.5),
      samples: z.number().int().min(1).max(20).default(5),
    })
    .strict()
    .refine((g) => g.score_range[0] < g.score_range[1] && g.score_range[1] - g.score_range[0] <= 10, { path: ['score_range'], message: 'must be [low, high], low < high, at most 10 apart' }),
  FAITHFULNESS: ragSchema(),
  ANSWER_RELEVANCY: ragSchema().extend({ questions: z.number().int().min(1).max(10).default(3) }),
  CONTEXT_PRECISION: ragSchema(),
  CONTEXT_RECALL: ragSchema(),
};

function ragSchema() {
  return z.object({ name, model, pass_threshold: threshold.default(0.5) }).strict();
}

export type GraderSpec = { [T in GraderType]: { type: T } & z.output<(typeof schemas)[T]> }[GraderType];
export type GraderSpecOf<T extends GraderType> = Extract<GraderSpec, { type: T }>;

// OpenAI's type names, and ours in lowercase; json_valid is JSON_SCHEMA without a schema.
const TYPE_NAMES: Record<string, GraderType> = Object.fromEntries([...GRADER_TYPES.map((t) => [t.toLowerCase(), t]), ['json_valid', 'JSON_SCHEMA'], ['geval', 'G_EVAL']]);

export interface CriteriaProblem {
  path: (string | number)[];
  message: string;
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Validates testing criteria; returns the graders or every problem with its path. */
export function parseTestingCriteria(raw: unknown): { graders: GraderSpec[]; problems: CriteriaProblem[] } {
  const problems: CriteriaProblem[] = [];
  if (!Array.isArray(raw) || raw.length === 0) return { graders: [], problems: [{ path: [], message: 'must be a non-empty list of graders' }] };
  if (raw.length > MAX_GRADERS) return { graders: [], problems: [{ path: [], message: `at most ${MAX_GRADERS} graders` }] };
  const graders: GraderSpec[] = [];
  raw.forEach((entry, index) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return void problems.push({ path: [index], message: 'must be an object' });
    const fields = Object.fromEntries(Object.entries(entry).map(([k, v]) => [snake(k), v]));
    const type = TYPE_NAMES[String(fields.type ?? '').toLowerCase()];
    if (!type) return void problems.push({ path: [index, 'type'], message: `unknown grader type "${String(fields.type)}"; expected one of ${GRADER_TYPES.join(', ')}` });
    delete fields.type;
    const parsed = schemas[type].safeParse(fields);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push({ path: [index, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: issue.message });
      return;
    }
    graders.push({ type, ...parsed.data } as GraderSpec);
  });
  const seen = new Set<string>();
  graders.forEach((g, i) => {
    if (seen.has(g.name)) problems.push({ path: [i, 'name'], message: `grader name "${g.name}" is used twice` });
    seen.add(g.name);
  });
  return { graders: problems.length ? [] : graders, problems };
}
