// Every grader, in one list: to add one, write its record (grader.ts says what it holds) beside its
// code and list it here. The GraphQL GraderType enum, the testing criteria's validation, grading
// and the runner's preparation step all read this list. Its order is the order error messages
// name the types in.
import { JSON_SCHEMA, REGEX, STRING_CHECK, TEXT_SIMILARITY } from './deterministic';
import type { Grader, SpecOf } from './grader';
import { G_EVAL, LABEL_MODEL, SCORE_MODEL } from './judges';
import { ANSWER_RELEVANCY, CONTEXT_PRECISION, CONTEXT_RECALL, FAITHFULNESS } from './rag';

export const GRADERS = [
  STRING_CHECK,
  REGEX,
  JSON_SCHEMA,
  TEXT_SIMILARITY,
  SCORE_MODEL,
  LABEL_MODEL,
  G_EVAL,
  FAITHFULNESS,
  ANSWER_RELEVANCY,
  CONTEXT_PRECISION,
  CONTEXT_RECALL,
] as const;

export type GraderType = (typeof GRADERS)[number]['type'];
export const GRADER_TYPES = GRADERS.map((g) => g.type) as readonly GraderType[];

/** A grader's fields after parsing, with its type (a union over every grader). */
export type GraderSpec = (typeof GRADERS)[number] extends infer G
  ? G extends Grader<infer T, infer S>
    ? SpecOf<T, S>
    : never
  : never;
export type GraderSpecOf<T extends GraderType> = Extract<GraderSpec, { type: T }>;

const BY_TYPE = new Map<string, Grader>(GRADERS.map((g) => [g.type, g]));

/** The record of a type (GraderSpec types always have one). */
export function graderOf(type: string): Grader {
  const grader = BY_TYPE.get(type);
  if (!grader) throw new Error(`no grader of type ${type}`);
  return grader;
}
