-- CreateTable
CREATE TABLE "migrations" (
    "id" UUID NOT NULL,
    "entity_name" VARCHAR(100) NOT NULL,
    "workflow_id" TEXT NOT NULL,
    "from_target" VARCHAR(100) NOT NULL,
    "to_target" VARCHAR(100) NOT NULL,
    "status" VARCHAR(20) NOT NULL,
    "step" VARCHAR(20) NOT NULL,
    "state" JSONB NOT NULL,
    "original_targets" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "migrations_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "migrations_entity_name_created_at_idx" ON "migrations"("entity_name", "created_at" DESC);


-- One running migration per entity (hand-written: Prisma cannot express a partial index).
CREATE UNIQUE INDEX "migrations_one_running_per_entity" ON "migrations"("entity_name") WHERE "status" = 'running';
