// What a grader is: one record with its type, the zod schema of its fields, how it grades an item,
// whether it needs the judge provider, and any work done once per evaluation before its first
// item. Records live beside their code (deterministic.ts, judges.ts, rag.ts); registry.ts lists
// them, and validation, the GraphQL enum and the runner's dispatch all derive from that list.
// Also the zod pieces graders share. Pure.
import { z } from 'zod';
import type { JudgeContext } from './judges';
import { unknownPlaceholders, type GradingItem } from './template';

export interface Outcome {
  score: number;
  passed: boolean;
  reasoning?: string;
}

export interface CriteriaProblem {
  path: (string | number)[];
  message: string;
}

/** A grader's parsed fields, with its type. */
export type SpecOf<T extends string, S extends z.ZodType> = { type: T } & z.output<S>;

/** The spec type a record's methods take: from its `type` and `schema` only, never from them. */
type Own<T extends string, S extends z.ZodType> = SpecOf<NoInfer<T>, NoInfer<S>>;

// Members are methods, not function properties: methods are bivariant in their parameters, so
// every record fits the registry's list without a cast.
export interface Grader<T extends string = string, S extends z.ZodType = z.ZodType> {
  /** The GraphQL GraderType value. Clients may also send it in lowercase. */
  type: T;
  /** Other names clients send (lowercase): OpenAI's, or a shorthand. */
  aliases?: readonly string[];
  /** Its fields in snake_case, without `type` (camelCase keys are converted before parsing). */
  schema: S;
  grade(spec: Own<T, S>, item: GradingItem, ctx: JudgeContext): Outcome | Promise<Outcome>;
  /** Whether it calls the judge provider (refused at creation when none is configured; quotas apply). */
  needsJudge(spec: Own<T, S>): boolean;
  /** A check too costly for every load of the criteria, made once, when an evaluation is created. */
  check?(spec: Own<T, S>): CriteriaProblem | null;
  /**
   * Work done once per evaluation before its first item (G-Eval's steps). Its result is stored in
   * the grader's criteria JSON, so every item and every worker uses the same.
   */
  prepare?: {
    /** Whether it is still to be done (false once its fields are stored). */
    needed(spec: Own<T, S>): boolean;
    /** The fields to store with the grader; judge calls go through ctx (priced by the runner). */
    run(spec: Own<T, S>, ctx: JudgeContext): Promise<Partial<z.input<NoInfer<S>>>>;
  };
}

/** A grader record, typed by its schema. */
export const defineGrader = <T extends string, S extends z.ZodType>(
  grader: Grader<T, S>,
): Grader<T, S> => grader;

export const MAX_TEMPLATE = 20_000;

/** A template over the item and the sample ({{item.…}}, {{sample.output_text}}). */
export const template = z
  .string()
  .min(1)
  .max(MAX_TEMPLATE)
  .superRefine((t, ctx) => {
    const bad = unknownPlaceholders(t);
    if (bad.length)
      ctx.addIssue({
        code: 'custom',
        message: `unknown placeholder {{${bad[0]}}}: use {{item.…}} or {{sample.output_text}}`,
      });
  });
export const name = z.string().trim().min(1).max(100);
export const threshold = z.number().min(0).max(1);
export const model = z.string().min(1).max(200).optional();
/** The judge provider to ask, by its configured name (checked at creation); else the model picks. */
export const provider = z.string().min(1).max(100).optional();

// OpenAI's message content is a string or an input_text/output_text part.
const content = z.union([
  template,
  z
    .object({ type: z.enum(['input_text', 'output_text']), text: template })
    .transform((p) => p.text),
]);
export const messages = z
  .array(
    z.object({
      role: z.enum(['system', 'developer', 'user', 'assistant']),
      content,
      type: z.literal('message').optional(),
    }),
  )
  .min(1)
  .max(20);
export const samplingParams = z
  .object({
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().min(0).max(1).optional(),
    seed: z.number().int().optional(),
    max_completions_tokens: z.number().int().min(1).max(16_384).optional(),
  })
  .strict()
  .optional();
