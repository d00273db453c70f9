-- AlterTable
ALTER TABLE "failed_records" ADD COLUMN     "abandoned_at" TIMESTAMPTZ(6),
ADD COLUMN     "attempts" JSONB NOT NULL DEFAULT '[]',
ADD COLUMN     "resolution" VARCHAR(20),
ADD COLUMN     "resolved_batch_uid" UUID;

