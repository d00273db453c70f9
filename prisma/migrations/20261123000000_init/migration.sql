-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "entities" (
    "uid" UUID NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "description" TEXT,
    "mode" VARCHAR(20) NOT NULL DEFAULT 'dry_run',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "config" JSONB NOT NULL,
    "config_version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "entities_pkey" PRIMARY KEY ("uid")
);

-- CreateTable
CREATE TABLE "field_mappings" (
    "uid" UUID NOT NULL,
    "entity_name" VARCHAR(100) NOT NULL,
    "position" INTEGER NOT NULL DEFAULT 0,
    "source_field" VARCHAR(255) NOT NULL,
    "target_field" VARCHAR(255) NOT NULL,
    "source_type" VARCHAR(50) NOT NULL DEFAULT 'VARCHAR2',
    "transformation" VARCHAR(50),
    "default_value" JSONB,
    "is_required" BOOLEAN NOT NULL DEFAULT false,
    "is_identity" BOOLEAN NOT NULL DEFAULT false,
    "validation_rules" JSONB,
    "value_map" JSONB,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "field_mappings_pkey" PRIMARY KEY ("uid")
);

-- CreateTable
CREATE TABLE "sync_batches" (
    "uid" UUID NOT NULL,
    "entity_name" VARCHAR(100) NOT NULL,
    "sync_type" VARCHAR(20) NOT NULL,
    "status" VARCHAR(20) NOT NULL DEFAULT 'pending',
    "dry_run" BOOLEAN NOT NULL DEFAULT true,
    "workflow_id" VARCHAR(255),
    "started_at" TIMESTAMPTZ(6),
    "completed_at" TIMESTAMPTZ(6),
    "total_fetched" BIGINT NOT NULL DEFAULT 0,
    "total_processed" BIGINT NOT NULL DEFAULT 0,
    "inserted" BIGINT NOT NULL DEFAULT 0,
    "updated" BIGINT NOT NULL DEFAULT 0,
    "deleted" BIGINT NOT NULL DEFAULT 0,
    "skipped" BIGINT NOT NULL DEFAULT 0,
    "failed" BIGINT NOT NULL DEFAULT 0,
    "pending" BIGINT NOT NULL DEFAULT 0,
    "pages_completed" INTEGER NOT NULL DEFAULT 0,
    "watermark_from" TEXT,
    "watermark_to" TEXT,
    "metrics" JSONB NOT NULL DEFAULT '{}',
    "error_message" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "sync_batches_pkey" PRIMARY KEY ("uid")
);

-- CreateTable
CREATE TABLE "failed_records" (
    "uid" UUID NOT NULL,
    "batch_uid" UUID NOT NULL,
    "entity_name" VARCHAR(100) NOT NULL,
    "bk_hash" VARCHAR(32),
    "data_hash" VARCHAR(64),
    "ref_str" TEXT,
    "idempotency_key" VARCHAR(200) NOT NULL,
    "target_name" VARCHAR(100),
    "stage" VARCHAR(20) NOT NULL,
    "error_type" VARCHAR(50) NOT NULL,
    "error_message" TEXT NOT NULL,
    "error_details" JSONB,
    "raw_data" JSONB,
    "normalized_data" JSONB,
    "mapped_data" JSONB,
    "retry_count" INTEGER NOT NULL DEFAULT 0,
    "max_retries" INTEGER NOT NULL DEFAULT 5,
    "next_retry_at" TIMESTAMPTZ(6),
    "last_retry_at" TIMESTAMPTZ(6),
    "resolved_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "failed_records_pkey" PRIMARY KEY ("uid")
);

-- CreateTable
CREATE TABLE "pending_children" (
    "uid" UUID NOT NULL,
    "batch_uid" UUID NOT NULL,
    "entity_name" VARCHAR(100) NOT NULL,
    "child_bk_hash" VARCHAR(32) NOT NULL,
    "child_ref_str" TEXT,
    "parent_entity" VARCHAR(100) NOT NULL,
    "parent_bk_hash" VARCHAR(32) NOT NULL,
    "parent_ref_str" TEXT,
    "child_payload" JSONB NOT NULL,
    "status" VARCHAR(20) NOT NULL DEFAULT 'waiting',
    "retry_count" INTEGER NOT NULL DEFAULT 0,
    "max_retries" INTEGER NOT NULL DEFAULT 5,
    "next_retry_at" TIMESTAMPTZ(6),
    "last_error" TEXT,
    "released_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "pending_children_pkey" PRIMARY KEY ("uid")
);

-- CreateTable
CREATE TABLE "erp_sync_state" (
    "uid" UUID NOT NULL,
    "entity_name" VARCHAR(100) NOT NULL,
    "source_system" VARCHAR(100) NOT NULL,
    "last_sync_rowversion" TEXT,
    "last_sync_timestamp" TIMESTAMPTZ(6),
    "last_full_sync_at" TIMESTAMPTZ(6),
    "last_batch_uid" UUID,
    "total_records_synced" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "erp_sync_state_pkey" PRIMARY KEY ("uid")
);

-- CreateTable
CREATE TABLE "background_sync_schedule" (
    "uid" UUID NOT NULL,
    "entity_name" VARCHAR(100) NOT NULL,
    "status" VARCHAR(20) NOT NULL DEFAULT 'active',
    "window_start" VARCHAR(5) NOT NULL DEFAULT '19:00',
    "window_end" VARCHAR(5) NOT NULL DEFAULT '07:00',
    "time_zone" VARCHAR(64) NOT NULL DEFAULT 'UTC',
    "target_days" INTEGER NOT NULL DEFAULT 7,
    "daily_quota" INTEGER,
    "total_rows_estimate" BIGINT,
    "current_offset" TEXT,
    "rows_done" BIGINT NOT NULL DEFAULT 0,
    "rows_today" INTEGER NOT NULL DEFAULT 0,
    "workflow_id" VARCHAR(255),
    "started_at" TIMESTAMPTZ(6),
    "last_run_at" TIMESTAMPTZ(6),
    "next_run_at" TIMESTAMPTZ(6),
    "completed_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "background_sync_schedule_pkey" PRIMARY KEY ("uid")
);

-- CreateTable
CREATE TABLE "identity_records" (
    "entity_name" VARCHAR(100) NOT NULL,
    "target_name" VARCHAR(100) NOT NULL,
    "bk_hash" VARCHAR(32) NOT NULL,
    "data_hash" VARCHAR(64) NOT NULL,
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

    CONSTRAINT "identity_records_pkey" PRIMARY KEY ("entity_name","target_name","bk_hash")
);

-- CreateTable
CREATE TABLE "sync_events" (
    "id" BIGSERIAL NOT NULL,
    "type" VARCHAR(50) NOT NULL,
    "entity_name" VARCHAR(100),
    "batch_uid" UUID,
    "payload" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sync_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "uid" UUID NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "prefix" VARCHAR(16) NOT NULL,
    "key_hash" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(6),
    "revoked_at" TIMESTAMPTZ(6),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("uid")
);

-- CreateIndex
CREATE UNIQUE INDEX "entities_name_key" ON "entities"("name");

-- CreateIndex
CREATE INDEX "field_mappings_entity_name_position_idx" ON "field_mappings"("entity_name", "position");

-- CreateIndex
CREATE UNIQUE INDEX "field_mappings_entity_name_source_field_target_field_key" ON "field_mappings"("entity_name", "source_field", "target_field");

-- CreateIndex
CREATE INDEX "sync_batches_entity_name_started_at_idx" ON "sync_batches"("entity_name", "started_at");

-- CreateIndex
CREATE INDEX "sync_batches_status_idx" ON "sync_batches"("status");

-- CreateIndex
CREATE UNIQUE INDEX "failed_records_idempotency_key_key" ON "failed_records"("idempotency_key");

-- CreateIndex
CREATE INDEX "failed_records_batch_uid_idx" ON "failed_records"("batch_uid");

-- CreateIndex
CREATE INDEX "failed_records_entity_name_stage_idx" ON "failed_records"("entity_name", "stage");

-- CreateIndex
CREATE INDEX "failed_records_error_type_idx" ON "failed_records"("error_type");

-- CreateIndex
CREATE INDEX "pending_children_parent_entity_parent_bk_hash_idx" ON "pending_children"("parent_entity", "parent_bk_hash");

-- CreateIndex
CREATE INDEX "pending_children_status_next_retry_at_idx" ON "pending_children"("status", "next_retry_at");

-- CreateIndex
CREATE INDEX "pending_children_batch_uid_idx" ON "pending_children"("batch_uid");

-- CreateIndex
CREATE UNIQUE INDEX "pending_children_entity_name_child_bk_hash_parent_entity_key" ON "pending_children"("entity_name", "child_bk_hash", "parent_entity");

-- CreateIndex
CREATE UNIQUE INDEX "erp_sync_state_entity_name_source_system_key" ON "erp_sync_state"("entity_name", "source_system");

-- CreateIndex
CREATE UNIQUE INDEX "background_sync_schedule_entity_name_key" ON "background_sync_schedule"("entity_name");

-- CreateIndex
CREATE INDEX "identity_records_entity_name_target_name_sync_status_idx" ON "identity_records"("entity_name", "target_name", "sync_status");

-- CreateIndex
CREATE INDEX "sync_events_entity_name_id_idx" ON "sync_events"("entity_name", "id");

-- CreateIndex
CREATE INDEX "sync_events_batch_uid_idx" ON "sync_events"("batch_uid");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys"("key_hash");

-- AddForeignKey
ALTER TABLE "field_mappings" ADD CONSTRAINT "field_mappings_entity_name_fkey" FOREIGN KEY ("entity_name") REFERENCES "entities"("name") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "failed_records" ADD CONSTRAINT "failed_records_batch_uid_fkey" FOREIGN KEY ("batch_uid") REFERENCES "sync_batches"("uid") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "pending_children" ADD CONSTRAINT "pending_children_batch_uid_fkey" FOREIGN KEY ("batch_uid") REFERENCES "sync_batches"("uid") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "erp_sync_state" ADD CONSTRAINT "erp_sync_state_last_batch_uid_fkey" FOREIGN KEY ("last_batch_uid") REFERENCES "sync_batches"("uid") ON DELETE SET NULL ON UPDATE CASCADE;


-- Not expressible in schema.prisma: the retry scanner only looks at unresolved records.
CREATE INDEX "failed_records_next_retry_at_idx" ON "failed_records"("next_retry_at") WHERE "resolved_at" IS NULL;
