import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import {
  abortMigration,
  approveMigration,
  getMigration,
  listMigrations,
  migrationRequestSchema,
  rollbackMigration,
  startMigration,
} from '../../control/migrations.ts';
import type { ApiDeps } from '../deps.ts';
import { access } from '../roles.ts';
import { entityNameSchema, errorResponses, jsonContent } from '../schemas/common.ts';
import { MIGRATION_STEPS, migrationViewSchema } from '../schemas/migration.ts';

/**
 * Store migrations (control/migrations.ts, workflows/migrate-target.ts): the `migrateTarget` runbook moving an
 * entity from one target to another in six steps (shadow, backfill, verify, cutover, soak, retire), each gated by
 * an approval or a clean reconcile; rollback restores the previous roles at any step before retire. Starting one
 * and acting on it change the entity's targets, so they need the role that configures entities (admin).
 */
const EXAMPLE_ID = '0193a6f4-6c2e-7d3a-9f3e-2b7c1d0e4f5a';

const startedSchema = z
  .object({
    id: z.string().openapi({ example: EXAMPLE_ID, description: 'GET /migrations/{id}' }),
    workflowId: z.string().openapi({ example: 'migrate-items' }),
    entityName: z.string().openapi({ example: 'items' }),
  })
  .openapi('MigrationStarted');

const idParamSchema = z.object({
  id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: 'id', in: 'path' }, example: EXAMPLE_ID }),
});

const listQuery = z.object({ entity: entityNameSchema.optional() });
const listSchema = z.object({ items: z.array(migrationViewSchema) }).openapi('MigrationList');

const approveSchema = z
  .object({
    step: z
      .enum(MIGRATION_STEPS)
      .openapi({ example: 'cutover', description: 'The step the run waits at (its `waitingFor.step`)' }),
    force: z.boolean().optional().openapi({
      description:
        'Cutover or retire: approve although the reconcile the step is gated on (verify, soak) was not clean (recorded)',
    }),
  })
  .strict()
  .openapi('MigrationApproval');

const tags = ['Migrations'];

const refusals =
  'Refused (409 `migration_refused`) with the reason when the run cannot take it: a migration that has ended or ' +
  'has a rollback or abort under way, an approval for a step the run does not wait at, a cutover or retire whose ' +
  'reconcile is not clean (without `force`), a rollback after retire.';
const carriedOut =
  "Answers once the run accepted it (`requested` set); the run carries it out when the running step's work (a " +
  'sync, a reconcile) ends, then `status` is';

/** Start a migration, read one, list an entity's, approve a step, roll back, abort. */
export function migrationRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono();

  app.openapi(
    createRoute({
      method: 'post',
      path: '/migrations',
      ...access('configure'),
      tags,
      summary: 'Start a store migration of an entity from one target to another (202 with its id)',
      description:
        "`from` is the entity's primary target; `to` a new target configuration (as in the entity's `targets`, " +
        'with a name the entity does not use yet). The run adds `to` as a shadow target (written, never ' +
        'blocking, never read from), backfills it by a full sync, reconciles it until clean, cuts over (`to` ' +
        'primary, `from` secondary), soaks for `soakMinutes` with a reconcile of both every `soakCheckMinutes`, ' +
        "and retires `from` (removed from the entity's targets). Each step after shadow waits for an approval " +
        'unless `autoApprove` lets it go on by itself when its gate is met (cutover: a clean verify; retire: every ' +
        'soak reconcile clean). 404 for an unknown entity; 409 for an entity in dry-run (`entity_not_live`) and ' +
        'while a migration of the entity runs (`migration_running`).',
      request: {
        body: {
          required: true,
          content: {
            'application/json': {
              schema: migrationRequestSchema.openapi('MigrationRequest'),
              example: {
                entity: 'items',
                from: 'schedulehub',
                to: {
                  type: 'postgres',
                  name: 'warehouse_v2',
                  connection: 'demo-warehouse',
                  table: 'items_v2',
                },
                autoApprove: false,
                soakMinutes: 60,
                soakCheckMinutes: 15,
              },
            },
          },
        },
      },
      responses: {
        202: { description: 'Started', content: jsonContent(startedSchema) },
        ...errorResponses(400, 404, 409, 413, 503),
      },
    }),
    async (c) => {
      const started = await startMigration(deps, c.req.valid('json'));
      return c.json({ id: started.id, workflowId: started.workflowId, entityName: started.entityName }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/migrations/{id}',
      ...access('read'),
      tags,
      summary: "A migration step by step: status, current step, what it waits for, the targets' roles",
      request: { params: idParamSchema },
      responses: {
        200: { description: 'The migration', content: jsonContent(migrationViewSchema) },
        ...errorResponses(400, 404, 503),
      },
    }),
    async (c) => c.json(await getMigration(deps, c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/migrations',
      ...access('read'),
      tags,
      summary: 'Migrations, newest first (`entity` for one entity)',
      request: { query: listQuery },
      responses: {
        200: { description: 'The migrations', content: jsonContent(listSchema) },
        ...errorResponses(400, 503),
      },
    }),
    async (c) => {
      const { entity } = c.req.valid('query');
      return c.json(await listMigrations(deps, entity === undefined ? {} : { entity }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/migrations/{id}/approve',
      ...access('configure'),
      tags,
      summary: 'Approve the step the migration waits at (answers once the run took it)',
      description: `\`force: true\` approves a cutover (or retire) although the verify (or soak) reconcile is not clean; the force is recorded on the step. ${refusals}`,
      request: {
        params: idParamSchema,
        body: {
          required: true,
          content: { 'application/json': { schema: approveSchema, example: { step: 'cutover' } } },
        },
      },
      responses: {
        200: { description: 'The migration after the approval', content: jsonContent(migrationViewSchema) },
        ...errorResponses(400, 404, 409, 413, 503),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { step, force } = c.req.valid('json');
      return c.json(await approveMigration(deps, id, { step, ...(force === undefined ? {} : { force }) }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/migrations/{id}/rollback',
      ...access('configure'),
      tags,
      summary: "Roll a migration back: the entity's previous roles by configuration (refused after retire)",
      description: `The entity's targets as they were when the migration started: \`from\` primary again, \`to\` gone; no write is lost (\`from\` was written all along). ${carriedOut} \`rolled_back\`. ${refusals}`,
      request: { params: idParamSchema },
      responses: {
        200: { description: 'The migration, its rollback accepted', content: jsonContent(migrationViewSchema) },
        ...errorResponses(400, 404, 409, 503),
      },
    }),
    async (c) => c.json(await rollbackMigration(deps, c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/migrations/{id}/abort',
      ...access('configure'),
      tags,
      summary: "Abort a migration: the run ends where it is, the entity's targets as they are",
      description: `${carriedOut} \`aborted\`. ${refusals}`,
      request: { params: idParamSchema },
      responses: {
        200: { description: 'The migration, its abort accepted', content: jsonContent(migrationViewSchema) },
        ...errorResponses(400, 404, 409, 503),
      },
    }),
    async (c) => c.json(await abortMigration(deps, c.req.valid('param').id), 200),
  );

  return app;
}
