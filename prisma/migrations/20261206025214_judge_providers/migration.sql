-- AlterTable
ALTER TABLE "evaluation_results" ADD COLUMN     "provider" TEXT;

-- AlterTable
ALTER TABLE "online_evaluation_tasks" ADD COLUMN     "judged_by" JSONB;
