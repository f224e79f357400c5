// Prints the statements compareEvaluations runs for its summary, as JSON (bench/compare.js sends
// the same text by hand through pg, so the baseline cannot drift from our SQL).
import {
  COMPARED_EVALUATIONS_SQL,
  COMPARISON_SUMMARY_SQL,
  ITEM_LATENCY_SQL,
} from '../../src/modules/evaluations/compare-sql';

process.stdout.write(
  JSON.stringify({
    evaluations: COMPARED_EVALUATIONS_SQL,
    summary: COMPARISON_SUMMARY_SQL,
    latency: ITEM_LATENCY_SQL,
  }),
);
