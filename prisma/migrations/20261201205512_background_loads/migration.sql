-- Background loads (issue 12): the backgroundSync workflow keeps its state here. Columns for the nights it
-- used, the opening of the night it is in, the watermark read when it began, its last error. HH:MM:SS windows.
-- The row belongs to its entity (deleted with it). No row was ever written before this migration.
-- AlterTable
ALTER TABLE "background_sync_schedule" ADD COLUMN     "last_error" TEXT,
ADD COLUMN     "night_opened_at" TIMESTAMPTZ(6),
ADD COLUMN     "nights_used" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "start_watermark" TEXT,
ALTER COLUMN "status" SET DEFAULT 'not_started',
ALTER COLUMN "window_start" SET DATA TYPE VARCHAR(8),
ALTER COLUMN "window_end" SET DATA TYPE VARCHAR(8);

-- AddForeignKey
ALTER TABLE "background_sync_schedule" ADD CONSTRAINT "background_sync_schedule_entity_name_fkey" FOREIGN KEY ("entity_name") REFERENCES "entities"("name") ON DELETE CASCADE ON UPDATE CASCADE;

