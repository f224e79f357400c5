-- AlterTable
ALTER TABLE "evaluation_results" ADD COLUMN     "calls" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "unpriced_calls" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "evaluations" ADD COLUMN     "generation_calls" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "generation_unpriced_calls" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "judge_calls" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "judge_unpriced_calls" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "online_evaluation_tasks" ADD COLUMN     "judge_calls" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "judge_unpriced_calls" INTEGER NOT NULL DEFAULT 0;
