'use strict';
// Online evaluation rules for the benchmarks: filters that match the spans bench/ingest.js sends
// (an AGENT root and nine LLM calls per trace), so that every rule does its matching work.

// Ten filters, from broad to narrow; rule i takes filter i % 10.
const FILTERS = [
  { target: 'TRACE', filter: {} },
  { target: 'SPAN', filter: { spanKind: 'LLM' } },
  { target: 'TRACE', filter: { tags: ['bench'] } },
  { target: 'SPAN', filter: { model: 'gpt-4o' } },
  { target: 'TRACE', filter: { metadata: [{ key: 'env', value: 'bench' }] } },
  { target: 'SPAN', filter: { name: 'anthropic.messages', status: 'OK' } },
  { target: 'TRACE', filter: { spanKind: 'AGENT', name: 'support-agent.run' } },
  { target: 'SPAN', filter: { spanKind: 'LLM', metadata: [{ key: 'step', value: '3' }] } },
  { target: 'TRACE', filter: { model: 'claude-3-5-sonnet', tags: ['bench'] } },
  { target: 'SPAN', filter: { userId: 'user-42' } },
];

/** A grader that needs no judge (ingest benchmarks measure matching, not judging). */
const CHECK = {
  type: 'string_check',
  name: 'non_empty',
  input: '{{sample.output_text}}',
  reference: 'a',
  operation: 'ilike',
};

/** The input of rule i (0-based). */
function ruleInput(projectGid, i, { rate, delaySeconds, testingCriteria = [CHECK] }) {
  const { target, filter } = FILTERS[i % FILTERS.length];
  return {
    projectId: projectGid,
    name: `bench rule ${i + 1}`,
    target,
    filter,
    samplingRate: rate,
    delaySeconds,
    testingCriteria,
  };
}

const CREATE_RULE =
  'mutation($input: CreateEvaluationRuleInput!) { createEvaluationRule(input: $input) { evaluationRule { id } } }';

module.exports = { FILTERS, CHECK, ruleInput, CREATE_RULE };
