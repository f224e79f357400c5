-- Datasets keep their items' history: an item's content moves to dataset_item_versions (one row
-- per version of it), dataset_versions lists the dataset's versions, and a run records the
-- dataset and version it ran on. Before this, items were only ever added, so the history of an
-- existing dataset is exact: one version per moment items were added (and one at its creation).

-- AlterTable
ALTER TABLE "datasets" ADD COLUMN     "version" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- AlterTable
ALTER TABLE "evaluations" ADD COLUMN     "dataset_id" UUID,
ADD COLUMN     "dataset_version" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "dataset_versions" (
    "dataset_id" UUID NOT NULL,
    "version" TIMESTAMPTZ(3) NOT NULL,
    "item_count" INTEGER NOT NULL,
    "added_count" INTEGER NOT NULL DEFAULT 0,
    "updated_count" INTEGER NOT NULL DEFAULT 0,
    "archived_count" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "dataset_versions_pkey" PRIMARY KEY ("dataset_id","version")
);

-- CreateTable
CREATE TABLE "dataset_item_versions" (
    "dataset_item_id" UUID NOT NULL,
    "valid_from" TIMESTAMPTZ(3) NOT NULL,
    "valid_to" TIMESTAMPTZ(3),
    "dataset_id" UUID NOT NULL,
    "archived" BOOLEAN NOT NULL DEFAULT false,
    "input" JSONB NOT NULL,
    "expected_output" JSONB,
    "output" JSONB,
    "contexts" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "metadata" JSONB,

    CONSTRAINT "dataset_item_versions_pkey" PRIMARY KEY ("dataset_item_id","valid_from")
);

-- The existing items, each current since it was added.
INSERT INTO "dataset_item_versions" ("dataset_item_id", "valid_from", "dataset_id", "input", "expected_output", "output", "contexts", "metadata")
SELECT "id", "created_at", "dataset_id", "input", "expected_output", "output", "contexts", "metadata" FROM "dataset_items";

-- A version at each dataset's creation and at each moment items were added to it.
INSERT INTO "dataset_versions" ("dataset_id", "version", "item_count", "added_count")
SELECT "dataset_id", "version", (sum("added") OVER (PARTITION BY "dataset_id" ORDER BY "version"))::int, "added"
FROM (
  SELECT m."dataset_id", m."version", count(i."id")::int AS "added"
  FROM (SELECT "id" AS "dataset_id", "created_at" AS "version" FROM "datasets"
        UNION SELECT "dataset_id", "created_at" FROM "dataset_items") m
  LEFT JOIN "dataset_items" i ON i."dataset_id" = m."dataset_id" AND i."created_at" = m."version"
  GROUP BY m."dataset_id", m."version"
) moments;

UPDATE "datasets" d SET "version" = (SELECT max("version") FROM "dataset_versions" v WHERE v."dataset_id" = d."id");

-- Runs on a dataset: its id, and the version current when the run was created.
UPDATE "evaluations" e SET "dataset_id" = d."id",
  "dataset_version" = (SELECT max(v."version") FROM "dataset_versions" v WHERE v."dataset_id" = d."id" AND v."version" <= e."created_at")
FROM "datasets" d
WHERE e."data_source"->>'type' = 'dataset' AND d."id"::text = e."data_source"->>'datasetId' AND d."project_id" = e."project_id";

-- AlterTable
ALTER TABLE "dataset_items" DROP COLUMN "contexts",
DROP COLUMN "expected_output",
DROP COLUMN "input",
DROP COLUMN "metadata",
DROP COLUMN "output",
ADD COLUMN     "source_span_id" UUID;

-- CreateIndex
CREATE INDEX "dataset_item_versions_dataset_id_valid_to_dataset_item_id_idx" ON "dataset_item_versions"("dataset_id", "valid_to", "dataset_item_id");

-- CreateIndex
CREATE INDEX "dataset_item_versions_dataset_id_valid_from_idx" ON "dataset_item_versions"("dataset_id", "valid_from");

-- CreateIndex
CREATE INDEX "evaluations_dataset_id_idx" ON "evaluations"("dataset_id");

-- AddForeignKey
ALTER TABLE "dataset_versions" ADD CONSTRAINT "dataset_versions_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "datasets"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dataset_item_versions" ADD CONSTRAINT "dataset_item_versions_dataset_item_id_fkey" FOREIGN KEY ("dataset_item_id") REFERENCES "dataset_items"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dataset_item_versions" ADD CONSTRAINT "dataset_item_versions_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "datasets"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "evaluations" ADD CONSTRAINT "evaluations_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "datasets"("id") ON DELETE SET NULL ON UPDATE CASCADE;
