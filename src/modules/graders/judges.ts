// LLM-judge graders: score_model, label_model and G-Eval. Each call's token usage is recorded in
// the meter, which the engine prices with the model price table.
import { z } from 'zod';
import type { ChatMessage, ChatRequest, ChatResult } from '../providers/judge';
import type { Judge } from '../providers/router';
import { formPrompt, normalise, sampledScore, stepsPrompt, weightedScore } from './g-eval';
import {
  defineGrader,
  messages as messageList,
  model,
  name,
  provider,
  samplingParams,
  template,
  threshold,
  type Outcome,
  type SpecOf,
} from './grader';
import { render, type GradingItem } from './template';

const scoreModelSchema = z
  .object({
    name,
    model,
    provider,
    input: messageList,
    range: z.tuple([z.number(), z.number()]).default([0, 1]),
    pass_threshold: z.number().optional(),
    sampling_params: samplingParams,
  })
  .strict()
  .refine((g) => g.range[0] < g.range[1], {
    path: ['range'],
    message: 'must be [low, high] with low < high',
  })
  .refine(
    (g) =>
      g.pass_threshold === undefined ||
      (g.pass_threshold >= g.range[0] && g.pass_threshold <= g.range[1]),
    { path: ['pass_threshold'], message: 'must lie within range' },
  );

const labelModelSchema = z
  .object({
    name,
    model,
    provider,
    input: messageList,
    labels: z.array(z.string().min(1).max(100)).min(2).max(50),
    passing_labels: z.array(z.string()).min(1),
    sampling_params: samplingParams,
  })
  .strict()
  .refine((g) => g.passing_labels.every((l) => g.labels.includes(l)), {
    path: ['passing_labels'],
    message: 'each passing label must be one of labels',
  });

const gEvalSchema = z
  .object({
    name,
    model,
    provider,
    criteria: z.string().min(1).max(5_000),
    evaluation_steps: z.array(z.string().min(1).max(1_000)).min(1).max(20).optional(),
    input: template.default('{{item.input}}'),
    output: template.default('{{sample.output_text}}'),
    score_range: z.tuple([z.number().int(), z.number().int()]).default([1, 5]),
    pass_threshold: threshold.default(0.5),
    samples: z.number().int().min(1).max(20).default(5),
  })
  .strict()
  .refine((g) => g.score_range[0] < g.score_range[1] && g.score_range[1] - g.score_range[0] <= 10, {
    path: ['score_range'],
    message: 'must be [low, high], low < high, at most 10 apart',
  });

export interface JudgeUsage {
  model: string;
  /** The provider that answered (a fallback's name when it took over). */
  provider?: string;
  /** As the provider reported them (0 when it reported none). */
  inputTokens: number;
  outputTokens: number;
  /** False when the provider reported no usage: the call's cost is unknown, not 0. */
  reported: boolean;
}

/** A chat or embeddings call's usage, as graders record it. */
export function usageOf(result: {
  model: string;
  provider?: string;
  usage: { inputTokens: number; outputTokens?: number } | null;
}): JudgeUsage {
  return {
    model: result.model,
    provider: result.provider,
    inputTokens: result.usage?.inputTokens ?? 0,
    outputTokens: result.usage?.outputTokens ?? 0,
    reported: result.usage !== null,
  };
}

export interface JudgeContext {
  /** Only the calls graders make: a fake with these two is enough to grade. */
  judge: Pick<Judge, 'chat' | 'embed'>;
  signal?: AbortSignal;
  /** The provider the grader names (its `provider` field); else its model picks one. */
  provider?: string;
  /** Every call's usage, appended as calls complete. */
  usage: JudgeUsage[];
}

/** A judge answer that could not be read: the item errors for this grader (not a provider failure). */
export class JudgeAnswerError extends Error {}

export async function chat(ctx: JudgeContext, request: ChatRequest): Promise<ChatResult> {
  const result = await ctx.judge.chat({ provider: ctx.provider, ...request }, ctx.signal);
  ctx.usage.push(usageOf(result));
  return result;
}

/** JSON from a model answer, tolerating code fences and prose around one object. */
export function parseJsonAnswer(text: string): Record<string, unknown> {
  const candidates = [
    text,
    text.replace(/^\s*```(?:json)?\s*|\s*```\s*$/g, ''),
    text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1),
  ];
  for (const candidate of candidates) {
    try {
      const value = JSON.parse(candidate);
      if (typeof value === 'object' && value !== null && !Array.isArray(value))
        return value as Record<string, unknown>;
    } catch {
      // try the next reading
    }
  }
  throw new JudgeAnswerError(`the judge did not answer with a JSON object: ${text.slice(0, 200)}`);
}

const renderMessages = (
  messages: { role: ChatMessage['role']; content: string }[],
  item: GradingItem,
): ChatMessage[] => messages.map((m) => ({ role: m.role, content: render(m.content, item) }));

const sampling = (
  p:
    | { temperature?: number; top_p?: number; seed?: number; max_completions_tokens?: number }
    | undefined,
): Partial<ChatRequest> => ({
  temperature: p?.temperature ?? 0,
  topP: p?.top_p,
  seed: p?.seed,
  maxTokens: p?.max_completions_tokens,
});

export async function scoreModel(
  spec: SpecOf<'SCORE_MODEL', typeof scoreModelSchema>,
  item: GradingItem,
  ctx: JudgeContext,
): Promise<Outcome> {
  const [low, high] = spec.range;
  const messages = renderMessages(spec.input, item);
  messages.push({
    role: 'system',
    content: `Answer with JSON: {"score": <number from ${low} to ${high}>, "reasoning": "<one or two sentences>"}`,
  });
  const result = await chat(ctx, {
    model: spec.model,
    messages,
    json: true,
    ...sampling(spec.sampling_params),
  });
  const answer = parseJsonAnswer(result.choices[0]?.text ?? '');
  const score = Number(answer.score);
  if (!Number.isFinite(score) || score < low || score > high)
    throw new JudgeAnswerError(
      `the judge's score ${JSON.stringify(answer.score)} is not a number from ${low} to ${high}`,
    );
  // Without a threshold, the upper half of the range passes.
  const threshold = spec.pass_threshold ?? (low + high) / 2;
  return {
    score,
    passed: score >= threshold,
    reasoning: typeof answer.reasoning === 'string' ? answer.reasoning : undefined,
  };
}

export async function labelModel(
  spec: SpecOf<'LABEL_MODEL', typeof labelModelSchema>,
  item: GradingItem,
  ctx: JudgeContext,
): Promise<Outcome> {
  const messages = renderMessages(spec.input, item);
  messages.push({
    role: 'system',
    content: `Answer with JSON: {"label": <one of ${JSON.stringify(spec.labels)}>, "reasoning": "<one or two sentences>"}`,
  });
  const result = await chat(ctx, {
    model: spec.model,
    messages,
    json: true,
    ...sampling(spec.sampling_params),
  });
  const answer = parseJsonAnswer(result.choices[0]?.text ?? '');
  const label = String(answer.label ?? '');
  if (!spec.labels.includes(label))
    throw new JudgeAnswerError(
      `the judge's label ${JSON.stringify(answer.label)} is not one of ${JSON.stringify(spec.labels)}`,
    );
  const passed = spec.passing_labels.includes(label);
  return {
    score: passed ? 1 : 0,
    passed,
    reasoning: `${label}${typeof answer.reasoning === 'string' ? `: ${answer.reasoning}` : ''}`,
  };
}

/** G-Eval's steps for a criterion (generated once per evaluation and stored with it). */
export async function gEvalSteps(
  criteria: string,
  model: string | undefined,
  ctx: JudgeContext,
): Promise<string[]> {
  const result = await chat(ctx, {
    model,
    messages: stepsPrompt(criteria),
    json: true,
    temperature: 0,
  });
  const steps = parseJsonAnswer(result.choices[0]?.text ?? '').steps;
  if (!Array.isArray(steps) || steps.length === 0 || !steps.every((s) => typeof s === 'string'))
    throw new JudgeAnswerError('the judge did not return evaluation steps');
  return steps.slice(0, 20) as string[];
}

export async function gEval(
  spec: SpecOf<'G_EVAL', typeof gEvalSchema>,
  steps: string[],
  item: GradingItem,
  ctx: JudgeContext,
): Promise<Outcome> {
  const range = spec.score_range;
  const messages = formPrompt({
    criteria: spec.criteria,
    steps,
    input: render(spec.input, item),
    output: render(spec.output, item),
    range,
  });
  // One token carries the score; its alternatives' log probabilities weight it.
  const first = await chat(ctx, {
    model: spec.model,
    messages,
    temperature: 0,
    maxTokens: 2,
    topLogprobs: 20,
  });
  let raw = weightedScore(first.choices[0]?.logprobs ?? null, range);
  let how = 'probability-weighted over the score tokens';
  if (raw === null) {
    // No log probabilities: the mean of n sampled scores (fewer choices than asked: ask again).
    const scores: number[] = [];
    for (let calls = 0; scores.length < spec.samples && calls < spec.samples; calls++) {
      const result = await chat(ctx, {
        model: spec.model,
        messages,
        temperature: 1,
        maxTokens: 5,
        n: spec.samples - scores.length,
      });
      for (const choice of result.choices) {
        const s = sampledScore(choice.text, range);
        if (s !== null) scores.push(s);
      }
    }
    if (scores.length === 0)
      throw new JudgeAnswerError(`the judge gave no score from ${range[0]} to ${range[1]}`);
    raw = scores.reduce((a, b) => a + b, 0) / scores.length;
    how = `mean of ${scores.length} sampled scores (${scores.join(', ')})`;
  }
  const score = normalise(raw, range);
  return {
    score,
    passed: score >= spec.pass_threshold,
    reasoning: `${raw.toFixed(3)} on ${range[0]}–${range[1]}, ${how}`,
  };
}

export const SCORE_MODEL = defineGrader({
  type: 'SCORE_MODEL',
  schema: scoreModelSchema,
  grade: scoreModel,
  needsJudge: () => true,
});

export const LABEL_MODEL = defineGrader({
  type: 'LABEL_MODEL',
  schema: labelModelSchema,
  grade: labelModel,
  needsJudge: () => true,
});

export const G_EVAL = defineGrader({
  type: 'G_EVAL',
  aliases: ['geval'],
  schema: gEvalSchema,
  grade(spec, item, ctx) {
    if (!spec.evaluation_steps) throw new JudgeAnswerError('G-Eval steps were not generated');
    return gEval(spec, spec.evaluation_steps, item, ctx);
  },
  needsJudge: () => true,
  // The steps are generated once per evaluation and stored, so every item is graded by the same.
  prepare: {
    needed: (spec) => !spec.evaluation_steps,
    run: async (spec, ctx) => ({
      evaluation_steps: await gEvalSteps(spec.criteria, spec.model, ctx),
    }),
  },
});
