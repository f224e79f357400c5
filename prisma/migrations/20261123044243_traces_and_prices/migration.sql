-- DropIndex
DROP INDEX "model_prices_project_id_model_name_start_date_idx";

-- AlterTable
ALTER TABLE "spans" ADD COLUMN     "text_truncated" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE UNIQUE INDEX "model_prices_project_id_model_name_start_date_key" ON "model_prices"("project_id", "model_name", "start_date");
