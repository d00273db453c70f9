import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { z } from 'zod';
import { assertEntityConnections, EntityConnectionError } from '../db/connections.ts';
import { getEntity } from '../db/entities.ts';
import {
  activeMigrationOf,
  createMigration,
  deleteMigration,
  type MigrationView,
  getMigration as readMigration,
  listMigrations as readMigrations,
} from '../db/migrations.ts';
import { targetConfigSchema } from '../pipeline/connector-config.ts';
import { initialSteps, type MigrationState, rolesOf, targetsAfter } from '../pipeline/migration/runbook.ts';
import { parseEntityConfig } from '../pipeline/parse-entity-config.ts';
import {
  abortMigrationUpdate,
  approveMigrationUpdate,
  MIGRATE_WORKFLOW,
  type MigrateTargetInput,
  migrateWorkflowId,
  migrationStateQuery,
  rollbackMigrationUpdate,
} from '../workflows/contract.ts';
import { ControlError, unknownEntity } from './errors.ts';
import { type ControlDeps, entityNameSchema } from './syncs.ts';

export type { MigrationView };

/** POST /migrations and `syncflow migrate start`: move an entity from its primary store to a new one. */
export const migrationRequestSchema = z
  .object({
    entity: entityNameSchema,
    /** The entity's primary target, the store the data moves away from. */
    from: z.string().min(1).max(100),
    /** The new store, as a target of an entity's configuration (its role is the runbook's to set). */
    to: targetConfigSchema,
    /** Go on to each next step without an approval when its gate (a clean reconcile, where it has one) is met. */
    autoApprove: z.boolean().default(false),
    /** How long both stores are written and compared after the cutover before `from` may retire. */
    soakMinutes: z
      .number()
      .int()
      .min(0)
      .max(60 * 24 * 30)
      .default(60),
    /** How often the soak reconciles both stores. */
    soakCheckMinutes: z
      .number()
      .int()
      .min(1)
      .max(60 * 24)
      .default(15),
  })
  .strict();
export type MigrationRequest = z.input<typeof migrationRequestSchema>;

export const approvalSchema = z
  .object({
    step: z.string().min(1).max(20),
    /** Go ahead although the step's gate (a clean reconcile) is not met; recorded on the step. */
    force: z.boolean().optional(),
  })
  .strict();

const invalid = (field: string, message: string) =>
  new ControlError(400, 'validation_failed', `Invalid request: ${message}.`, [{ field, message }]);

/**
 * Starts the entity's migration from `from` (its primary) to `to` (a new target): the row in `migrations`, then
 * the workflow `migrate-<entity>`, which adds `to` as a shadow target first. Refused: 404 unknown entity; 400
 * `from` not the primary, `to.name` taken, a `to` the entity's configuration cannot hold (field named); 409 the
 * entity is not live (a migration writes) or a migration of it is running.
 */
export async function startMigration(
  deps: ControlDeps,
  request: MigrationRequest,
): Promise<{ id: string; workflowId: string; entityName: string }> {
  const input = migrationRequestSchema.parse(request);
  const entity = await getEntity(deps.prisma, input.entity);
  if (!entity) throw unknownEntity(input.entity);
  const targets = entity.config.targets;
  const from = targets.find((t) => t.name === input.from);
  if (!from) throw invalid('from', `"${input.entity}" has no target "${input.from}"`);
  if (from.role !== 'primary') throw invalid('from', `"${input.from}" is not the primary target of "${input.entity}"`);
  if (targets.some((t) => t.name === input.to.name)) {
    throw invalid('to.name', `"${input.entity}" already has a target "${input.to.name}"`);
  }
  const shadowed = targetsAfter('shadow', targets, targets, input.from, input.to);
  const parsed = parseEntityConfig({ ...entity.config, targets: shadowed });
  if (!parsed.ok) throw invalid(parsed.errors[0]!.path.replace(/^targets\.\d+/, 'to'), parsed.errors[0]!.message);
  try {
    await assertEntityConnections(deps.prisma, parsed.config);
  } catch (error) {
    if (!(error instanceof EntityConnectionError)) throw error;
    const issue = error.issues[0]!;
    throw invalid(issue.field.replace(/^targets\.\d+/, 'to'), issue.message);
  }
  if (entity.mode !== 'live') {
    throw new ControlError(
      409,
      'entity_not_live',
      `Entity "${input.entity}" is in dry-run mode: a migration writes to both stores; promote it first.`,
      { entity: input.entity },
    );
  }

  const id = randomUUID();
  const workflowId = migrateWorkflowId(input.entity);
  const at = new Date().toISOString();
  const state: MigrationState = {
    id,
    entityName: input.entity,
    workflowId,
    from: input.from,
    to: input.to.name,
    status: 'running',
    step: 'shadow',
    waitingFor: null,
    autoApprove: input.autoApprove,
    soakMinutes: input.soakMinutes,
    soakCheckMinutes: input.soakCheckMinutes,
    steps: initialSteps(),
    roles: rolesOf(targets),
    requested: null,
    error: null,
    createdAt: at,
    updatedAt: at,
  };
  const running = () =>
    new ControlError(409, 'migration_running', `A migration of "${input.entity}" is running.`, {
      entity: input.entity,
    });
  if (!(await createMigration(deps.prisma, state, targets))) throw running();
  const workflowInput: MigrateTargetInput = {
    migrationId: id,
    entityName: input.entity,
    from: input.from,
    to: input.to,
    autoApprove: input.autoApprove,
    soakMinutes: input.soakMinutes,
    soakCheckMinutes: input.soakCheckMinutes,
    state,
  };
  try {
    await deps.temporal.workflow.start(MIGRATE_WORKFLOW, {
      workflowId,
      taskQueue: deps.taskQueue,
      args: [workflowInput],
    });
  } catch (error) {
    await deleteMigration(deps.prisma, id);
    if (error instanceof WorkflowExecutionAlreadyStartedError) throw running();
    throw error;
  }
  return { id, workflowId, entityName: input.entity };
}

const requireMigration = async (deps: ControlDeps, id: string): Promise<MigrationView> => {
  const found = z.uuid().safeParse(id).success ? await readMigration(deps.prisma, id) : null;
  if (!found) throw new ControlError(404, 'migration_not_found', `No migration ${id}.`);
  return found;
};

/**
 * One migration: while it runs, the workflow's own state (its `migrationState` query: an approval just taken
 * shows at once); the recorded row when it has ended or the workflow does not answer.
 */
export async function getMigration(deps: ControlDeps, id: string): Promise<MigrationView> {
  const recorded = await requireMigration(deps, id);
  if (recorded.status !== 'running') return recorded;
  try {
    const live = await deps.temporal.workflow.getHandle(recorded.workflowId).query(migrationStateQuery);
    return live.id === recorded.id ? live : recorded;
  } catch {
    return recorded;
  }
}

export async function listMigrations(deps: ControlDeps, filter: { entity?: string } = {}) {
  return { items: await readMigrations(deps.prisma, filter) };
}

export const entityMigration = (deps: ControlDeps, entityName: string) => activeMigrationOf(deps.prisma, entityName);

const refused = (view: MigrationView, message: string) =>
  new ControlError(409, 'migration_refused', message, { id: view.id, status: view.status, step: view.step });

/** Sends an Update to the running migration; the runbook's refusal (its validator) becomes a 409 with its reason. */
async function update(
  deps: ControlDeps,
  id: string,
  send: (handle: ReturnType<ControlDeps['temporal']['workflow']['getHandle']>) => Promise<MigrationView>,
): Promise<MigrationView> {
  const view = await requireMigration(deps, id);
  if (view.status !== 'running') throw refused(view, `The migration has ended (${view.status}).`);
  try {
    return await send(deps.temporal.workflow.getHandle(view.workflowId));
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      throw refused(view, `Refused: ${error.cause?.message ?? error.message}.`);
    }
    if (error instanceof WorkflowNotFoundError) throw refused(view, 'The migration workflow is not running.');
    throw error;
  }
}

export const approveMigration = (deps: ControlDeps, id: string, approval: z.input<typeof approvalSchema>) =>
  update(deps, id, (h) => h.executeUpdate(approveMigrationUpdate, { args: [approvalSchema.parse(approval)] }));

export const rollbackMigration = (deps: ControlDeps, id: string) =>
  update(deps, id, (h) => h.executeUpdate(rollbackMigrationUpdate));

export const abortMigration = (deps: ControlDeps, id: string) =>
  update(deps, id, (h) => h.executeUpdate(abortMigrationUpdate));
