-- AlterTable
ALTER TABLE "api_keys" ADD COLUMN     "allowed_cidrs" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "previous_expires_at" TIMESTAMPTZ(3),
ADD COLUMN     "previous_hash" TEXT;

-- AlterTable
ALTER TABLE "service_minutes" ADD COLUMN     "slow_queries_p99" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "unavailable" INTEGER NOT NULL DEFAULT 0;

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_previous_hash_key" ON "api_keys"("previous_hash");
