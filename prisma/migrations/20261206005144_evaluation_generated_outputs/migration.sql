-- AlterEnum
ALTER TYPE "EvaluationOutputs" ADD VALUE 'GENERATED';

-- AlterTable
ALTER TABLE "evaluation_items" ADD COLUMN     "generation_cost" DECIMAL(20,10),
ADD COLUMN     "generation_input_tokens" INTEGER,
ADD COLUMN     "generation_latency_ms" INTEGER,
ADD COLUMN     "generation_output_tokens" INTEGER;

-- AlterTable
ALTER TABLE "evaluations" ADD COLUMN     "generation_cost" DECIMAL(20,10) NOT NULL DEFAULT 0,
ADD COLUMN     "generation_input_tokens" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "generation_output_tokens" BIGINT NOT NULL DEFAULT 0;
