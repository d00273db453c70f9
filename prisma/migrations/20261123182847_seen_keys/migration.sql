-- CreateTable
-- UNLOGGED: scratch data of a running full sync (no WAL): a crash empties it, and the sync re-reads.
CREATE UNLOGGED TABLE "sync_seen_keys" (
    "batch_uid" UUID NOT NULL,
    "bk_hash" VARCHAR(32) NOT NULL,

    CONSTRAINT "sync_seen_keys_pkey" PRIMARY KEY ("batch_uid","bk_hash")
);

