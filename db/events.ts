import type pg from 'pg';
import { z } from 'zod';
import type { Prisma } from './prisma.ts';

/**
 * The event log (sync_events): the API's poll and SSE streams read it by id,
 * so a client that reconnects with its last id misses nothing.
 */
export const eventTypes = [
  'sync.started',
  'sync.page_completed',
  'sync.paused',
  'sync.resumed',
  'sync.completed',
  'sync.failed',
  'sync.cancelled',
  /** A full sync's deletes were held: failed rows without a computable business key (payload `count`). */
  'sync.deletes_held',
  'record.quarantined',
  'child.released',
  'circuit.opened',
  /** A background load's window opened (payload: quota, closesAt, rowsDone, estimate) or closed (the night's rows). */
  'background.window_opened',
  'background.window_closed',
  'background.completed',
  /** A scheduled sync did not run: a sync or background load of the entity was under way (payload: reason). */
  'schedule.skipped',
  /** A dead-letter replay did not run: a sync or background load of the entity was under way (payload: reason). */
  'replay.skipped',
  /** A dead-letter replay ended (payload: trigger, selected, resolved, failedAgain, abandoned, waiting). */
  'replay.completed',
  /** A reconcile ended (payload: reportUid, clean, per target missing / extra / different / orphans, repaired). */
  'reconcile.completed',
  /** A reconcile failed (payload: reportUid, error). */
  'reconcile.failed',
  /** A store migration finished a step (payload: migrationId, step, clean, forced, roles). */
  'migration.step_completed',
  /** A store migration ended: completed, rolled back, aborted or failed (payload: migrationId, status, step, error). */
  'migration.ended',
] as const;
export const eventTypeSchema = z.enum(eventTypes);
export type EventType = z.infer<typeof eventTypeSchema>;

export interface SyncEventInput {
  type: EventType;
  entityName?: string | undefined;
  batchUid?: string | undefined;
  payload?: Record<string, unknown>;
}

export async function recordEvent(prisma: Prisma, event: SyncEventInput): Promise<bigint> {
  const row = await prisma.syncEvent.create({
    data: {
      type: event.type,
      entityName: event.entityName ?? null,
      batchUid: event.batchUid ?? null,
      payload: (event.payload ?? {}) as object,
    },
    select: { id: true },
  });
  return row.id;
}

/** Events after `sinceId`, oldest first (the poll endpoint and SSE catch-up). */
export function eventsSince(prisma: Prisma, sinceId: bigint, options: { limit?: number; entityName?: string } = {}) {
  return prisma.syncEvent.findMany({
    where: { id: { gt: sinceId }, ...(options.entityName ? { entityName: options.entityName } : {}) },
    orderBy: { id: 'asc' },
    take: options.limit ?? 100,
  });
}

/** The same, inside a `pg` transaction of a bulk path (TRACK), so the event commits with the page. */
export async function insertEventSql(
  db: Pick<pg.PoolClient, 'query'>,
  type: EventType,
  entityName: string,
  batchUid: string | null,
  payload: Record<string, unknown>,
): Promise<void> {
  await db.query(
    'INSERT INTO sync_events (type, entity_name, batch_uid, payload) VALUES ($1, $2, $3::uuid, $4::jsonb)',
    [type, entityName, batchUid, JSON.stringify(payload)],
  );
}
