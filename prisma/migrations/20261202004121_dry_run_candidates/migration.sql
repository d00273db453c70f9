-- CreateTable
CREATE TABLE "dry_run_candidates" (
    "uid" UUID NOT NULL,
    "batch_uid" UUID NOT NULL,
    "entity_name" VARCHAR(100) NOT NULL,
    "page" INTEGER NOT NULL,
    "stage" VARCHAR(20) NOT NULL,
    "target_name" VARCHAR(100),
    "error_type" VARCHAR(50) NOT NULL,
    "error_message" TEXT NOT NULL,
    "error_details" JSONB,
    "source_key" TEXT,
    "ref_str" TEXT,
    "dead_letter_uid" UUID,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dry_run_candidates_pkey" PRIMARY KEY ("uid")
);

-- CreateIndex
CREATE INDEX "dry_run_candidates_batch_uid_created_at_idx" ON "dry_run_candidates"("batch_uid", "created_at");

-- AddForeignKey
ALTER TABLE "dry_run_candidates" ADD CONSTRAINT "dry_run_candidates_batch_uid_fkey" FOREIGN KEY ("batch_uid") REFERENCES "sync_batches"("uid") ON DELETE CASCADE ON UPDATE CASCADE;

