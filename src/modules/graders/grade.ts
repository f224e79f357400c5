// One grader on one item: dispatch by type. G-Eval graders must have their evaluation steps by
// now (the engine generates and stores them once per evaluation).
import type { GraderSpec } from './definitions';
import { jsonSchema, regex, stringCheck, textSimilarity, type Outcome } from './deterministic';
import { gEval, JudgeAnswerError, labelModel, scoreModel, type JudgeContext } from './judges';
import { answerRelevancy, contextPrecision, contextRecall, faithfulness } from './rag';
import { render, type GradingItem } from './template';
import { cosine } from './text-metrics';

export async function grade(spec: GraderSpec, item: GradingItem, ctx: JudgeContext): Promise<Outcome> {
  switch (spec.type) {
    case 'STRING_CHECK':
      return stringCheck(spec, item);
    case 'REGEX':
      return regex(spec, item);
    case 'JSON_SCHEMA':
      return jsonSchema(spec, item);
    case 'TEXT_SIMILARITY': {
      if (spec.evaluation_metric !== 'cosine') return textSimilarity(spec, item);
      const embedded = await ctx.judge.embed([render(spec.input, item), render(spec.reference, item)], ctx.signal);
      ctx.usage.push({ model: embedded.model, inputTokens: embedded.usage.inputTokens, outputTokens: 0 });
      const score = cosine(embedded.vectors[0], embedded.vectors[1]);
      return { score, passed: score >= spec.pass_threshold };
    }
    case 'SCORE_MODEL':
      return scoreModel(spec, item, ctx);
    case 'LABEL_MODEL':
      return labelModel(spec, item, ctx);
    case 'G_EVAL':
      if (!spec.evaluation_steps) throw new JudgeAnswerError('G-Eval steps were not generated');
      return gEval(spec, spec.evaluation_steps, item, ctx);
    case 'FAITHFULNESS':
      return faithfulness(spec, item, ctx);
    case 'ANSWER_RELEVANCY':
      return answerRelevancy(spec, item, ctx);
    case 'CONTEXT_PRECISION':
      return contextPrecision(spec, item, ctx);
    case 'CONTEXT_RECALL':
      return contextRecall(spec, item, ctx);
  }
}

/** Graders that need the judge provider (to refuse them at creation when none is configured). */
export const needsJudge = (spec: GraderSpec) => spec.type !== 'STRING_CHECK' && spec.type !== 'REGEX' && spec.type !== 'JSON_SCHEMA' && !(spec.type === 'TEXT_SIMILARITY' && spec.evaluation_metric !== 'cosine');
