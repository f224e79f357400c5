-- Evaluation webhooks speak the API's dialect. Once an evaluation has ended (evaluation.completed,
-- .failed, .canceled), its payload carries `perTestingCriteriaResults` as `Evaluation` shows it;
-- `percentDone` is computed as the API computes it (no rounding). No schema change.

-- Every grader of the testing criteria, in the order given, graded or not: the SQL twin of
-- `graderSummaries` in src/modules/evaluations/summaries.ts (same rows, same fallbacks), so the
-- webhook and `Evaluation.perTestingCriteriaResults` agree to the last digit. A mean or pass rate
-- with nothing to compute it from is null. To go once webhook payloads are built in TypeScript.
CREATE FUNCTION evalgraph_grader_results(e evaluations) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object(
      'name', c.g->>'name',
      'type', coalesce(r.grader_type, upper(c.g->>'type')),
      'meanScore', r.mean,
      'passed', coalesce(r.passed, 0),
      'failed', coalesce(r.failed, 0),
      'errored', coalesce(r.errored, 0),
      'passRate', CASE WHEN r.passed + r.failed > 0 THEN r.passed::float8 / (r.passed + r.failed) END) ORDER BY c.n), '[]'::jsonb)
    -- Not an array (never, once validated): no graders, rather than an error that would undo the
    -- evaluation's own update.
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(e.testing_criteria) = 'array' THEN e.testing_criteria ELSE '[]'::jsonb END) WITH ORDINALITY AS c(g, n)
    LEFT JOIN (
      SELECT grader_name, grader_type, avg(score) AS mean, count(*) FILTER (WHERE passed AND error IS NULL)::int AS passed,
             count(*) FILTER (WHERE NOT passed AND error IS NULL)::int AS failed, count(*) FILTER (WHERE error IS NOT NULL)::int AS errored
        FROM evaluation_results WHERE evaluation_id = e.id GROUP BY grader_name, grader_type
    ) r ON r.grader_name = c.g->>'name'
$$;

-- The evaluation as webhook payloads show it (no judge spending: that needs the costs role). The
-- per-grader summary only once it has ended: progress messages are written in the transaction of
-- each group of results, holding the evaluation's row, and should not aggregate all its results.
CREATE OR REPLACE FUNCTION evalgraph_evaluation_json(e evaluations) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', evalgraph_gid('Evaluation', e.id),
    'projectId', evalgraph_gid('Project', e.project_id),
    'batchId', CASE WHEN e.batch_id IS NULL THEN NULL ELSE evalgraph_gid('EvaluationBatch', e.batch_id) END,
    'name', e.name,
    'status', e.status,
    'resultCounts', jsonb_build_object('total', e.total_count, 'completed', e.completed_count, 'passed', e.passed_count, 'failed', e.failed_count, 'errored', e.errored_count),
    -- float8, in the API's order of operations: the same double as `Evaluation.percentDone`.
    'percentDone', CASE WHEN e.total_count = 0 THEN 100 ELSE 100 * e.completed_count::float8 / e.total_count END,
    'error', e.error,
    'errorCode', e.error_code,
    'createdAt', evalgraph_ts(e.created_at),
    'startedAt', evalgraph_ts(e.started_at),
    'finishedAt', evalgraph_ts(e.finished_at))
  || CASE WHEN e.status IN ('COMPLETED', 'FAILED', 'CANCELED') THEN jsonb_build_object('perTestingCriteriaResults', evalgraph_grader_results(e)) ELSE '{}'::jsonb END
$$;
