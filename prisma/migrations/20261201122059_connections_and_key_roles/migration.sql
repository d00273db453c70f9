-- AlterTable
ALTER TABLE "api_keys" ADD COLUMN     "role" VARCHAR(20) NOT NULL DEFAULT 'viewer';

-- CreateTable
CREATE TABLE "connections" (
    "uid" UUID NOT NULL,
    "name" VARCHAR(63) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "config" JSONB NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "connections_pkey" PRIMARY KEY ("uid")
);

-- CreateIndex
CREATE UNIQUE INDEX "connections_name_key" ON "connections"("name");


-- Keys created before roles existed could do everything: they keep that power as admin keys.
-- New keys default to viewer, the least privilege.
UPDATE "api_keys" SET "role" = 'admin';
