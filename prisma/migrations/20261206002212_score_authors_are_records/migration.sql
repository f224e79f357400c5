-- DropForeignKey
ALTER TABLE "scores" DROP CONSTRAINT "scores_author_api_key_id_fkey";

-- DropForeignKey
ALTER TABLE "scores" DROP CONSTRAINT "scores_author_user_id_fkey";
