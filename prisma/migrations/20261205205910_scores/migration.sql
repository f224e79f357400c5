-- CreateEnum
CREATE TYPE "ScoreDataType" AS ENUM ('NUMERIC', 'CATEGORICAL', 'BOOLEAN');

-- CreateEnum
CREATE TYPE "ScoreSource" AS ENUM ('API', 'FEEDBACK', 'ANNOTATION', 'EVALUATION', 'ONLINE_EVALUATION');

-- CreateTable
CREATE TABLE "scores" (
    "id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "client_id" TEXT,
    "trace_id" UUID,
    "span_id" UUID,
    "session_id" TEXT,
    "evaluation_item_id" UUID,
    "name" TEXT NOT NULL,
    "data_type" "ScoreDataType" NOT NULL,
    "value" DOUBLE PRECISION,
    "string_value" TEXT,
    "comment" TEXT,
    "source" "ScoreSource" NOT NULL,
    "author_user_id" UUID,
    "author_api_key_id" UUID,
    "user_id" TEXT,
    "evaluation_id" UUID,
    "evaluation_rule_id" UUID,
    "grader_name" TEXT,
    "scored_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "scores_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "score_configs" (
    "id" UUID NOT NULL,
    "project_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "data_type" "ScoreDataType" NOT NULL,
    "min_value" DOUBLE PRECISION,
    "max_value" DOUBLE PRECISION,
    "categories" JSONB,
    "description" TEXT,
    "archived" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "score_configs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "scores_project_id_scored_at_id_idx" ON "scores"("project_id", "scored_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "scores_project_id_name_scored_at_idx" ON "scores"("project_id", "name", "scored_at");

-- CreateIndex
CREATE INDEX "scores_project_id_session_id_idx" ON "scores"("project_id", "session_id");

-- CreateIndex
CREATE INDEX "scores_trace_id_scored_at_idx" ON "scores"("trace_id", "scored_at");

-- CreateIndex
CREATE INDEX "scores_span_id_idx" ON "scores"("span_id");

-- CreateIndex
CREATE INDEX "scores_evaluation_item_id_idx" ON "scores"("evaluation_item_id");

-- CreateIndex
CREATE INDEX "scores_evaluation_id_idx" ON "scores"("evaluation_id");

-- CreateIndex
CREATE UNIQUE INDEX "scores_project_id_client_id_key" ON "scores"("project_id", "client_id");

-- CreateIndex
CREATE UNIQUE INDEX "score_configs_project_id_name_key" ON "score_configs"("project_id", "name");

-- AddForeignKey
ALTER TABLE "scores" ADD CONSTRAINT "scores_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "scores" ADD CONSTRAINT "scores_trace_id_fkey" FOREIGN KEY ("trace_id") REFERENCES "traces"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "scores" ADD CONSTRAINT "scores_span_id_fkey" FOREIGN KEY ("span_id") REFERENCES "spans"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "scores" ADD CONSTRAINT "scores_evaluation_item_id_fkey" FOREIGN KEY ("evaluation_item_id") REFERENCES "evaluation_items"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "scores" ADD CONSTRAINT "scores_evaluation_id_fkey" FOREIGN KEY ("evaluation_id") REFERENCES "evaluations"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "scores" ADD CONSTRAINT "scores_author_user_id_fkey" FOREIGN KEY ("author_user_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "scores" ADD CONSTRAINT "scores_author_api_key_id_fkey" FOREIGN KEY ("author_api_key_id") REFERENCES "api_keys"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "score_configs" ADD CONSTRAINT "score_configs_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
