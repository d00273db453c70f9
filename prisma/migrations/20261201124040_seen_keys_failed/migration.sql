-- AlterTable
ALTER TABLE "sync_seen_keys" ADD COLUMN     "failed" BOOLEAN NOT NULL DEFAULT false;

