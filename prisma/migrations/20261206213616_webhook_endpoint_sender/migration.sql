-- AlterTable
ALTER TABLE "webhook_endpoints" ADD COLUMN     "lease_expires_at" TIMESTAMPTZ(3),
ADD COLUMN     "lease_token" UUID;
