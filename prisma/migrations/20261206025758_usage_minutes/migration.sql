-- CreateTable
CREATE TABLE "usage_minutes" (
    "subject_type" "UsageSubject" NOT NULL,
    "subject_id" UUID NOT NULL,
    "minute" TIMESTAMPTZ(3) NOT NULL,
    "evaluations" INTEGER NOT NULL DEFAULT 0,
    "judge_tokens" BIGINT NOT NULL DEFAULT 0,
    "judge_cost" DECIMAL(20,10) NOT NULL DEFAULT 0,

    CONSTRAINT "usage_minutes_pkey" PRIMARY KEY ("subject_type","subject_id")
);
