import { ApplicationFailure } from '@temporalio/activity';
import { getEntity, saveEntity } from '../db/entities.ts';
import { recordEvent } from '../db/events.ts';
import { originalTargetsOf, saveMigrationState } from '../db/migrations.ts';
import type { TargetConfig } from '../pipeline/connector-config.ts';
import { type MigrationState, rolesOf, targetsAfter } from '../pipeline/migration/runbook.ts';
import { parseEntityConfig } from '../pipeline/parse-entity-config.ts';
import type { ActivityDeps } from './deps.ts';

export interface SetMigrationTargetsInput {
  migrationId: string;
  entityName: string;
  op: 'shadow' | 'cutover' | 'retire' | 'rollback';
  from: string;
  to: TargetConfig;
}

/**
 * The activities of workflows/migrate-target.ts: the entity's targets changed by configuration (each step's
 * and a rollback's, idempotent: applied twice, the same targets), and the runbook's state recorded for the API.
 */
export function createMigrationActivities({ prisma }: Pick<ActivityDeps, 'prisma'>) {
  return {
    /** Rewrites the entity's targets for a step; answers the roles it now has. Takes effect at the next batch. */
    async setMigrationTargets(input: SetMigrationTargetsInput): Promise<Record<string, TargetConfig['role']>> {
      const entity = await getEntity(prisma, input.entityName);
      if (!entity) {
        throw ApplicationFailure.create({
          type: 'EntityNotFound',
          message: `No entity named "${input.entityName}": the migration cannot change its targets.`,
          nonRetryable: true,
        });
      }
      const original = await originalTargetsOf(prisma, input.migrationId);
      const targets = targetsAfter(input.op, entity.config.targets, original, input.from, input.to);
      const parsed = parseEntityConfig({ ...entity.config, targets });
      if (!parsed.ok) {
        throw ApplicationFailure.create({
          type: 'MigrationConfigInvalid',
          message: `The entity's configuration after "${input.op}" is not valid: ${parsed.errors
            .slice(0, 3)
            .map((e) => `${e.path}: ${e.message}`)
            .join('; ')}`,
          nonRetryable: true,
        });
      }
      const unchanged = JSON.stringify(entity.config.targets) === JSON.stringify(parsed.config.targets);
      const saved = unchanged ? entity : await saveEntity(prisma, parsed.config);
      return rolesOf(saved.config.targets);
    },

    /** Stores the runbook's state (the API's view) and announces finished steps and the end. */
    async recordMigration(input: {
      state: MigrationState;
      event?: { type: 'migration.step_completed' | 'migration.ended'; payload: Record<string, unknown> };
    }): Promise<void> {
      await saveMigrationState(prisma, input.state);
      if (input.event) {
        await recordEvent(prisma, {
          type: input.event.type,
          entityName: input.state.entityName,
          payload: { migrationId: input.state.id, ...input.event.payload },
        });
      }
    },
  };
}
export type MigrationActivities = ReturnType<typeof createMigrationActivities>;
