import { getEntity, type StoredEntity, setEntityMode } from '../db/entities.ts';
import { newestCompletedReport } from '../db/reconcile.ts';
import { parityRefusal } from '../pipeline/reconcile/parity.ts';
import { ControlError, unknownEntity } from './errors.ts';
import type { ControlDeps } from './syncs.ts';

/**
 * Promotes an entity from dry run to live (its syncs then write to its targets). With
 * `promoteRequiresCleanReconcile`, only on a clean reconcile of every target finished after the configuration's
 * last change: refused (409 `parity_not_proven`) naming the counts that were not zero.
 */
export async function promoteEntity(deps: Pick<ControlDeps, 'prisma'>, name: string): Promise<StoredEntity> {
  const entity = await getEntity(deps.prisma, name);
  if (!entity) throw unknownEntity(name);
  if (entity.mode !== 'live' && entity.config.promoteRequiresCleanReconcile) {
    const newest = await newestCompletedReport(deps.prisma, name);
    const refusal = parityRefusal(newest, entity.updatedAt);
    if (refusal) {
      throw new ControlError(409, 'parity_not_proven', `"${name}" stays in dry run: ${refusal}.`, {
        entity: name,
        reportUid: newest?.uid ?? null,
      });
    }
  }
  const promoted = await setEntityMode(deps.prisma, name, 'live');
  if (!promoted) throw unknownEntity(name);
  return promoted;
}
