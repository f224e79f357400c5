// Helpers for evaluation tests: create one over inline items (or a dataset) and wait for it to finish.
import { globalId, type TestApp } from './app';

export const CREATE = `mutation($input: CreateEvaluationInput!) { createEvaluation(input: $input) { evaluation { id status } } }`;

export const STATE = `query($id: ID!) { evaluation(id: $id) {
  status error errorCode percentDone judgeInputTokens judgeOutputTokens judgeCost testingCriteria
  resultCounts { total completed passed failed errored }
  perTestingCriteriaResults { name type meanScore passRate passed failed errored }
  results(first: 100) { totalCount edges { node { graderName graderType score passed reasoning error inputTokens outputTokens cost item { position } } } }
} }`;

export interface ItemJson {
  input: unknown;
  expectedOutput?: unknown;
  output?: unknown;
  contexts?: string[];
}

export async function createEvaluation(
  app: TestApp,
  testingCriteria: unknown[],
  /** Inline items, or a dataset (its global id) to run on. */
  items: ItemJson[] | { datasetId: string },
  options: { key?: string; projectId?: string; name?: string } = {},
) {
  const res = await app.gql(
    CREATE,
    {
      input: {
        projectId: globalId('Project', options.projectId ?? app.projectId),
        name: options.name ?? 'test eval',
        testingCriteria,
        dataSource: Array.isArray(items) ? { items } : items,
      },
    },
    { key: options.key },
  );
  if (res.body.errors) throw new Error(`createEvaluation: ${JSON.stringify(res.body.errors)}`);
  return res.body.data.createEvaluation.evaluation.id as string;
}

const FINAL = ['COMPLETED', 'FAILED', 'CANCELED'];

/** Polls until the evaluation is in one of `statuses` (default: any final one). */
export async function waitFor(
  app: TestApp,
  id: string,
  statuses: string[] = FINAL,
  timeoutMs = 20_000,
) {
  const started = Date.now();
  for (;;) {
    const res = await app.gql(STATE, { id });
    if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
    const evaluation = res.body.data.evaluation;
    if (statuses.includes(evaluation.status)) return evaluation;
    if (Date.now() - started > timeoutMs)
      throw new Error(
        `evaluation still ${evaluation.status} after ${timeoutMs} ms: ${JSON.stringify(evaluation.resultCounts)}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Results by grader name, in item order. */
export function byGrader(evaluation: {
  results: { edges: { node: { graderName: string; item: { position: number } } }[] };
}) {
  const out: Record<string, any[]> = {};
  const nodes = evaluation.results.edges
    .map((e) => e.node)
    .sort((a, b) => a.item.position - b.item.position);
  for (const n of nodes) (out[n.graderName] ??= []).push(n);
  return out;
}
