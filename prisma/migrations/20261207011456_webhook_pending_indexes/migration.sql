-- DropIndex
DROP INDEX "webhook_deliveries_channel_id_status_next_attempt_at_idx";

-- DropIndex
DROP INDEX "webhook_deliveries_endpoint_id_status_next_attempt_at_idx";

-- DropIndex
DROP INDEX "webhook_deliveries_status_next_attempt_at_idx";

-- CreateIndex
CREATE INDEX "webhook_deliveries_pending_idx" ON "webhook_deliveries"("next_attempt_at") WHERE (status = 'PENDING');

-- CreateIndex
CREATE INDEX "webhook_deliveries_endpoint_pending_idx" ON "webhook_deliveries"("endpoint_id", "next_attempt_at") WHERE (status = 'PENDING');

-- CreateIndex
CREATE INDEX "webhook_deliveries_channel_pending_idx" ON "webhook_deliveries"("channel_id", "next_attempt_at") WHERE (status = 'PENDING');
