-- AlterTable
ALTER TABLE "webhook_messages" ADD COLUMN     "subject_id" UUID;

-- CreateIndex
CREATE INDEX "webhook_messages_subject_id_idx" ON "webhook_messages"("subject_id");

-- Backfill: every event's payload names its subject as data.id, a global id (base64 of
-- "Type:uuid"); webhook.test, whose data has no id, stays without one (nothing deletes it by subject).
UPDATE "webhook_messages"
   SET "subject_id" = split_part(convert_from(decode("payload"::jsonb #>> '{data,id}', 'base64'), 'UTF8'), ':', 2)::uuid
 WHERE "payload"::jsonb #>> '{data,id}' IS NOT NULL;
