-- Trigram indexes for the phrase search of span input and output (`ILIKE '%phrase%'`).
-- pg_trgm is a trusted extension (Postgres 13+): the database owner may create it. PGlite loads
-- it as a module (src/storage/pglite.ts). On a large spans table these builds hold writes to it
-- until they finish.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- CreateIndex
CREATE INDEX "spans_input_trgm_idx" ON "spans" USING GIN ("input" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "spans_output_trgm_idx" ON "spans" USING GIN ("output" gin_trgm_ops);
