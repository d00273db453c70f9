-- Hand-written (Prisma cannot express partial indexes): the open dead letters of an entity by the record they
-- name, for TRACK, which resolves the dead letters of records a later sync landed, and for the trace of a record.
CREATE INDEX "failed_records_open_bk_hash_idx" ON "failed_records"("entity_name", "bk_hash") WHERE "resolved_at" IS NULL;
CREATE INDEX "failed_records_open_source_key_idx" ON "failed_records"("entity_name", "source_key") WHERE "resolved_at" IS NULL;
