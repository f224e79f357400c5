-- AlterTable
ALTER TABLE "alert_events" ADD COLUMN     "reason" TEXT;
