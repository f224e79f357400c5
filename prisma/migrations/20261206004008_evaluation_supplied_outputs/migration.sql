-- CreateEnum
CREATE TYPE "EvaluationOutputs" AS ENUM ('STORED', 'SUPPLIED');

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "EvaluationItemState" ADD VALUE 'AWAITING_OUTPUT';
ALTER TYPE "EvaluationItemState" ADD VALUE 'SKIPPED';

-- AlterTable
ALTER TABLE "evaluation_items" ADD COLUMN     "output_trace_id" TEXT;

-- AlterTable
ALTER TABLE "evaluations" ADD COLUMN     "outputs" "EvaluationOutputs" NOT NULL DEFAULT 'STORED',
ADD COLUMN     "skipped_count" INTEGER NOT NULL DEFAULT 0;
