-- AlterTable
ALTER TABLE "alert_events" ADD COLUMN     "notified" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "samples" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "alert_rules" ADD COLUMN     "last_warned_at" TIMESTAMPTZ(3),
ADD COLUMN     "state_notified" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE INDEX "evaluation_results_evaluation_id_created_at_idx" ON "evaluation_results"("evaluation_id", "created_at");
