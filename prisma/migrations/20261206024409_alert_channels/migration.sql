-- CreateEnum
CREATE TYPE "AlertSeverity" AS ENUM ('CRITICAL', 'ERROR', 'WARNING', 'INFO');

-- CreateEnum
CREATE TYPE "AlertChannelType" AS ENUM ('SLACK', 'PAGERDUTY', 'EMAIL');

-- AlterTable
ALTER TABLE "alert_rules" ADD COLUMN     "channel_ids" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "severity" "AlertSeverity" NOT NULL DEFAULT 'ERROR';

-- AlterTable
ALTER TABLE "webhook_deliveries" ADD COLUMN     "channel_id" UUID,
ALTER COLUMN "endpoint_id" DROP NOT NULL;

-- CreateTable
CREATE TABLE "alert_channels" (
    "id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "type" "AlertChannelType" NOT NULL,
    "name" TEXT NOT NULL,
    "url" TEXT,
    "routing_key" TEXT,
    "addresses" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alert_channels_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "alert_channels_project_id_idx" ON "alert_channels"("project_id");

-- CreateIndex
CREATE INDEX "webhook_deliveries_channel_id_created_at_idx" ON "webhook_deliveries"("channel_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "webhook_deliveries_message_id_channel_id_key" ON "webhook_deliveries"("message_id", "channel_id");

-- AddForeignKey
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_channel_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "alert_channels"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "alert_channels" ADD CONSTRAINT "alert_channels_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A delivery goes to one webhook endpoint or to one alert channel: the one statement that writes
-- deliveries (events/outbox-sql.ts) sets exactly one. Not a CHECK constraint: Prisma's schema engine
-- (7.10, WebAssembly, through the pg driver) panics describing one on Postgres, and with it
-- `migrate --check`.
