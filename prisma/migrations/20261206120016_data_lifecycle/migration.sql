-- CreateEnum
CREATE TYPE "DataJobKind" AS ENUM ('TRACES', 'END_USER', 'PROJECT');

-- CreateEnum
CREATE TYPE "DataJobStatus" AS ENUM ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED');

-- AlterTable
ALTER TABLE "projects" ADD COLUMN     "deleted_at" TIMESTAMPTZ(3),
ADD COLUMN     "evaluation_retention_days" INTEGER,
ADD COLUMN     "keep_aggregates" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "trace_retention_days" INTEGER;

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "deleted_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "data_jobs" (
    "id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "kind" "DataJobKind" NOT NULL,
    "status" "DataJobStatus" NOT NULL DEFAULT 'PENDING',
    "target" JSONB NOT NULL DEFAULT '{}',
    "traces_matched" INTEGER NOT NULL DEFAULT 0,
    "traces_deleted" INTEGER NOT NULL DEFAULT 0,
    "spans_deleted" INTEGER NOT NULL DEFAULT 0,
    "scores_deleted" INTEGER NOT NULL DEFAULT 0,
    "other_deleted" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "lease_token" UUID,
    "lease_expires_at" TIMESTAMPTZ(3),
    "requested_by" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "data_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "data_jobs_project_id_id_idx" ON "data_jobs"("project_id", "id");

-- CreateIndex
CREATE INDEX "data_jobs_status_lease_expires_at_idx" ON "data_jobs"("status", "lease_expires_at");
