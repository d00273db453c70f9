-- Issue 15 (docs/performance.md, step 2): the identity store, narrowed. A row names its (entity, target) by an
-- integer stream id instead of two varchar(100) names, and keeps its hashes as bytes (16-byte bk_hash, 32-byte
-- data_hash) instead of hex text: the primary key shrinks from about 60 bytes to 21. New: source_hash, the hash
-- of the source row that lets a later sync skip an unchanged row before NORMALIZE. Hand-written (Prisma's
-- generated ALTER dropped and re-added the columns, losing the data): every row is kept, hashes decoded.

ALTER TABLE "identity_records" RENAME TO "identity_records_wide";
ALTER TABLE "identity_records_wide" RENAME CONSTRAINT "identity_records_pkey" TO "identity_records_wide_pkey";
DROP INDEX "identity_records_unsynced_idx";

-- CreateTable
CREATE TABLE "identity_streams" (
    "id" SERIAL NOT NULL,
    "entity_name" VARCHAR(100) NOT NULL,
    "target_name" VARCHAR(100) NOT NULL,

    CONSTRAINT "identity_streams_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "identity_streams_entity_name_target_name_key" ON "identity_streams"("entity_name", "target_name");

-- CreateTable
CREATE TABLE "identity_records" (
    "stream_id" INTEGER NOT NULL,
    "bk_hash" BYTEA NOT NULL,
    "data_hash" BYTEA NOT NULL,
    "source_hash" BYTEA,
    "rowversion" TEXT,
    "ref_str" TEXT,
    "target_uid" TEXT,
    "sync_status" VARCHAR(20) NOT NULL DEFAULT 'pending',
    "sync_error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_attempt_at" TIMESTAMPTZ(6),
    "last_batch_uid" UUID,
    "synced_at" TIMESTAMPTZ(6),
    "deleted_at" TIMESTAMPTZ(6),

    CONSTRAINT "identity_records_pkey" PRIMARY KEY ("stream_id","bk_hash")
);

INSERT INTO "identity_streams" ("entity_name", "target_name")
SELECT DISTINCT "entity_name", "target_name" FROM "identity_records_wide" ORDER BY 1, 2;

INSERT INTO "identity_records" ("stream_id", "bk_hash", "data_hash", "source_hash", "rowversion", "ref_str",
    "target_uid", "sync_status", "sync_error", "attempts", "last_attempt_at", "last_batch_uid", "synced_at", "deleted_at")
SELECT s."id", decode(w."bk_hash", 'hex'), decode(w."data_hash", 'hex'), NULL, w."rowversion", w."ref_str",
       w."target_uid", w."sync_status", w."sync_error", w."attempts", w."last_attempt_at", w."last_batch_uid",
       w."synced_at", w."deleted_at"
  FROM "identity_records_wide" w
  JOIN "identity_streams" s ON s."entity_name" = w."entity_name" AND s."target_name" = w."target_name";

DROP TABLE "identity_records_wide";

-- AddForeignKey
ALTER TABLE "identity_records" ADD CONSTRAINT "identity_records_stream_id_fkey" FOREIGN KEY ("stream_id") REFERENCES "identity_streams"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written (Prisma cannot express a partial index): the records that are not synced, per stream.
CREATE INDEX "identity_records_unsynced_idx" ON "identity_records"("stream_id", "sync_status") WHERE "sync_status" <> 'synced';

-- Hand-written: the store as people read it (names, hex hashes), for operators, reports and tests.
CREATE VIEW "identity_status" AS
SELECT s."entity_name", s."target_name", encode(r."bk_hash", 'hex') AS "bk_hash",
       encode(r."data_hash", 'hex') AS "data_hash", encode(r."source_hash", 'hex') AS "source_hash",
       r."rowversion", r."ref_str", r."target_uid", r."sync_status", r."sync_error", r."attempts",
       r."last_attempt_at", r."last_batch_uid", r."synced_at", r."deleted_at"
  FROM "identity_records" r
  JOIN "identity_streams" s ON s."id" = r."stream_id";
