-- AlterTable: each normalized source record's segment checksum term, stored with it (connectors/postgres/
-- segments.ts recordChecksumSql), so a source-side segment checksum is a sum of a column. A reconcile running
-- across the upgrade keeps its records: their terms are computed here with the one expression.
ALTER TABLE "reconcile_source_records" ADD COLUMN "checksum" BIGINT;
UPDATE "reconcile_source_records"
   SET "checksum" = ('x' || substr(md5("bk_hash" || ':' || coalesce("data_hash", '')), 1, 15))::bit(60)::bigint;
ALTER TABLE "reconcile_source_records" ALTER COLUMN "checksum" SET NOT NULL;

-- CreateTable
CREATE TABLE "reconcile_source_segments" (
    "report_uid" UUID NOT NULL,
    "prefix" TEXT NOT NULL,
    "count" INTEGER NOT NULL,
    "checksum" TEXT NOT NULL,

    CONSTRAINT "reconcile_source_segments_pkey" PRIMARY KEY ("report_uid","prefix")
);

-- CreateTable
CREATE TABLE "reconcile_differences" (
    "report_uid" UUID NOT NULL,
    "target" VARCHAR(100) NOT NULL,
    "bk_hash" TEXT NOT NULL,
    "kind" VARCHAR(10) NOT NULL,
    "data_hash" TEXT,
    "ref_str" TEXT,

    CONSTRAINT "reconcile_differences_pkey" PRIMARY KEY ("report_uid","target","bk_hash")
);

-- AddForeignKey
ALTER TABLE "reconcile_source_segments" ADD CONSTRAINT "reconcile_source_segments_report_uid_fkey" FOREIGN KEY ("report_uid") REFERENCES "reconcile_reports"("uid") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reconcile_differences" ADD CONSTRAINT "reconcile_differences_report_uid_fkey" FOREIGN KEY ("report_uid") REFERENCES "reconcile_reports"("uid") ON DELETE CASCADE ON UPDATE CASCADE;

