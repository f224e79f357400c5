// G-Eval (Liu et al. 2023, "G-Eval: NLG Evaluation using GPT-4 with Better Human Alignment"):
// evaluation steps generated from the criteria (chain of thought), then a form-filling prompt
// whose score is the probability-weighted sum Σ p(s)·s over the score tokens, or the mean of n
// sampled scores when the provider returns no log probabilities. Pure.
import type { ChatMessage, TokenLogprobs } from '../providers/judge';

export function stepsPrompt(criteria: string): ChatMessage[] {
  return [
    { role: 'system', content: 'You write evaluation steps for grading text against a criterion.' },
    {
      role: 'user',
      content: `Criterion:\n${criteria}\n\nWrite 3 to 5 concise evaluation steps a grader should follow to assess this criterion. Answer with JSON: {"steps": ["…", "…"]}`,
    },
  ];
}

export function formPrompt(args: {
  criteria: string;
  steps: string[];
  input: string;
  output: string;
  range: [number, number];
}): ChatMessage[] {
  const [low, high] = args.range;
  return [
    {
      role: 'system',
      content: `You are an evaluator. You grade a response on one criterion with an integer score from ${low} to ${high}.`,
    },
    {
      role: 'user',
      content: [
        `Evaluation criterion:\n${args.criteria}`,
        `Evaluation steps:\n${args.steps.map((s, i) => `${i + 1}. ${s}`).join('\n')}`,
        `Input:\n${args.input}`,
        `Response:\n${args.output}`,
        `Evaluation form (answer with the score only, an integer from ${low} to ${high}):\nScore:`,
      ].join('\n\n'),
    },
  ];
}

const scoreOf = (token: string, [low, high]: [number, number]): number | null => {
  const text = token.trim();
  if (!/^-?\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= low && n <= high ? n : null;
};

/**
 * Σ p(s)·s over the score's alternatives at the first token that is a score, with p renormalised
 * over the tokens that are scores. Null when no token is one.
 */
export function weightedScore(
  logprobs: readonly TokenLogprobs[] | null,
  range: [number, number],
): number | null {
  if (!logprobs) return null;
  const at = logprobs.find((t) => scoreOf(t.token, range) !== null);
  if (!at) return null;
  const alternatives = at.top.length ? at.top : [{ token: at.token, logprob: at.logprob }];
  const mass = new Map<number, number>();
  for (const alt of alternatives) {
    const s = scoreOf(alt.token, range);
    // " 4" and "4" are different tokens for the same score.
    if (s !== null) mass.set(s, (mass.get(s) ?? 0) + Math.exp(alt.logprob));
  }
  const total = [...mass.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let sum = 0;
  for (const [s, p] of mass) sum += s * p;
  return sum / total;
}

/** The first integer in range in a sampled answer, or null. */
export function sampledScore(text: string, range: [number, number]): number | null {
  for (const match of text.matchAll(/-?\d+/g)) {
    const s = scoreOf(match[0], range);
    if (s !== null) return s;
  }
  return null;
}

/** A raw score mapped onto [0, 1]. */
export const normalise = (score: number, [low, high]: [number, number]) =>
  (score - low) / (high - low);
