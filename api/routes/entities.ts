import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { stopBackgroundForDeletion } from '../../control/background.ts';
import { unknownEntity } from '../../control/errors.ts';
import { promoteEntity } from '../../control/promotion.ts';
import { deleteSchedules } from '../../control/schedules.ts';
import { backfillTarget } from '../../control/syncs.ts';
import { deleteEntity, entityExists, getEntity, listEntities, saveEntity } from '../../db/entities.ts';
import { activeMigrationOf } from '../../db/migrations.ts';
import { entityTargetState, type LastRetry } from '../../db/target-state.ts';
import type { EntityConfig } from '../../pipeline/entity-config.ts';
import { normalizationLayers } from '../../pipeline/errors.ts';
import { maskPreviewFields, sensitiveFields } from '../../pipeline/mask.ts';
import { createNormalizer } from '../../pipeline/normalize/engine.ts';
import { parseEntityConfig } from '../../pipeline/parse-entity-config.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError, fieldErrors } from '../errors.ts';
import { jsonSafe, readJsonBody, readJsonObject } from '../json-body.ts';
import { patchEntityConfig } from '../merge-patch.ts';
import { access } from '../roles.ts';
import { entityParamSchema, errorResponses, jsonContent } from '../schemas/common.ts';
import { entityConfigBody, entityConfigRef } from '../schemas/entity-config-doc.ts';
import { migrationViewSchema, targetRoleSchema } from '../schemas/migration.ts';
import { syncIsRunning } from '../sync-running.ts';
import { entityView } from '../views.ts';

const entitySchema = z
  .object({
    uid: z.string(),
    name: z.string(),
    mode: z.enum(['dry_run', 'live']),
    enabled: z.boolean(),
    configVersion: z.number().int(),
    config: entityConfigRef,
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Entity', { description: 'A configured entity; inline connector secrets are shown as ***.' });

/** GET /entities/{name}: the entity, its targets' roles and the store migration under way (issue 14). */
const entityDetailSchema = entitySchema
  .extend({
    primary: z.string().nullable().openapi({
      example: 'main',
      description: "The target applications read from (role primary); it changes at a migration's cutover",
    }),
    roles: z.record(z.string(), targetRoleSchema).openapi({
      example: { main: 'primary', main_v2: 'shadow' },
      description: "Each target's role: primary, secondary, or shadow (written by a migration, not to be read yet)",
    }),
    migration: migrationViewSchema.nullable().openapi({
      description: 'The migration of the entity that is running (GET /migrations/{id}); null when none runs',
    }),
  })
  .openapi('EntityDetail', {
    description: "A configured entity with its targets' roles and the store migration under way, if any.",
  });

const MAX_PREVIEW_ROWS = 100;
const previewRequestSchema = z
  .object({
    rows: z
      .array(z.record(z.string(), z.unknown()))
      .min(1)
      .max(MAX_PREVIEW_ROWS, `at most ${MAX_PREVIEW_ROWS} rows`)
      .openapi({ example: [{ PART_NO: ' p-100 ', QTY: '1.234,5', CREATED: '31/12/2024 23:59' }] }),
  })
  .strict()
  .openapi('PreviewRequest');

const fieldErrorSchema = z.object({
  field: z.string(),
  layer: z.string(),
  code: z.string(),
  message: z.string(),
  value: z.unknown(),
});
const layerValues = Object.fromEntries(normalizationLayers.map((layer) => [layer, z.unknown().optional()])) as Record<
  (typeof normalizationLayers)[number],
  z.ZodOptional<z.ZodUnknown>
>;
const previewResponseSchema = z
  .object({
    entity: z.string(),
    layers: z.array(z.string()).openapi({ example: [...normalizationLayers] }),
    metrics: z.object({ rows: z.number(), successful: z.number(), failed: z.number(), successRate: z.number() }),
    rows: z.array(
      z.object({
        index: z.number().int(),
        ok: z.boolean(),
        fields: z.record(
          z.string(),
          z.object({ source: z.unknown(), ...layerValues, error: fieldErrorSchema.optional() }),
        ),
      }),
    ),
  })
  .openapi('PreviewResult', {
    description: 'Per row and target field: the source value and the output of each normalization layer in order.',
  });

const count = (example: number, description: string) => z.number().int().openapi({ example, description });
const targetStateSchema = z
  .object({
    name: z.string().openapi({ example: 'copy' }),
    type: z.string().openapi({ example: 'postgres' }),
    role: z.enum(['primary', 'secondary', 'shadow']).openapi({ example: 'secondary' }),
    synced: count(11_842, 'Identity-store rows the target acknowledged (not deleted)'),
    pending: count(0, 'Identity-store rows written before the target acknowledged them'),
    failed: count(7, "Identity-store rows whose last write to the target failed (the target's own failures)"),
    deleted: count(12, 'Identity-store rows deleted at the target (deleted_at set), apart from the three above'),
    abandoned: count(2, 'Unresolved DLQ rows of this target that used up their replays: never retried automatically'),
    deadLetters: count(5, 'Unresolved DLQ rows of this target still to be retried (not abandoned)'),
  })
  .openapi('TargetState');

const nullableCount = (example: number) => z.number().int().nullable().openapi({ example });
const lastRetrySchema = z
  .object({
    batchUid: z.string().openapi({ example: '0193a6f4-6c2e-7d3a-9f3e-2b7c1d0e4f5a' }),
    status: z.string().openapi({ example: 'completed' }),
    dryRun: z.boolean().openapi({ example: false, description: 'A dry run: `replay.preview` holds its prediction' }),
    startedAt: z.string().nullable().openapi({ example: '2026-12-01T23:00:00.120Z' }),
    completedAt: z.string().nullable().openapi({ example: '2026-12-01T23:00:04.871Z' }),
    inserted: z.number().int().openapi({ example: 1 }),
    updated: z.number().int().openapi({ example: 2 }),
    skipped: z.number().int().openapi({ example: 0 }),
    failed: z.number().int().openapi({ example: 5 }),
    replay: z
      .object({
        trigger: z.enum(['operator', 'retry']).nullable().openapi({ example: 'retry' }),
        selected: nullableCount(8),
        resolved: nullableCount(3),
        failedAgain: nullableCount(5),
        abandoned: nullableCount(2),
        preview: z
          .object({ wouldResolve: nullableCount(3), wouldWait: nullableCount(0), wouldFail: nullableCount(5) })
          .nullable()
          .openapi({ description: "A dry run's prediction; null for a replay that ran" }),
      })
      .nullable()
      .openapi({
        description: "The batch's `metrics.replay` (each figure null when absent); null when the batch has none",
      }),
  })
  .nullable()
  .openapi('LastRetryPass', {
    description: "The entity's newest `replay` batch (an operator's replay or an automatic retry pass); null if none",
  });

const targetStatesSchema = z
  .object({
    entity: z.string().openapi({ example: 'items' }),
    targets: z.array(targetStateSchema).openapi({ description: "The configuration's targets, primary first" }),
    lastRetry: lastRetrySchema,
  })
  .openapi('EntityTargets', {
    description:
      "Per target of the entity's configuration: the identity store's rows by status and the DLQ rows for it; and the last retry pass.",
    example: {
      entity: 'items',
      targets: [
        {
          name: 'main',
          type: 'postgres',
          role: 'primary',
          synced: 11_849,
          pending: 0,
          failed: 0,
          deleted: 12,
          abandoned: 0,
          deadLetters: 0,
        },
        {
          name: 'copy',
          type: 'postgres',
          role: 'secondary',
          synced: 11_842,
          pending: 0,
          failed: 7,
          deleted: 12,
          abandoned: 2,
          deadLetters: 5,
        },
      ],
      lastRetry: {
        batchUid: '0193a6f4-6c2e-7d3a-9f3e-2b7c1d0e4f5a',
        status: 'completed',
        dryRun: false,
        startedAt: '2026-12-01T23:00:00.120Z',
        completedAt: '2026-12-01T23:00:04.871Z',
        inserted: 0,
        updated: 3,
        skipped: 0,
        failed: 5,
        replay: { trigger: 'retry', selected: 8, resolved: 3, failedAgain: 5, abandoned: 2, preview: null },
      },
    },
  });

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const lastRetryJson = (r: LastRetry | null) =>
  r && { ...r, startedAt: iso(r.startedAt), completedAt: iso(r.completedAt) };

/** parseEntityConfig's problems → the 400 of the error shape, every path named. */
function parsedOrThrow(input: unknown): EntityConfig {
  const parsed = parseEntityConfig(input);
  if (parsed.ok) return parsed.config;
  throw new ApiError(
    400,
    'validation_failed',
    'The entity configuration is invalid.',
    parsed.errors.map((e) => ({ field: e.path, message: e.message })),
  );
}

/** A replaced or patched configuration keeps the entity's name: another name is a 400. */
function namedAsPath(config: Record<string, unknown>, name: string): Record<string, unknown> {
  if (config.name !== name) {
    throw new ApiError(400, 'validation_failed', 'The request is invalid.', [
      { field: 'name', message: `must be "${name}", the entity named in the path (or left out)` },
    ]);
  }
  return config;
}

const mergePatchSchema = z.record(z.string(), z.unknown()).openapi('EntityMergePatch', {
  description: 'A JSON merge patch (RFC 7396) of an entity configuration',
  example: { deletePolicy: 'soft' },
});

async function existing(deps: ApiDeps, name: string) {
  const entity = await getEntity(deps.prisma, name);
  if (!entity) throw unknownEntity(name);
  return entity;
}

/** For PUT and DELETE, which also serve an entity whose stored configuration this version cannot read. */
async function mustExist(deps: ApiDeps, name: string): Promise<void> {
  if (!(await entityExists(deps.prisma, name))) throw unknownEntity(name);
}

const tags = ['Entities'];

const targetParamSchema = entityParamSchema.extend({
  // Any name up to 100 characters: one the entity does not have is a 404 naming it, not a 400.
  target: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: 'target', in: 'path' }, example: 'copy' }),
});
const backfillStartedSchema = z
  .object({
    target: z.string(),
    batch: z.object({
      batchUid: z.string(),
      workflowId: z.string(),
      entityName: z.string(),
      dryRun: z.boolean(),
      syncType: z.literal('full'),
    }),
  })
  .openapi('BackfillStarted', {
    example: {
      target: 'copy',
      batch: {
        batchUid: '0193a6f4-6c2e-7d3a-9f3e-2b7c1d0e4f5a',
        workflowId: 'sync-items',
        entityName: 'items',
        dryRun: false,
        syncType: 'full',
      },
    },
  });

/**
 * Entity configuration: list, create, read, replace, patch, delete, preview the normalization, promote to live;
 * and each target's state (records by status, DLQ, last retry pass).
 */
export function entityRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono();

  app.openapi(
    createRoute({
      method: 'get',
      path: '/entities',
      ...access('read'),
      tags,
      summary: 'List entities',
      responses: {
        200: { description: 'Every entity', content: jsonContent(z.object({ entities: z.array(entitySchema) })) },
        ...errorResponses(503),
      },
    }),
    async (c) => c.json({ entities: (await listEntities(deps.prisma)).map(entityView) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/entities',
      ...access('configure'),
      tags,
      summary: 'Create an entity (starts in dry-run)',
      request: { body: entityConfigBody },
      responses: {
        201: { description: 'Created', content: jsonContent(entitySchema) },
        ...errorResponses(400, 409, 413, 503),
      },
    }),
    async (c) => {
      const config = parsedOrThrow(await readJsonBody(c));
      if (await getEntity(deps.prisma, config.name)) {
        throw new ApiError(409, 'entity_exists', `An entity named "${config.name}" exists; use PUT to replace it.`, {
          entity: config.name,
        });
      }
      return c.json(entityView(await saveEntity(deps.prisma, config)), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/entities/{name}',
      ...access('read'),
      tags,
      summary: "Get an entity, its targets' roles and the store migration under way",
      request: { params: entityParamSchema },
      responses: {
        200: { description: 'The entity', content: jsonContent(entityDetailSchema) },
        ...errorResponses(400, 404, 503),
      },
    }),
    async (c) => {
      const entity = await existing(deps, c.req.valid('param').name);
      const { targets } = entity.config;
      return c.json(
        {
          ...entityView(entity),
          primary: targets.find((t) => t.role === 'primary')?.name ?? null,
          roles: Object.fromEntries(targets.map((t) => [t.name, t.role])),
          migration: await activeMigrationOf(deps.prisma, entity.name),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/entities/{name}/targets',
      ...access('read'),
      tags,
      summary: "Per-target state: the identity store's records by status, DLQ and abandoned records, last retry pass",
      description:
        "For each target of the entity's configuration (primary first): its identity-store rows by status (`synced`, `pending`, `failed`, with deleted rows apart as `deleted`), its unresolved dead letters (`deadLetters`) and those abandoned after their last replay (`abandoned`); and the entity's newest `replay` batch. Records that failed before reaching any target (normalize, validate, …) belong to no target: see GET /monitoring/failed-records.",
      request: { params: entityParamSchema },
      responses: {
        200: { description: 'Each target and the last retry pass', content: jsonContent(targetStatesSchema) },
        ...errorResponses(400, 404, 503),
      },
    }),
    async (c) => {
      const entity = await existing(deps, c.req.valid('param').name);
      const { targets, lastRetry } = await entityTargetState(deps.prisma, entity);
      return c.json({ entity: entity.name, targets, lastRetry: lastRetryJson(lastRetry) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/entities/{name}',
      ...access('configure'),
      tags,
      summary: 'Replace an entity configuration (keeps its mode, bumps its config version)',
      request: { params: entityParamSchema, body: entityConfigBody },
      responses: {
        200: { description: 'Replaced', content: jsonContent(entitySchema) },
        ...errorResponses(400, 404, 413, 503),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const config = parsedOrThrow(namedAsPath({ name, ...(await readJsonObject(c)) }, name));
      await mustExist(deps, name);
      return c.json(entityView(await saveEntity(deps.prisma, config)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/entities/{name}',
      ...access('configure'),
      tags,
      summary: 'Change part of an entity configuration with a JSON merge patch (validated like a PUT)',
      description:
        'RFC 7396: members of the patch replace those of the stored configuration, objects merge, `null` removes a member, arrays are replaced whole; `fields` may also be an object keyed by target name, which patches just those fields (`null` removes one, a new name adds one). The result is validated like a PUT, keeps the mode and bumps the config version.',
      request: {
        params: entityParamSchema,
        body: {
          required: true,
          content: {
            'application/merge-patch+json': { schema: mergePatchSchema },
            'application/json': { schema: mergePatchSchema },
          },
        },
      },
      responses: {
        200: { description: 'Changed', content: jsonContent(entitySchema) },
        ...errorResponses(400, 404, 413, 503),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const patch = await readJsonObject(c);
      const stored = await existing(deps, name);
      const patched = patchEntityConfig(stored.config as unknown as Record<string, unknown>, patch);
      const config = parsedOrThrow(namedAsPath(patched as Record<string, unknown>, name));
      return c.json(entityView(await saveEntity(deps.prisma, config)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/entities/{name}',
      ...access('configure'),
      tags,
      summary: 'Delete an entity configuration (batches, DLQ and identity records stay for audit)',
      request: { params: entityParamSchema },
      responses: { 204: { description: 'Deleted' }, ...errorResponses(400, 404, 409, 503) },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      await mustExist(deps, name);
      // A background load under way stops first, its night's batch included (its row goes with the entity).
      await stopBackgroundForDeletion(deps, name);
      if (await syncIsRunning(deps.temporal, name)) {
        throw new ApiError(409, 'sync_running', `A sync of "${name}" is running; stop it before deleting the entity.`);
      }
      // Its recurring syncs go with it (Temporal Schedules: control/schedules.ts), first: none outlives it.
      await deleteSchedules(deps, name);
      await deleteEntity(deps.prisma, name);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/entities/{name}/preview',
      ...access('recordData'),
      tags,
      summary: 'Normalize sample rows and show every layer per field (nothing is written; sensitive fields are ***)',
      request: { params: entityParamSchema, body: { required: true, content: jsonContent(previewRequestSchema) } },
      responses: {
        200: { description: 'Every layer per field', content: jsonContent(previewResponseSchema) },
        ...errorResponses(400, 404, 413, 503),
      },
    }),
    async (c) => {
      const entity = await existing(deps, c.req.valid('param').name);
      // The validator parsed the body with JSON.parse (rounding integers beyond 2^53): read it again, exactly.
      const exact = previewRequestSchema.safeParse(await readJsonBody(c));
      if (!exact.success) {
        throw new ApiError(400, 'validation_failed', 'The request is invalid.', fieldErrors(exact.error.issues));
      }
      const { rows } = exact.data;
      const result = createNormalizer(entity.config).normalizeRows(rows, { trackStages: true });
      const failedIndexes = new Set(result.failed.map((f) => f.index));
      const sensitive = sensitiveFields(entity.config);
      const body = {
        entity: entity.name,
        layers: [...normalizationLayers],
        metrics: result.metrics,
        rows: (result.stages ?? []).map((fields, index) => ({
          index,
          ok: !failedIndexes.has(index),
          fields: maskPreviewFields(fields as unknown as Record<string, Record<string, unknown>>, sensitive),
        })),
      };
      return c.json(jsonSafe(body) as z.infer<typeof previewResponseSchema>, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/entities/{name}/targets/{target}/backfill',
      ...access('control'),
      tags,
      summary: 'Backfill one target from the source: a full sync of the entity, by upsert, never emptying a target',
      description:
        "DELTA decides per target from that target's own identity rows, so the full sync sends the named target " +
        'everything it lacks (a new or emptied target) and every other target only what it lacks. Started as ' +
        "POST /sync/start starts a full sync (409 while a sync of the entity runs; the entity's mode decides " +
        'whether it writes). 404 `target_not_found` for a target the entity does not have.',
      request: { params: targetParamSchema },
      responses: {
        202: { description: 'The full sync started', content: jsonContent(backfillStartedSchema) },
        ...errorResponses(400, 404, 409, 503),
      },
    }),
    async (c) => {
      const { name, target } = c.req.valid('param');
      const batch = await backfillTarget(deps, name, target);
      return c.json({ target, batch: { ...batch, syncType: 'full' as const } }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/entities/{name}/promote',
      ...access('configure'),
      tags,
      summary: 'Promote an entity from dry-run to live (its syncs then write to the targets)',
      description:
        'With `promoteRequiresCleanReconcile` in its configuration, only on a clean reconcile of every target finished after the configuration last changed; otherwise 409 `parity_not_proven`, naming the counts that were not zero.',
      request: { params: entityParamSchema },
      responses: {
        200: { description: 'The entity, now live', content: jsonContent(entitySchema) },
        ...errorResponses(400, 404, 409, 503),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      return c.json(entityView(await promoteEntity(deps, name)), 200);
    },
  );

  return app;
}
