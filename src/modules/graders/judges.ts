// LLM-judge graders: score_model, label_model and G-Eval. Each call's token usage is recorded in
// the meter, which the engine prices with the model price table.
import type { ChatMessage, ChatRequest, ChatResult, Judge } from '../providers/judge';
import type { GraderSpecOf } from './definitions';
import type { Outcome } from './deterministic';
import { formPrompt, normalise, sampledScore, stepsPrompt, weightedScore } from './g-eval';
import { render, type GradingItem } from './template';

export interface JudgeUsage {
  model: string;
  inputTokens: number;
  outputTokens: number;
}

export interface JudgeContext {
  /** Only the calls graders make: a fake with these two is enough to grade. */
  judge: Pick<Judge, 'chat' | 'embed'>;
  signal?: AbortSignal;
  /** Every call's usage, appended as calls complete. */
  usage: JudgeUsage[];
}

/** A judge answer that could not be read: the item errors for this grader (not a provider failure). */
export class JudgeAnswerError extends Error {}

export async function chat(ctx: JudgeContext, request: ChatRequest): Promise<ChatResult> {
  const result = await ctx.judge.chat(request, ctx.signal);
  ctx.usage.push({ model: result.model, ...result.usage });
  return result;
}

/** JSON from a model answer, tolerating code fences and prose around one object. */
export function parseJsonAnswer(text: string): Record<string, unknown> {
  const candidates = [text, text.replace(/^\s*```(?:json)?\s*|\s*```\s*$/g, ''), text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1)];
  for (const candidate of candidates) {
    try {
      const value = JSON.parse(candidate);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // try the next reading
    }
  }
  throw new JudgeAnswerError(`the judge did not answer with a JSON object: ${text.slice(0, 200)}`);
}

const renderMessages = (messages: { role: ChatMessage['role']; content: string }[], item: GradingItem): ChatMessage[] =>
  messages.map((m) => ({ role: m.role, content: render(m.content, item) }));

const sampling = (p: { temperature?: number; top_p?: number; seed?: number; max_completions_tokens?: number } | undefined): Partial<ChatRequest> => ({
  temperature: p?.temperature ?? 0,
  topP: p?.top_p,
  seed: p?.seed,
  maxTokens: p?.max_completions_tokens,
});

export async function scoreModel(spec: GraderSpecOf<'SCORE_MODEL'>, item: GradingItem, ctx: JudgeContext): Promise<Outcome> {
  const [low, high] = spec.range;
  const messages = renderMessages(spec.input, item);
  messages.push({ role: 'system', content: `Answer with JSON: {"score": <number from ${low} to ${high}>, "reasoning": "<one or two sentences>"}` });
  const result = await chat(ctx, { model: spec.model, messages, json: true, ...sampling(spec.sampling_params) });
  const answer = parseJsonAnswer(result.choices[0]?.text ?? '');
  const score = Number(answer.score);
  if (!Number.isFinite(score) || score < low || score > high) throw new JudgeAnswerError(`the judge's score ${JSON.stringify(answer.score)} is not a number from ${low} to ${high}`);
  // Without a threshold, the upper half of the range passes.
  const threshold = spec.pass_threshold ?? (low + high) / 2;
  return { score, passed: score >= threshold, reasoning: typeof answer.reasoning === 'string' ? answer.reasoning : undefined };
}

export async function labelModel(spec: GraderSpecOf<'LABEL_MODEL'>, item: GradingItem, ctx: JudgeContext): Promise<Outcome> {
  const messages = renderMessages(spec.input, item);
  messages.push({ role: 'system', content: `Answer with JSON: {"label": <one of ${JSON.stringify(spec.labels)}>, "reasoning": "<one or two sentences>"}` });
  const result = await chat(ctx, { model: spec.model, messages, json: true, ...sampling(spec.sampling_params) });
  const answer = parseJsonAnswer(result.choices[0]?.text ?? '');
  const label = String(answer.label ?? '');
  if (!spec.labels.includes(label)) throw new JudgeAnswerError(`the judge's label ${JSON.stringify(answer.label)} is not one of ${JSON.stringify(spec.labels)}`);
  const passed = spec.passing_labels.includes(label);
  return { score: passed ? 1 : 0, passed, reasoning: `${label}${typeof answer.reasoning === 'string' ? `: ${answer.reasoning}` : ''}` };
}

/** G-Eval's steps for a criterion (generated once per evaluation and stored with it). */
export async function gEvalSteps(criteria: string, model: string | undefined, ctx: JudgeContext): Promise<string[]> {
  const result = await chat(ctx, { model, messages: stepsPrompt(criteria), json: true, temperature: 0 });
  const steps = parseJsonAnswer(result.choices[0]?.text ?? '').steps;
  if (!Array.isArray(steps) || steps.length === 0 || !steps.every((s) => typeof s === 'string')) throw new JudgeAnswerError('the judge did not return evaluation steps');
  return steps.slice(0, 20) as string[];
}

export async function gEval(spec: GraderSpecOf<'G_EVAL'>, steps: string[], item: GradingItem, ctx: JudgeContext): Promise<Outcome> {
  const range = spec.score_range;
  const messages = formPrompt({ criteria: spec.criteria, steps, input: render(spec.input, item), output: render(spec.output, item), range });
  // One token carries the score; its alternatives' log probabilities weight it.
  const first = await chat(ctx, { model: spec.model, messages, temperature: 0, maxTokens: 2, topLogprobs: 20 });
  let raw = weightedScore(first.choices[0]?.logprobs ?? null, range);
  let how = 'probability-weighted over the score tokens';
  if (raw === null) {
    // No log probabilities: the mean of n sampled scores (fewer choices than asked: ask again).
    const scores: number[] = [];
    for (let calls = 0; scores.length < spec.samples && calls < spec.samples; calls++) {
      const result = await chat(ctx, { model: spec.model, messages, temperature: 1, maxTokens: 5, n: spec.samples - scores.length });
      for (const choice of result.choices) {
        const s = sampledScore(choice.text, range);
        if (s !== null) scores.push(s);
      }
    }
    if (scores.length === 0) throw new JudgeAnswerError(`the judge gave no score from ${range[0]} to ${range[1]}`);
    raw = scores.reduce((a, b) => a + b, 0) / scores.length;
    how = `mean of ${scores.length} sampled scores (${scores.join(', ')})`;
  }
  const score = normalise(raw, range);
  return { score, passed: score >= spec.pass_threshold, reasoning: `${raw.toFixed(3)} on ${range[0]}–${range[1]}, ${how}` };
}
