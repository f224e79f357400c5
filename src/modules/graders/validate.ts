// Testing criteria as the API takes them, for evaluations and online evaluation rules alike: every
// grader parsed (definitions.ts), the checks made once at creation, and a judge configured for
// graders that call one, and a provider for each (the one it names, else one serving its model).
// The first problem becomes the BAD_USER_INPUT error, naming its path.
import { appError, badInput } from '../../errors';
import type { JudgeRouting } from '../providers/router';
import {
  type CriteriaProblem,
  creationProblems,
  type GraderSpec,
  parseTestingCriteria,
} from './definitions';
import { needsJudge, providerOf } from './grade';

/** Graders naming a provider that is not configured, or whose model no provider serves. */
function routingProblems(graders: readonly GraderSpec[], judges: JudgeRouting): CriteriaProblem[] {
  return graders.flatMap((g, i): CriteriaProblem[] => {
    if (!needsJudge(g)) return [];
    const provider = providerOf(g);
    if (provider !== undefined)
      return judges.names.includes(provider)
        ? []
        : [
            {
              path: [i, 'provider'],
              message: `no judge provider is named "${provider}"; configured: ${judges.names.join(', ')}`,
            },
          ];
    // Cosine similarity asks for embeddings; the others for the grader's model, else the default.
    const model =
      g.type === 'TEXT_SIMILARITY'
        ? judges.embeddingModel
        : ('model' in g && g.model) || judges.defaultModel;
    return judges.route(model) !== null
      ? []
      : [
          {
            path: g.type === 'TEXT_SIMILARITY' || !('model' in g && g.model) ? [i] : [i, 'model'],
            message: `no judge provider serves the model "${model}"`,
          },
        ];
  });
}

/** The graders of `raw`, or a BAD_USER_INPUT error under `path` (the input field's path). */
export function checkTestingCriteria(
  raw: unknown,
  options: { judges: JudgeRouting; path: (string | number)[] },
): GraderSpec[] {
  const { graders, problems } = parseTestingCriteria(raw);
  problems.push(...creationProblems(graders));
  if (options.judges.configured) problems.push(...routingProblems(graders, options.judges));
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
  if (graders.some(needsJudge) && !options.judges.configured) {
    throw badInput(
      'These graders need a judge model, and no judge provider is configured (EVALGRAPH_JUDGE_API_KEY).',
      options.path,
    );
  }
  return graders;
}
