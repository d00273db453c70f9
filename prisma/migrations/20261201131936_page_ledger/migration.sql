-- CreateTable
CREATE TABLE "sync_batch_pages" (
    "batch_uid" UUID NOT NULL,
    "page" INTEGER NOT NULL,

    CONSTRAINT "sync_batch_pages_pkey" PRIMARY KEY ("batch_uid","page")
);

-- AddForeignKey
ALTER TABLE "sync_batch_pages" ADD CONSTRAINT "sync_batch_pages_batch_uid_fkey" FOREIGN KEY ("batch_uid") REFERENCES "sync_batches"("uid") ON DELETE CASCADE ON UPDATE CASCADE;


-- The ledger used to be a JSON array in sync_batches.metrics: a batch running across the upgrade keeps the
-- pages it already counted, and the array leaves the metrics (the status API no longer returns it).
INSERT INTO "sync_batch_pages" ("batch_uid", "page")
SELECT b."uid", p.page::int
  FROM "sync_batches" b
 CROSS JOIN LATERAL jsonb_array_elements_text(b."metrics"->'pagesCounted') AS p(page)
 WHERE jsonb_typeof(b."metrics"->'pagesCounted') = 'array'
ON CONFLICT DO NOTHING;

UPDATE "sync_batches" SET "metrics" = "metrics" - 'pagesCounted' WHERE "metrics" ? 'pagesCounted';
