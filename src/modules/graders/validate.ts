// Testing criteria as the API takes them, for evaluations and online evaluation rules alike: every
// grader parsed (definitions.ts), the checks made once at creation, and a judge configured for
// graders that call one. The first problem becomes the BAD_USER_INPUT error, naming its path.
import { appError, badInput } from '../../errors';
import { creationProblems, type GraderSpec, parseTestingCriteria } from './definitions';
import { needsJudge } from './grade';

/** The graders of `raw`, or a BAD_USER_INPUT error under `path` (the input field's path). */
export function checkTestingCriteria(
  raw: unknown,
  options: { judgeConfigured: boolean; path: (string | number)[] },
): GraderSpec[] {
  const { graders, problems } = parseTestingCriteria(raw);
  problems.push(...creationProblems(graders));
  if (problems.length) {
    const first = problems[0];
    throw appError(
      'BAD_USER_INPUT',
      `testingCriteria${first.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('')}: ${first.message}`,
      {
        extensions: {
          path: [...options.path, ...first.path],
          problems: problems.slice(0, 50),
        },
      },
    );
  }
  if (graders.some(needsJudge) && !options.judgeConfigured) {
    throw badInput(
      'These graders need a judge model, and no judge provider is configured (EVALGRAPH_JUDGE_API_KEY).',
      options.path,
    );
  }
  return graders;
}
