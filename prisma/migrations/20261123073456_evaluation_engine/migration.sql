-- AlterTable
ALTER TABLE "evaluation_items" ADD COLUMN     "lease_token" UUID;

-- AlterTable
ALTER TABLE "evaluations" ADD COLUMN     "error_code" TEXT;
