-- CreateTable
CREATE TABLE "reconcile_reports" (
    "uid" UUID NOT NULL,
    "entity_name" VARCHAR(100) NOT NULL,
    "status" VARCHAR(20) NOT NULL,
    "repair" BOOLEAN NOT NULL DEFAULT false,
    "sample" INTEGER,
    "workflow_id" TEXT NOT NULL,
    "progress" JSONB NOT NULL DEFAULT '{}',
    "source" JSONB NOT NULL DEFAULT '{}',
    "targets" JSONB NOT NULL DEFAULT '[]',
    "clean" BOOLEAN,
    "error" TEXT,
    "started_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(6),
    "duration_ms" INTEGER,

    CONSTRAINT "reconcile_reports_pkey" PRIMARY KEY ("uid")
);

-- CreateTable
CREATE TABLE "reconcile_source_records" (
    "report_uid" UUID NOT NULL,
    "bk_hash" TEXT NOT NULL,
    "data_hash" TEXT NOT NULL,
    "ref_str" TEXT,
    "parent_hashes" TEXT[],

    CONSTRAINT "reconcile_source_records_pkey" PRIMARY KEY ("report_uid","bk_hash")
);

-- CreateIndex
CREATE INDEX "reconcile_reports_entity_name_started_at_idx" ON "reconcile_reports"("entity_name", "started_at" DESC);

-- AddForeignKey
ALTER TABLE "reconcile_source_records" ADD CONSTRAINT "reconcile_source_records_report_uid_fkey" FOREIGN KEY ("report_uid") REFERENCES "reconcile_reports"("uid") ON DELETE CASCADE ON UPDATE CASCADE;

