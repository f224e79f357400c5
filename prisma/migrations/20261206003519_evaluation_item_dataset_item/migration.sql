-- AlterTable
ALTER TABLE "evaluation_items" ADD COLUMN     "dataset_item_id" UUID;

-- CreateIndex
CREATE INDEX "evaluation_items_evaluation_id_dataset_item_id_idx" ON "evaluation_items"("evaluation_id", "dataset_item_id");
