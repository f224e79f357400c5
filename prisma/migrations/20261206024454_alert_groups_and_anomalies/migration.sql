-- CreateEnum
CREATE TYPE "AlertGroupBy" AS ENUM ('USER', 'MODEL', 'SPAN_KIND');

-- AlterEnum
ALTER TYPE "AlertOperator" ADD VALUE 'ANOMALY';

-- AlterTable
ALTER TABLE "alert_events" ADD COLUMN     "baseline" JSONB,
ADD COLUMN     "group_by" "AlertGroupBy",
ADD COLUMN     "group_value" TEXT,
ALTER COLUMN "threshold" DROP NOT NULL;

-- AlterTable
ALTER TABLE "alert_rules" ADD COLUMN     "anomaly_k" DOUBLE PRECISION NOT NULL DEFAULT 3,
ADD COLUMN     "anomaly_periods" INTEGER NOT NULL DEFAULT 7,
ADD COLUMN     "group_by" "AlertGroupBy",
ADD COLUMN     "truncated_groups" INTEGER,
ALTER COLUMN "threshold" DROP NOT NULL;

-- CreateTable
CREATE TABLE "alert_rule_groups" (
    "id" UUID NOT NULL,
    "rule_id" UUID NOT NULL,
    "value" TEXT NOT NULL,
    "state" "AlertState" NOT NULL DEFAULT 'OK',
    "last_value" DOUBLE PRECISION,
    "last_evaluated_at" TIMESTAMPTZ(3),
    "last_fired_at" TIMESTAMPTZ(3),
    "last_warned_at" TIMESTAMPTZ(3),
    "state_notified" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "alert_rule_groups_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "alert_rule_groups_rule_id_value_key" ON "alert_rule_groups"("rule_id", "value");

-- AddForeignKey
ALTER TABLE "alert_rule_groups" ADD CONSTRAINT "alert_rule_groups_rule_id_fkey" FOREIGN KEY ("rule_id") REFERENCES "alert_rules"("id") ON DELETE CASCADE ON UPDATE CASCADE;
