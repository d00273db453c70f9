import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/**
 * Delta state per entity and source system (erp_sync_state): moves the watermark of an incremental sync to
 * the last rowversion a tracked page read (inside TRACK's transaction, with the page's counts).
 */
export async function advanceWatermark(
  db: Queryable,
  state: { entityName: string; sourceSystem: string; watermark: string; batchUid: string },
): Promise<void> {
  await db.query(
    `INSERT INTO erp_sync_state (uid, entity_name, source_system, last_sync_rowversion, last_batch_uid, updated_at)
     VALUES ($1::uuid, $2, $3, $4, $5::uuid, now())
     ON CONFLICT (entity_name, source_system) DO UPDATE SET
       last_sync_rowversion = EXCLUDED.last_sync_rowversion, last_batch_uid = EXCLUDED.last_batch_uid, updated_at = now()`,
    [uuidv7(), state.entityName, state.sourceSystem, state.watermark, state.batchUid],
  );
}
