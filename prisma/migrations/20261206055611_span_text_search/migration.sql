-- pg_trgm, for the phrase search of span input and output. pg_trgm is a trusted extension
-- (Postgres 13+): the database owner may create it. PGlite loads it as a module
-- (src/storage/pglite.ts). The trigram indexes themselves are not built on spans: measured, they
-- cost ingest 0.4-0.65 ms per span of 1.4 KB of text (10-40x the span's own insert); see
-- docs/SCALING.md.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
