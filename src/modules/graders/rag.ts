// RAG metrics as RAGAS defines them (Es et al. 2023, docs.ragas.io): faithfulness, answer
// relevancy, context precision@K and context recall. The question is the item's input (its
// `question` field when it is an object), the answer its output, the reference its expected
// output, the contexts its retrieved chunks, in rank order.
import { z } from 'zod';
import {
  defineGrader,
  model,
  name,
  provider,
  threshold,
  type Outcome,
  type SpecOf,
} from './grader';
import { chat, JudgeAnswerError, parseJsonAnswer, usageOf, type JudgeContext } from './judges';
import { asText, type GradingItem } from './template';
import { cosine } from './text-metrics';

const ragSchema = z
  .object({ name, model, provider, pass_threshold: threshold.default(0.5) })
  .strict();
const answerRelevancySchema = ragSchema.extend({
  questions: z.number().int().min(1).max(10).default(3),
});

type RagSpec = SpecOf<string, typeof ragSchema>;

function parts(item: GradingItem) {
  const input = item.input as Record<string, unknown> | null;
  const question =
    typeof input === 'object' && input !== null && typeof input.question === 'string'
      ? input.question
      : asText(item.input);
  return {
    question,
    answer: asText(item.output),
    reference: asText(item.expectedOutput),
    contexts: item.contexts,
  };
}

const numbered = (contexts: string[]) => contexts.map((c, i) => `[${i + 1}] ${c}`).join('\n');

async function ask(
  ctx: JudgeContext,
  spec: RagSpec,
  system: string,
  user: string,
): Promise<Record<string, unknown>> {
  const result = await chat(ctx, {
    model: spec.model,
    json: true,
    temperature: 0,
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: user },
    ],
  });
  return parseJsonAnswer(result.choices[0]?.text ?? '');
}

const list = (value: unknown, what: string): unknown[] => {
  if (!Array.isArray(value))
    throw new JudgeAnswerError(`the judge did not return a list of ${what}`);
  return value;
};
const flag = (value: unknown) => value === 1 || value === true || value === '1' || value === 'yes';

const outcome = (spec: RagSpec, score: number, reasoning: string): Outcome => ({
  score,
  passed: score >= spec.pass_threshold,
  reasoning,
});

/** Claims of the answer supported by the contexts / claims of the answer. */
export async function faithfulness(
  spec: RagSpec,
  item: GradingItem,
  ctx: JudgeContext,
): Promise<Outcome> {
  const { question, answer, contexts } = parts(item);
  if (contexts.length === 0) throw new JudgeAnswerError("faithfulness needs the item's contexts");
  const claims = list(
    (
      await ask(
        ctx,
        spec,
        'You split answers into standalone factual claims.',
        `Question: ${question}\nAnswer: ${answer}\n\nList every factual claim the answer makes, each understandable on its own. Answer with JSON: {"claims": ["…"]}`,
      )
    ).claims,
    'claims',
  ).map(String);
  if (claims.length === 0) throw new JudgeAnswerError('the answer makes no claims to check');
  const verdicts = list(
    (
      await ask(
        ctx,
        spec,
        'You judge whether claims can be inferred from a context.',
        `Context:\n${numbered(contexts)}\n\nFor each claim, verdict 1 if it can be directly inferred from the context, else 0.\nClaims:\n${claims.map((c, i) => `${i + 1}. ${c}`).join('\n')}\n\nAnswer with JSON: {"verdicts": [{"claim": "…", "verdict": 0 or 1}]}`,
      )
    ).verdicts,
    'verdicts',
  );
  if (verdicts.length !== claims.length)
    throw new JudgeAnswerError(
      `the judge gave ${verdicts.length} verdicts for ${claims.length} claims`,
    );
  const supported = verdicts.filter((v) => flag((v as Record<string, unknown>)?.verdict)).length;
  return outcome(
    spec,
    supported / claims.length,
    `${supported} of ${claims.length} claims supported by the context`,
  );
}

/** Mean cosine similarity between the question and questions generated back from the answer (0 for a noncommittal answer). */
export async function answerRelevancy(
  spec: SpecOf<'ANSWER_RELEVANCY', typeof answerRelevancySchema>,
  item: GradingItem,
  ctx: JudgeContext,
): Promise<Outcome> {
  const { question, answer } = parts(item);
  const answerJson = await ask(
    ctx,
    spec,
    'You write the questions an answer responds to.',
    `Answer: ${answer}\n\nWrite ${spec.questions} different questions this answer responds to, and say whether the answer is noncommittal (evasive, vague, "I don't know": 1) or not (0). Answer with JSON: {"questions": ["…"], "noncommittal": 0 or 1}`,
  );
  const generated = list(answerJson.questions, 'questions').map(String).filter(Boolean);
  if (generated.length === 0) throw new JudgeAnswerError('the judge generated no questions');
  if (flag(answerJson.noncommittal)) return outcome(spec, 0, 'the answer is noncommittal');
  const embedded = await ctx.judge.embed([question, ...generated], ctx.signal);
  ctx.usage.push(usageOf(embedded));
  const [q, ...rest] = embedded.vectors;
  const score = rest.reduce((sum, v) => sum + cosine(q, v), 0) / rest.length;
  return outcome(
    spec,
    score,
    `mean cosine similarity of ${rest.length} generated questions to the question`,
  );
}

/** Average precision@k over the ranks of the contexts useful for reaching the reference answer. */
export async function contextPrecision(
  spec: RagSpec,
  item: GradingItem,
  ctx: JudgeContext,
): Promise<Outcome> {
  const { question, reference, contexts } = parts(item);
  if (contexts.length === 0)
    throw new JudgeAnswerError("context precision needs the item's contexts");
  const verdicts = list(
    (
      await ask(
        ctx,
        spec,
        'You judge whether retrieved contexts were useful to reach an answer.',
        `Question: ${question}\nReference answer: ${reference}\n\nContexts, in rank order:\n${numbered(contexts)}\n\nFor each context, verdict 1 if it was useful in arriving at the reference answer, else 0. Answer with JSON: {"verdicts": [0 or 1, …]} (one per context, in order)`,
      )
    ).verdicts,
    'verdicts',
  ).map((v) =>
    flag(typeof v === 'object' && v !== null ? (v as Record<string, unknown>).verdict : v) ? 1 : 0,
  );
  if (verdicts.length !== contexts.length)
    throw new JudgeAnswerError(
      `the judge gave ${verdicts.length} verdicts for ${contexts.length} contexts`,
    );
  return outcome(
    spec,
    averagePrecision(verdicts),
    `relevant contexts at ranks ${verdicts.flatMap((v, i) => (v ? [i + 1] : [])).join(', ') || 'none'}`,
  );
}

/** Σ_k precision@k · v_k / (number of relevant contexts); 0 when none is relevant. */
export function averagePrecision(verdicts: readonly number[]): number {
  let relevant = 0;
  let sum = 0;
  verdicts.forEach((v, i) => {
    if (v) {
      relevant += 1;
      sum += relevant / (i + 1);
    }
  });
  return relevant ? sum / relevant : 0;
}

/** Sentences of the reference answer attributable to the contexts / sentences of the reference. */
export async function contextRecall(
  spec: RagSpec,
  item: GradingItem,
  ctx: JudgeContext,
): Promise<Outcome> {
  const { question, reference, contexts } = parts(item);
  if (!reference) throw new JudgeAnswerError("context recall needs the item's expected output");
  const classified = list(
    (
      await ask(
        ctx,
        spec,
        'You check which statements of an answer are supported by retrieved contexts.',
        `Question: ${question}\nContexts:\n${numbered(contexts)}\nReference answer: ${reference}\n\nSplit the reference answer into statements; for each, attributed 1 if the contexts support it, else 0. Answer with JSON: {"classifications": [{"statement": "…", "attributed": 0 or 1}]}`,
      )
    ).classifications,
    'classifications',
  );
  if (classified.length === 0)
    throw new JudgeAnswerError('the judge found no statements in the reference answer');
  const attributed = classified.filter((c) =>
    flag((c as Record<string, unknown>)?.attributed),
  ).length;
  return outcome(
    spec,
    attributed / classified.length,
    `${attributed} of ${classified.length} reference statements found in the contexts`,
  );
}

// Every RAG metric asks the judge.
export const FAITHFULNESS = defineGrader({
  type: 'FAITHFULNESS',
  schema: ragSchema,
  grade: faithfulness,
  needsJudge: () => true,
});
export const ANSWER_RELEVANCY = defineGrader({
  type: 'ANSWER_RELEVANCY',
  schema: answerRelevancySchema,
  grade: answerRelevancy,
  needsJudge: () => true,
});
export const CONTEXT_PRECISION = defineGrader({
  type: 'CONTEXT_PRECISION',
  schema: ragSchema,
  grade: contextPrecision,
  needsJudge: () => true,
});
export const CONTEXT_RECALL = defineGrader({
  type: 'CONTEXT_RECALL',
  schema: ragSchema,
  grade: contextRecall,
  needsJudge: () => true,
});
