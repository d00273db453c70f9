import type { Prisma as PrismaTypes } from '@prisma/client';
import type { TargetConfig } from '../pipeline/connector-config.ts';
import type { MigrationState } from '../pipeline/migration/runbook.ts';
import type { Prisma } from './prisma.ts';

/**
 * Store migrations (`migrations`): the runbook state as workflows/migrate-target.ts last recorded it, and the
 * entity's targets when it started (what a rollback restores). The API reads migrations from here, so a
 * migration stays readable after its workflow ended.
 */
export type MigrationView = MigrationState;

/** Writes the migration's row when it starts (pending the workflow). False when the entity has a running one. */
export async function createMigration(
  prisma: Prisma,
  state: MigrationState,
  originalTargets: readonly TargetConfig[],
): Promise<boolean> {
  try {
    await prisma.migration.create({
      data: {
        id: state.id,
        entityName: state.entityName,
        workflowId: state.workflowId,
        fromTarget: state.from,
        toTarget: state.to,
        status: state.status,
        step: state.step,
        state: state as unknown as PrismaTypes.InputJsonValue,
        originalTargets: originalTargets as unknown as PrismaTypes.InputJsonValue,
      },
    });
    return true;
  } catch (error) {
    // The partial unique index: one running migration per entity.
    if ((error as { code?: string }).code === 'P2002') return false;
    throw error;
  }
}

/** Records the runbook's state (each transition of the workflow). */
export async function saveMigrationState(prisma: Prisma, state: MigrationState): Promise<void> {
  await prisma.migration.update({
    where: { id: state.id },
    data: {
      status: state.status,
      step: state.step,
      state: state as unknown as PrismaTypes.InputJsonValue,
    },
  });
}

export async function deleteMigration(prisma: Prisma, id: string): Promise<void> {
  await prisma.migration.deleteMany({ where: { id } });
}

export async function getMigration(prisma: Prisma, id: string): Promise<MigrationView | null> {
  const row = await prisma.migration.findUnique({ where: { id } });
  return row ? (row.state as unknown as MigrationView) : null;
}

export async function originalTargetsOf(prisma: Prisma, id: string): Promise<TargetConfig[]> {
  const row = await prisma.migration.findUniqueOrThrow({ where: { id }, select: { originalTargets: true } });
  return row.originalTargets as unknown as TargetConfig[];
}

/** Newest first; at most `limit`. */
export async function listMigrations(
  prisma: Prisma,
  filter: { entity?: string; limit?: number } = {},
): Promise<MigrationView[]> {
  const rows = await prisma.migration.findMany({
    where: filter.entity ? { entityName: filter.entity } : {},
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: filter.limit ?? 100,
  });
  return rows.map((r) => r.state as unknown as MigrationView);
}

/** The entity's running migration, or null. */
export async function activeMigrationOf(prisma: Prisma, entityName: string): Promise<MigrationView | null> {
  const row = await prisma.migration.findFirst({ where: { entityName, status: 'running' } });
  return row ? (row.state as unknown as MigrationView) : null;
}
