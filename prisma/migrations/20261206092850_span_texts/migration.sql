-- CreateTable
CREATE TABLE "span_texts" (
    "span_id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "body" TEXT NOT NULL,

    CONSTRAINT "span_texts_pkey" PRIMARY KEY ("span_id")
);

-- CreateTable
CREATE TABLE "span_text_queue" (
    "id" BIGSERIAL NOT NULL,
    "project_id" UUID NOT NULL,
    "span_ids" UUID[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "span_text_queue_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "span_texts_body_idx" ON "span_texts" USING GIN ("body" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "span_text_queue_project_id_idx" ON "span_text_queue"("project_id");

-- AddForeignKey
ALTER TABLE "span_texts" ADD CONSTRAINT "span_texts_span_id_fkey" FOREIGN KEY ("span_id") REFERENCES "spans"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "span_text_queue" ADD CONSTRAINT "span_text_queue_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The spans stored so far, queued for the worker in chunks of 1,000 (until it has copied them, the
-- phrase search reads them from spans).
INSERT INTO "span_text_queue" ("project_id", "span_ids")
SELECT project_id, array_agg(id) FROM (
  SELECT project_id, id, (row_number() OVER (PARTITION BY project_id ORDER BY id) - 1) / 1000 AS chunk
  FROM "spans" WHERE input IS NOT NULL OR output IS NOT NULL) s
GROUP BY project_id, chunk;
