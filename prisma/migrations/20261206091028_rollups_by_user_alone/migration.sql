-- AlterTable
ALTER TABLE "span_rollups" ALTER COLUMN "kind" DROP NOT NULL,
ALTER COLUMN "status" DROP NOT NULL;

-- Rows by end user now carry the user alone, at hour and day (src/modules/analytics/rollup-sql.ts):
-- the old ones (by user, model, provider, kind and status, at day only) are replaced by those of the
-- spans stored so far, as ingest would now write them (generated from addContributionSql at this
-- migration, restricted to the rows by user; the compactor merges them).
DELETE FROM span_rollups WHERE by_user;

INSERT INTO span_rollups (project_id, by_user, grain, bucket, is_call, model, provider, kind, status, user_id, spans, errors, input_tokens, output_tokens, cached_input_tokens, total_tokens, cost, priced, unpriced, default_priced, latency_keys, latency_counts)
    SELECT project_id, by_user, grain, bucket, is_call, model, provider, kind, status, user_id, sum(spans)::bigint AS spans, sum(errors)::bigint AS errors, sum(input_tokens)::bigint AS input_tokens, sum(output_tokens)::bigint AS output_tokens, sum(cached_input_tokens)::bigint AS cached_input_tokens, sum(total_tokens)::bigint AS total_tokens, sum(cost) AS cost, sum(priced)::bigint AS priced, sum(unpriced)::bigint AS unpriced, sum(default_priced)::bigint AS default_priced,
      COALESCE(array_agg(k) FILTER (WHERE k IS NOT NULL AND lat_n <> 0), '{}') AS latency_keys,
      COALESCE(array_agg(lat_n::bigint) FILTER (WHERE k IS NOT NULL AND lat_n <> 0), '{}') AS latency_counts
    FROM (SELECT s.project_id AS project_id, g.by_user AS by_user, g.grain AS grain, date_trunc(g.unit, s.start_time, 'UTC') AS bucket, (s.total_cost IS NOT NULL OR (s.model IS NOT NULL OR (s.kind IN ('LLM', 'EMBEDDING') AND (s.input_tokens > 0 OR s.output_tokens > 0 OR s.total_tokens > 0)))) AS is_call, CASE WHEN NOT g.by_user THEN s.normalized_model END AS model, CASE WHEN NOT g.by_user THEN s.provider END AS provider, CASE WHEN NOT g.by_user THEN s.kind END AS kind, CASE WHEN NOT g.by_user THEN s.status END AS status, CASE WHEN g.by_user THEN s.user_id END AS user_id, (CASE WHEN s.latency_ms IS NULL THEN NULL WHEN s.latency_ms <= 0 THEN 0 ELSE ceil(ln(s.latency_ms::float8) / 0.018000486023620893)::int + 1 END) AS k, count(s.latency_ms) AS lat_n,
      count(*) AS spans, count(*) FILTER (WHERE s.status = 'ERROR') AS errors, sum(s.input_tokens) AS input_tokens, sum(s.output_tokens) AS output_tokens, sum(s.cached_input_tokens) AS cached_input_tokens, sum(s.total_tokens) AS total_tokens, COALESCE(sum(s.total_cost), 0) AS cost, count(s.total_cost) AS priced, count(*) FILTER (WHERE (s.total_cost IS NULL AND (s.model IS NOT NULL OR (s.kind IN ('LLM', 'EMBEDDING') AND (s.input_tokens > 0 OR s.output_tokens > 0 OR s.total_tokens > 0))))) AS unpriced, count(*) FILTER (WHERE s.price_source = 'DEFAULT') AS default_priced
    FROM spans s CROSS JOIN (VALUES (true, 'HOUR'::"RollupGrain", 'hour'), (true, 'DAY'::"RollupGrain", 'day')) AS g(by_user, grain, unit) WHERE true GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11) parts
    GROUP BY project_id, by_user, grain, bucket, is_call, model, provider, kind, status, user_id;
