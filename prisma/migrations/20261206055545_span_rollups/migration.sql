-- CreateEnum
CREATE TYPE "RollupGrain" AS ENUM ('HOUR', 'DAY');

-- CreateTable
CREATE TABLE "span_rollups" (
    "id" BIGSERIAL NOT NULL,
    "project_id" UUID NOT NULL,
    "by_user" BOOLEAN NOT NULL,
    "grain" "RollupGrain" NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "is_call" BOOLEAN NOT NULL,
    "model" TEXT,
    "provider" TEXT,
    "kind" "SpanKind" NOT NULL,
    "status" "SpanStatus" NOT NULL,
    "user_id" TEXT,
    "spans" BIGINT NOT NULL,
    "errors" BIGINT NOT NULL,
    "input_tokens" BIGINT NOT NULL,
    "output_tokens" BIGINT NOT NULL,
    "cached_input_tokens" BIGINT NOT NULL,
    "total_tokens" BIGINT NOT NULL,
    "cost" DECIMAL(30,10) NOT NULL,
    "priced" BIGINT NOT NULL,
    "unpriced" BIGINT NOT NULL,
    "default_priced" BIGINT NOT NULL,
    "latency_keys" INTEGER[],
    "latency_counts" BIGINT[],
    "compacted" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "span_rollups_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "span_rollups_project_id_by_user_grain_bucket_idx" ON "span_rollups"("project_id", "by_user", "grain", "bucket");

-- CreateIndex
CREATE INDEX "span_rollups_compacted_grain_bucket_idx" ON "span_rollups"("compacted", "grain", "bucket");

-- AddForeignKey
ALTER TABLE "span_rollups" ADD CONSTRAINT "span_rollups_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The rollups of the spans stored so far, as ingest would have written them (generated from
-- src/modules/analytics/rollup-sql.ts addContributionSql at this migration; the compactor merges them).
INSERT INTO span_rollups (project_id, by_user, grain, bucket, is_call, model, provider, kind, status, user_id, spans, errors, input_tokens, output_tokens, cached_input_tokens, total_tokens, cost, priced, unpriced, default_priced, latency_keys, latency_counts)
    SELECT project_id, by_user, grain, bucket, is_call, model, provider, kind, status, user_id, sum(spans)::bigint AS spans, sum(errors)::bigint AS errors, sum(input_tokens)::bigint AS input_tokens, sum(output_tokens)::bigint AS output_tokens, sum(cached_input_tokens)::bigint AS cached_input_tokens, sum(total_tokens)::bigint AS total_tokens, sum(cost) AS cost, sum(priced)::bigint AS priced, sum(unpriced)::bigint AS unpriced, sum(default_priced)::bigint AS default_priced,
      COALESCE(array_agg(k) FILTER (WHERE k IS NOT NULL AND lat_n <> 0), '{}') AS latency_keys,
      COALESCE(array_agg(lat_n::bigint) FILTER (WHERE k IS NOT NULL AND lat_n <> 0), '{}') AS latency_counts
    FROM (SELECT s.project_id AS project_id, g.by_user AS by_user, g.grain AS grain, date_trunc(g.unit, s.start_time, 'UTC') AS bucket, (s.total_cost IS NOT NULL OR (s.model IS NOT NULL OR (s.kind IN ('LLM', 'EMBEDDING') AND (s.input_tokens > 0 OR s.output_tokens > 0 OR s.total_tokens > 0)))) AS is_call, s.normalized_model AS model, s.provider AS provider, s.kind AS kind, s.status AS status, CASE WHEN g.by_user THEN s.user_id END AS user_id, (CASE WHEN s.latency_ms IS NULL THEN NULL WHEN s.latency_ms <= 0 THEN 0 ELSE ceil(ln(s.latency_ms::float8) / 0.018000486023620893)::int + 1 END) AS k, count(s.latency_ms) AS lat_n,
      count(*) AS spans, count(*) FILTER (WHERE s.status = 'ERROR') AS errors, sum(s.input_tokens) AS input_tokens, sum(s.output_tokens) AS output_tokens, sum(s.cached_input_tokens) AS cached_input_tokens, sum(s.total_tokens) AS total_tokens, COALESCE(sum(s.total_cost), 0) AS cost, count(s.total_cost) AS priced, count(*) FILTER (WHERE (s.total_cost IS NULL AND (s.model IS NOT NULL OR (s.kind IN ('LLM', 'EMBEDDING') AND (s.input_tokens > 0 OR s.output_tokens > 0 OR s.total_tokens > 0))))) AS unpriced, count(*) FILTER (WHERE s.price_source = 'DEFAULT') AS default_priced
    FROM spans s CROSS JOIN (VALUES (false, 'HOUR'::"RollupGrain", 'hour'), (false, 'DAY'::"RollupGrain", 'day'),
    (true, 'DAY'::"RollupGrain", 'day')) AS g(by_user, grain, unit) WHERE true GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11) parts
    GROUP BY project_id, by_user, grain, bucket, is_call, model, provider, kind, status, user_id;
