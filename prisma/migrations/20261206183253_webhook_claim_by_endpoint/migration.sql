-- CreateIndex
CREATE INDEX "webhook_deliveries_endpoint_id_status_next_attempt_at_idx" ON "webhook_deliveries"("endpoint_id", "status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "webhook_deliveries_channel_id_status_next_attempt_at_idx" ON "webhook_deliveries"("channel_id", "status", "next_attempt_at");
