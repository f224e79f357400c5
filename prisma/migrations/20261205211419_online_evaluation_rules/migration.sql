-- Online evaluation rules (src/modules/online-evaluations/): the rules, and one task row per
-- sampled trace or span of a rule, which ingest writes and workers claim. Scores written by a rule
-- keep its id until the rule is deleted.

-- CreateEnum
CREATE TYPE "EvaluationRuleTarget" AS ENUM ('TRACE', 'SPAN');

-- CreateEnum
CREATE TYPE "OnlineEvaluationTaskState" AS ENUM ('PENDING', 'RUNNING', 'DONE', 'ERRORED', 'SKIPPED', 'CANCELED');

-- CreateTable
CREATE TABLE "evaluation_rules" (
    "id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "creator_id" UUID,
    "name" TEXT NOT NULL,
    "target" "EvaluationRuleTarget" NOT NULL,
    "filter" JSONB NOT NULL DEFAULT '{}',
    "sampling_rate" DOUBLE PRECISION NOT NULL,
    "delay_seconds" INTEGER NOT NULL DEFAULT 30,
    "testing_criteria" JSONB NOT NULL,
    "variables" JSONB NOT NULL DEFAULT '{}',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "paused_reason" TEXT,
    "paused_at" TIMESTAMPTZ(3),
    "matched_count" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "evaluation_rules_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "online_evaluation_tasks" (
    "id" UUID NOT NULL,
    "rule_id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "trace_id" UUID NOT NULL,
    "span_external_id" TEXT NOT NULL DEFAULT '',
    "state" "OnlineEvaluationTaskState" NOT NULL DEFAULT 'PENDING',
    "delay_seconds" INTEGER NOT NULL,
    "due_at" TIMESTAMPTZ(3) NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "backfill" BOOLEAN NOT NULL DEFAULT false,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lease_token" UUID,
    "lease_expires_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "judge_input_tokens" INTEGER NOT NULL DEFAULT 0,
    "judge_output_tokens" INTEGER NOT NULL DEFAULT 0,
    "judge_cost" DECIMAL(20,10) NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "done_at" TIMESTAMPTZ(3),

    CONSTRAINT "online_evaluation_tasks_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "evaluation_rules_project_id_idx" ON "evaluation_rules"("project_id");

-- CreateIndex
CREATE INDEX "online_evaluation_tasks_state_due_at_idx" ON "online_evaluation_tasks"("state", "due_at");

-- CreateIndex
CREATE INDEX "online_evaluation_tasks_trace_id_idx" ON "online_evaluation_tasks"("trace_id");

-- CreateIndex
CREATE INDEX "online_evaluation_tasks_rule_id_state_idx" ON "online_evaluation_tasks"("rule_id", "state");

-- CreateIndex
CREATE UNIQUE INDEX "online_evaluation_tasks_rule_id_trace_id_span_external_id_key" ON "online_evaluation_tasks"("rule_id", "trace_id", "span_external_id");

-- AddForeignKey
ALTER TABLE "scores" ADD CONSTRAINT "scores_evaluation_rule_id_fkey" FOREIGN KEY ("evaluation_rule_id") REFERENCES "evaluation_rules"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "evaluation_rules" ADD CONSTRAINT "evaluation_rules_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "evaluation_rules" ADD CONSTRAINT "evaluation_rules_creator_id_fkey" FOREIGN KEY ("creator_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "online_evaluation_tasks" ADD CONSTRAINT "online_evaluation_tasks_rule_id_fkey" FOREIGN KEY ("rule_id") REFERENCES "evaluation_rules"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "online_evaluation_tasks" ADD CONSTRAINT "online_evaluation_tasks_trace_id_fkey" FOREIGN KEY ("trace_id") REFERENCES "traces"("id") ON DELETE CASCADE ON UPDATE CASCADE;
