// Runs an evaluation and shows its live progress bar, with the typed client.
//
//   EVALGRAPH_URL=http://localhost:4000 EVALGRAPH_API_KEY=evg_… EVALGRAPH_PROJECT_ID=<project id> \
//     npx tsx examples/run-evaluation.ts
//
// It grades a few canned answers with a deterministic grader (no LLM needed); pass a dataset id
// as EVALGRAPH_DATASET_ID to grade a dataset of yours instead.
import {
  CreateEvaluationDocument,
  EvaluationProgressDocument,
  type EvaluationProgressSubscription,
} from '../schema/operations/generated/graphql';
import { createEvalgraphClient } from './client';

type Progress = EvaluationProgressSubscription['evaluationProgress'];

const ITEMS = [
  { input: 'What is the capital of France?', output: 'Paris', expectedOutput: 'Paris' },
  { input: 'What is 2 + 2?', output: '4', expectedOutput: '4' },
  { input: 'Who wrote Hamlet?', output: 'Marlowe', expectedOutput: 'Shakespeare' },
  { input: 'What colour is the sky on a clear day?', output: 'blue', expectedOutput: 'Blue' },
];

export function progressLine(p: Progress, width = 30): string {
  const filled = Math.round((p.percentDone / 100) * width);
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
  const counts = p.resultCounts;
  const eta = p.etaSeconds !== null && p.status === 'RUNNING' ? ` eta ${p.etaSeconds}s` : '';
  return `[${bar}] ${p.percentDone.toFixed(0).padStart(3)}% ${counts.completed}/${counts.total} passed ${counts.passed} failed ${counts.failed} errored ${counts.errored} ${p.status}${eta}`;
}

export async function runEvaluation(
  env: NodeJS.ProcessEnv,
  write: (line: string) => void,
): Promise<Progress> {
  const {
    EVALGRAPH_URL: url = 'http://localhost:4000',
    EVALGRAPH_API_KEY: apiKey,
    EVALGRAPH_PROJECT_ID: projectId,
    EVALGRAPH_DATASET_ID: datasetId,
  } = env;
  if (!apiKey || !projectId) throw new Error('Set EVALGRAPH_API_KEY and EVALGRAPH_PROJECT_ID.');
  const client = createEvalgraphClient({ url, apiKey });
  try {
    const { createEvaluation } = await client.request(CreateEvaluationDocument, {
      input: {
        projectId,
        name: `example run ${new Date().toISOString()}`,
        testingCriteria: [
          {
            type: 'string_check',
            name: 'exact answer',
            operation: 'ilike',
            input: '{{sample.output_text}}',
            reference: '{{item.expected_output}}',
          },
        ],
        dataSource: datasetId ? { datasetId } : { items: ITEMS },
      },
    });
    write(`evaluation ${createEvaluation.evaluation.id} ${createEvaluation.evaluation.status}`);
    let last: Progress | undefined;
    await client.subscribe(
      EvaluationProgressDocument,
      { id: createEvaluation.evaluation.id },
      ({ evaluationProgress }) => {
        last = evaluationProgress;
        write(progressLine(evaluationProgress));
      },
    );
    if (!last) throw new Error('the progress stream ended without an event');
    for (const grader of last.perTestingCriteriaResults) {
      write(
        `${grader.name}: pass rate ${grader.passRate === null ? '-' : `${(grader.passRate * 100).toFixed(0)}%`}, mean score ${grader.meanScore?.toFixed(2) ?? '-'}`,
      );
    }
    return last;
  } finally {
    await client.close();
  }
}

if (require.main === module) {
  runEvaluation(process.env, (line) => process.stdout.write(`${line}\n`)).then(
    (final) => process.exit(final.status === 'COMPLETED' ? 0 : 1),
    (error) => {
      console.error(String(error));
      process.exit(1);
    },
  );
}
