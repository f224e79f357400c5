-- CreateEnum
CREATE TYPE "PriceSource" AS ENUM ('PROVIDED', 'TABLE', 'DEFAULT');

-- AlterTable
ALTER TABLE "spans" ADD COLUMN     "price_source" "PriceSource";

-- Spans priced before this migration: a cost the client sent, else one from the price table
-- (there was no default price yet).
UPDATE "spans" SET "price_source" = (CASE WHEN "cost_provided" THEN 'PROVIDED' ELSE 'TABLE' END)::"PriceSource"
WHERE "total_cost" IS NOT NULL;
