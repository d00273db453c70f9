import { z } from '@hono/zod-openapi';

/** The API's view of a store migration (control/migrations.ts's MigrationView): GET /migrations/{id}, GET /entities/{name}. */
const EXAMPLE_ID = '0193a6f4-6c2e-7d3a-9f3e-2b7c1d0e4f5a';

export const MIGRATION_STEPS = ['shadow', 'backfill', 'verify', 'cutover', 'soak', 'retire'] as const;
const stepSchema = z.enum([...MIGRATION_STEPS, 'done']).openapi({ example: 'verify' });

const stepViewSchema = z
  .object({
    step: z.enum(MIGRATION_STEPS).openapi({ example: 'verify' }),
    status: z.enum(['pending', 'running', 'waiting', 'done', 'skipped']).openapi({ example: 'waiting' }),
    startedAt: z.string().nullable().openapi({ example: '2026-12-02T03:12:04.000Z' }),
    finishedAt: z.string().nullable().openapi({ example: null }),
    reconcileUids: z.array(z.string()).openapi({
      example: [EXAMPLE_ID],
      description: 'The reconciles this step ran, the newest 100 (GET /reconcile/{uid}; all: GET /reconcile?entity=)',
    }),
    clean: z.boolean().nullable().openapi({ example: true, description: "The step's last reconcile was clean" }),
    forced: z
      .boolean()
      .openapi({ example: false, description: 'Approved with force although its reconcile was not clean' }),
    note: z.string().nullable().openapi({ example: null }),
    soak: z
      .object({
        endsAt: z.string().openapi({ example: '2026-12-09T03:12:04.000Z', description: 'When the soak ends' }),
        checks: z.number().int().openapi({ example: 12, description: 'Soak reconciles run so far' }),
        allClean: z.boolean().openapi({ example: true }),
        last: z.string().nullable().openapi({ example: 'warehouse_v2 clean; schedulehub clean' }),
      })
      .optional()
      .openapi({ description: 'The soak step only, once it started: where it stands' }),
  })
  .openapi('MigrationStep');

export const targetRoleSchema = z.enum(['primary', 'secondary', 'shadow']);

export const migrationViewSchema = z
  .object({
    id: z.string().openapi({ example: EXAMPLE_ID }),
    entityName: z.string().openapi({ example: 'items' }),
    workflowId: z.string().openapi({ example: 'migrate-items' }),
    from: z.string().openapi({ example: 'schedulehub', description: 'The target the entity moves away from' }),
    to: z.string().openapi({ example: 'warehouse_v2', description: 'The target the entity moves to' }),
    status: z.enum(['running', 'completed', 'rolled_back', 'aborted', 'failed']).openapi({ example: 'running' }),
    step: stepSchema,
    waitingFor: z
      .object({ step: stepSchema, reason: z.enum(['approval', 'clean_reconcile']) })
      .nullable()
      .openapi({
        example: { step: 'cutover', reason: 'approval' },
        description:
          'What the run waits for before it goes on: an approval of a step (POST /migrations/{id}/approve), or a ' +
          'clean reconcile; null when it is not waiting',
      }),
    autoApprove: z.boolean().openapi({ example: false }),
    soakMinutes: z.number().openapi({ example: 60 }),
    soakCheckMinutes: z.number().openapi({ example: 15 }),
    steps: z.array(stepViewSchema),
    roles: z.record(z.string(), targetRoleSchema).openapi({
      example: { schedulehub: 'primary', warehouse_v2: 'shadow' },
      description: "The entity's targets now",
    }),
    requested: z.enum(['rollback', 'abort']).nullable().openapi({
      example: null,
      description:
        "A rollback or abort the run accepted and carries out once the running step's work (a sync, a reconcile) ends",
    }),
    error: z.string().nullable().openapi({ example: null }),
    createdAt: z.string().openapi({ example: '2026-12-02T03:12:00.000Z' }),
    updatedAt: z.string().openapi({ example: '2026-12-02T03:20:41.000Z' }),
  })
  .openapi('Migration', {
    description: "A store migration of one entity, step by step, with the roles of the entity's targets",
  });
