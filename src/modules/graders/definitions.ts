// Testing criteria: the graders of an evaluation, as clients send them. OpenAI Evals grader JSON
// (`string_check`, `text_similarity`, `score_model`, `label_model`, snake_case fields) is accepted
// as is; our other graders use the same style. camelCase keys are accepted too. Pure.
import type { CriteriaProblem } from './grader';
import { graderOf, GRADERS, GRADER_TYPES, type GraderSpec, type GraderType } from './registry';

export type { CriteriaProblem } from './grader';
export { GRADER_TYPES, type GraderSpec, type GraderSpecOf, type GraderType } from './registry';

export const MAX_GRADERS = 20;

// Our type names in lowercase, and each grader's aliases (OpenAI's names, shorthands).
const TYPE_NAMES = new Map<string, (typeof GRADERS)[number]>(
  GRADERS.flatMap((g) => [g.type.toLowerCase(), ...(g.aliases ?? [])].map((n) => [n, g] as const)),
);

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Validates testing criteria; returns the graders or every problem with its path. */
export function parseTestingCriteria(raw: unknown): {
  graders: GraderSpec[];
  problems: CriteriaProblem[];
} {
  const problems: CriteriaProblem[] = [];
  if (!Array.isArray(raw) || raw.length === 0)
    return {
      graders: [],
      problems: [{ path: [], message: 'must be a non-empty list of graders' }],
    };
  if (raw.length > MAX_GRADERS)
    return { graders: [], problems: [{ path: [], message: `at most ${MAX_GRADERS} graders` }] };
  const graders: GraderSpec[] = [];
  raw.forEach((entry, index) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      return void problems.push({ path: [index], message: 'must be an object' });
    const fields = Object.fromEntries(Object.entries(entry).map(([k, v]) => [snake(k), v]));
    const grader = TYPE_NAMES.get(String(fields.type ?? '').toLowerCase());
    if (!grader)
      return void problems.push({
        path: [index, 'type'],
        message: `unknown grader type "${String(fields.type)}"; expected one of ${GRADER_TYPES.join(', ')}`,
      });
    delete fields.type;
    const parsed = grader.schema.safeParse(fields);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        problems.push({
          path: [index, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
          message: issue.message,
        });
      return;
    }
    graders.push({ type: grader.type as GraderType, ...(parsed.data as object) } as GraderSpec);
  });
  const seen = new Set<string>();
  graders.forEach((g, i) => {
    if (seen.has(g.name))
      problems.push({ path: [i, 'name'], message: `grader name "${g.name}" is used twice` });
    seen.add(g.name);
  });
  return { graders: problems.length ? [] : graders, problems };
}

/** The checks made once, when an evaluation is created (too costly for every load of its criteria). */
export function creationProblems(graders: readonly GraderSpec[]): CriteriaProblem[] {
  return graders.flatMap((g, i) => {
    const problem = graderOf(g.type).check?.(g);
    return problem ? [{ path: [i, ...problem.path], message: problem.message }] : [];
  });
}
