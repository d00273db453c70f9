-- AlterTable
ALTER TABLE "failed_records" ADD COLUMN     "source_key" TEXT;

