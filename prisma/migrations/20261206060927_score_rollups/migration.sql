-- CreateTable
CREATE TABLE "score_rollups" (
    "id" BIGSERIAL NOT NULL,
    "project_id" UUID NOT NULL,
    "grain" "RollupGrain" NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "name" TEXT NOT NULL,
    "source" "ScoreSource" NOT NULL,
    "data_type" "ScoreDataType" NOT NULL,
    "string_value" TEXT,
    "scores" BIGINT NOT NULL,
    "with_value" BIGINT NOT NULL,
    "value_sum" DECIMAL NOT NULL,
    "value_keys" INTEGER[],
    "value_counts" BIGINT[],
    "compacted" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "score_rollups_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "score_rollups_project_id_grain_bucket_idx" ON "score_rollups"("project_id", "grain", "bucket");

-- CreateIndex
CREATE INDEX "score_rollups_compacted_grain_bucket_idx" ON "score_rollups"("compacted", "grain", "bucket");

-- AddForeignKey
ALTER TABLE "score_rollups" ADD CONSTRAINT "score_rollups_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The rollups of the scores stored so far, as score writers would have written them (generated from
-- src/modules/analytics/score-rollup-sql.ts addScoreContributionSql at this migration; the compactor merges them).
INSERT INTO score_rollups (project_id, grain, bucket, name, source, data_type, string_value, scores, with_value, value_sum, value_keys, value_counts)
    SELECT project_id, grain, bucket, name, source, data_type, string_value, sum(scores)::bigint AS scores, sum(with_value)::bigint AS with_value, sum(value_sum) AS value_sum,
      COALESCE(array_agg(k ORDER BY k) FILTER (WHERE k IS NOT NULL AND lat_n <> 0), '{}') AS value_keys,
      COALESCE(array_agg(lat_n::bigint ORDER BY k) FILTER (WHERE k IS NOT NULL AND lat_n <> 0), '{}') AS value_counts
    FROM (SELECT project_id, grain, bucket, name, source, data_type, string_value, k, sum(lat_n) AS lat_n, sum(scores) AS scores, sum(with_value) AS with_value, sum(value_sum) AS value_sum
          FROM (SELECT s.project_id AS project_id, g.grain AS grain, date_trunc(g.unit, s.scored_at, 'UTC') AS bucket, s.name AS name, s.source AS source, s.data_type AS data_type, s.string_value AS string_value, (CASE WHEN s.value IS NULL THEN NULL WHEN abs(s.value) <= 1e-9 THEN 0
    ELSE sign(s.value)::int * (ceil(ln(abs(s.value)::float8) / 0.018000486023620893)::int + 1152) END) AS k,
      count(s.value) AS lat_n, count(*) AS scores, count(s.value) AS with_value,
      COALESCE(sum(s.value::numeric), 0) AS value_sum
    FROM scores s CROSS JOIN (VALUES ('HOUR'::"RollupGrain", 'hour'), ('DAY'::"RollupGrain", 'day')) AS g(grain, unit) WHERE true GROUP BY 1, 2, 3, 4, 5, 6, 7, 8) parts GROUP BY project_id, grain, bucket, name, source, data_type, string_value, k) per_key
    GROUP BY project_id, grain, bucket, name, source, data_type, string_value;
