// Grading and preparing, by the grader's record (registry.ts). G-Eval graders must have their
// evaluation steps by now (the runner prepares them once per evaluation and stores them).
import type { Outcome } from './grader';
import type { JudgeContext } from './judges';
import { graderOf, type GraderSpec } from './registry';
import type { GradingItem } from './template';

export async function grade(
  spec: GraderSpec,
  item: GradingItem,
  ctx: JudgeContext,
): Promise<Outcome> {
  return graderOf(spec.type).grade(spec, item, { ...ctx, provider: providerOf(spec) });
}

/** The judge provider a grader names, if it names one. */
export const providerOf = (spec: GraderSpec): string | undefined =>
  'provider' in spec ? spec.provider : undefined;

/** Graders that need the judge provider (to refuse them at creation when none is configured). */
export const needsJudge = (spec: GraderSpec) => graderOf(spec.type).needsJudge(spec);

/** Whether the grader has work to do once per evaluation, before its first item. */
export const needsPreparation = (spec: GraderSpec) =>
  graderOf(spec.type).prepare?.needed(spec) ?? false;

/** Does that work: the fields to store in the grader's criteria JSON (and to set on `spec`). */
export async function prepare(
  spec: GraderSpec,
  ctx: JudgeContext,
): Promise<Record<string, unknown>> {
  const fields = await graderOf(spec.type).prepare?.run(spec, {
    ...ctx,
    provider: providerOf(spec),
  });
  return (fields ?? {}) as Record<string, unknown>;
}
