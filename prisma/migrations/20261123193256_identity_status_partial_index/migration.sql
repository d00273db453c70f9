-- DropIndex
DROP INDEX "identity_records_entity_name_target_name_sync_status_idx";


-- Hand-written (Prisma cannot express a partial index). The full (entity, target, status) index misled the
-- planner into scanning every synced record of an entity for DELTA's key lookups (900 ms per page of 10,000 at
-- a million records): only the records that are not synced need finding by status.
CREATE INDEX "identity_records_unsynced_idx" ON "identity_records"("entity_name", "target_name", "sync_status") WHERE "sync_status" <> 'synced';
