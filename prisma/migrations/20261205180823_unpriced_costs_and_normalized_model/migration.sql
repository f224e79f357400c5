-- DropIndex
DROP INDEX "spans_project_id_model_start_time_idx";

-- AlterTable
ALTER TABLE "spans" ADD COLUMN     "normalized_model" TEXT;

-- AlterTable
ALTER TABLE "traces" ADD COLUMN     "unpriced_span_count" INTEGER NOT NULL DEFAULT 0,
ALTER COLUMN "input_cost" DROP NOT NULL,
ALTER COLUMN "input_cost" DROP DEFAULT,
ALTER COLUMN "output_cost" DROP NOT NULL,
ALTER COLUMN "output_cost" DROP DEFAULT,
ALTER COLUMN "total_cost" DROP NOT NULL,
ALTER COLUMN "total_cost" DROP DEFAULT;

-- Backfill: the normalised model of older spans. These steps copy normaliseModelName
-- (src/lib/model-name.ts) as it is at this migration, once per distinct model name;
-- test/model-name-backfill.test.ts checks that they agree on many spellings.
UPDATE "spans" s SET "normalized_model" = n.normalized
FROM (
  SELECT d.model, CASE WHEN x4.v = '' THEN x3.v ELSE x4.v END AS normalized
  FROM (SELECT DISTINCT "model" FROM "spans" WHERE "model" IS NOT NULL) d
  -- lower case, without hosting prefix ("openai/", "models/") or vendor prefix ("us.anthropic.")
  CROSS JOIN LATERAL (SELECT regexp_replace(regexp_replace(lower(btrim(d.model, E' \t\n\r\f\v')), '^.*/', ''),
    '^((us|eu|apac|us-gov|global)\.)?(anthropic|meta|cohere|mistral|amazon|ai21|google|openai)\.', '') AS v) x1
  -- without routing suffixes ("@20241022", "-v2:0", ":free")
  CROSS JOIN LATERAL (SELECT regexp_replace(regexp_replace(regexp_replace(x1.v, '@.*$', ''), '-v\d+:\d+$', ''), ':.*$', '') AS v) x2
  -- claude-3.5-sonnet is claude-3-5-sonnet
  CROSS JOIN LATERAL (SELECT CASE WHEN x2.v LIKE 'claude-%' THEN regexp_replace(x2.v, '(\d)\.(\d)', '\1-\2', 'g') ELSE x2.v END AS v) x3
  -- without version and date suffixes, however many (but never down to nothing)
  CROSS JOIN LATERAL (SELECT regexp_replace(x3.v, '(-v\d+(:\d+)?|-\d{4}-\d{2}-\d{2}|-\d{2}-\d{4}|-\d{8}|-\d{3,4}|-latest|-preview(-\d{2}-\d{2})?|-exp)+$', '') AS v) x4
) n
WHERE s."model" = n.model;

-- Backfill: spans that sent only totalTokens were priced as 0 input and 0 output tokens, so at 0
-- USD. Their cost could not be computed: null, as ingest now stores it.
UPDATE "spans" SET "input_cost" = NULL, "output_cost" = NULL, "cached_input_cost" = NULL, "total_cost" = NULL
WHERE NOT "cost_provided" AND "total_cost" = 0 AND "input_tokens" = 0 AND "output_tokens" = 0 AND "total_tokens" > 0;

-- Backfill: trace totals count their unpriced spans (src/modules/costs/unpriced.ts as it is at
-- this migration); a cost is null where no span was priced. The sums of the other traces stand:
-- the costs set to null above were 0.
UPDATE "traces" t SET
  "unpriced_span_count" = a.unpriced,
  "input_cost" = CASE WHEN a.input_priced = 0 THEN NULL ELSE t."input_cost" END,
  "output_cost" = CASE WHEN a.output_priced = 0 THEN NULL ELSE t."output_cost" END,
  "total_cost" = CASE WHEN a.total_priced = 0 THEN NULL ELSE t."total_cost" END
FROM (
  SELECT s."trace_id",
    count(*) FILTER (WHERE s."total_cost" IS NULL AND (s."model" IS NOT NULL
      OR (s."kind" IN ('LLM', 'EMBEDDING') AND (s."input_tokens" > 0 OR s."output_tokens" > 0 OR s."total_tokens" > 0))))::int AS unpriced,
    count(s."input_cost")::int AS input_priced,
    count(s."output_cost")::int AS output_priced,
    count(s."total_cost")::int AS total_priced
  FROM "spans" s
  GROUP BY s."trace_id"
) a
WHERE t."id" = a."trace_id" AND a.unpriced > 0;

-- CreateIndex
CREATE INDEX "spans_project_id_normalized_model_start_time_idx" ON "spans"("project_id", "normalized_model", "start_time");
