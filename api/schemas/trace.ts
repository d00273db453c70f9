import { z } from '@hono/zod-openapi';
import { normalizationLayers } from '../../pipeline/errors.ts';
import { entityParamSchema } from './common.ts';

/** The schemas of GET /entities/{name}/records/{key}: the trace of one record (api/routes/records.ts). */

const MAX_KEY_LENGTH = 2000;

export const recordParamSchema = entityParamSchema.extend({
  key: z
    .string()
    .min(1)
    .max(MAX_KEY_LENGTH, `at most ${MAX_KEY_LENGTH} characters`)
    .openapi({
      param: { name: 'key', in: 'path' },
      description:
        "The record: its bk_hash (32 hex characters) or its business key as read from the source, `field=value|…` (each of the entity's business-key fields once, any order; `\\`, `|` and `=` in a value escaped by a backslash; URL-encoded)",
      example: 'part_no=p-100|plant=DE01',
    }),
});

const recordDataNote = (what: string) => `${what}; null unless the key is operator or admin (sensitive fields ***)`;

const decisionSchema = z.object({
  operation: z.enum(['INSERT', 'UPDATE', 'SKIP', 'DELETE']),
  reason: z.string().openapi({ example: 'data_changed' }),
});

const storedSchema = z
  .object({
    bkHash: z.string(),
    dataHash: z.string(),
    sourceHash: z.string().nullable(),
    rowversion: z.string().nullable(),
    refStr: z.string().nullable(),
    targetUid: z.string().nullable(),
    syncStatus: z.string().openapi({ description: 'pending | synced | failed' }),
    syncError: z.string().nullable(),
    attempts: z.number().int(),
    lastAttemptAt: z.string().nullable(),
    lastBatchUid: z.string().nullable(),
    syncedAt: z.string().nullable(),
    deletedAt: z.string().nullable(),
  })
  .openapi('TraceStoredIdentity', { description: "The identity store's row of the record for one target" });

const deadLetterSchema = z
  .object({
    uid: z.string(),
    batchUid: z.string(),
    bkHash: z.string().nullable(),
    refStr: z.string().nullable(),
    sourceKey: z.string().nullable(),
    targetName: z.string().nullable(),
    stage: z.string(),
    errorType: z.string(),
    errorMessage: z.string(),
    errorDetails: z.unknown().openapi({ description: 'Field errors; their `value`s only for operator and admin keys' }),
    retryCount: z.number().int(),
    maxRetries: z.number().int(),
    nextRetryAt: z.string().nullable(),
    attempts: z.unknown().openapi({
      description:
        'Every replay: [{ at, batchUid, outcome, errors: [{ stage, target, errorType, message }] }] (messages only for operator and admin keys)',
    }),
    resolvedAt: z.string().nullable(),
    resolution: z.string().nullable().openapi({ description: 'landed | superseded | unchanged' }),
    resolvedBatchUid: z.string().nullable(),
    abandonedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('TraceDeadLetter', {
    description: 'A dead letter of the record (its forms: GET /monitoring/failed-records/{uid})',
  });

const waitingSchema = z
  .object({
    uid: z.string(),
    batchUid: z.string(),
    parentEntity: z.string(),
    parentBkHash: z.string(),
    parentRefStr: z.string().nullable(),
    status: z.string().openapi({ description: 'waiting | releasing | released | superseded | dead_lettered' }),
    retryCount: z.number().int(),
    maxRetries: z.number().int(),
    nextRetryAt: z.string().nullable(),
    lastError: z.string().nullable(),
    releasedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('TraceWaiting', { description: 'The record as a child waiting (or having waited) for its parent' });

export const recordTraceSchema = z
  .object({
    entity: z.string(),
    mode: z.enum(['dry_run', 'live']),
    recordData: z.boolean().openapi({ description: 'Whether record data is shown (operator and admin keys)' }),
    key: z.object({
      input: z.string(),
      form: z.enum(['bk_hash', 'business_key']),
      bkHash: z.string().nullable().openapi({ description: 'Given, or computed as the pipeline computes it' }),
      sourceKey: z.string().nullable().openapi({ description: 'The business key as read from the source' }),
      reference: z.string().nullable(),
    }),
    source: z.object({
      type: z.string(),
      readable: z.boolean().openapi({ description: 'Whether this source can look a row up by key (PostgreSQL)' }),
      reason: z.string().nullable().openapi({ description: 'Why no source row is shown; null when one is' }),
      keyFrom: z.enum(['input', 'dead_letter', 'reference']).nullable(),
      lookedUp: z.array(z.object({ column: z.string(), value: z.string() })).nullable(),
      rowsFound: z.number().int().nullable().openapi({ description: 'At most 2 are read: 2 means not unique' }),
      row: z.unknown().openapi({ description: recordDataNote('The source row now') }),
    }),
    pipeline: z
      .object({
        failedAt: z.enum(['normalize', 'map', 'validate']).nullable(),
        layers: z.array(z.string()).openapi({ example: [...normalizationLayers] }),
        fields: z
          .record(z.string(), z.record(z.string(), z.unknown()))
          .nullable()
          .openapi({
            description: recordDataNote(
              'Per target field, as the preview shows it: `source`, then each layer of `layers` in order, and `error`',
            ),
          }),
        normalized: z.unknown().openapi({ description: recordDataNote('The normalized values') }),
        errors: z.unknown().openapi({ description: 'The field errors of NORMALIZE, MAP or VALIDATE' }),
        mapped: z.unknown().openapi({ description: recordDataNote('The record as mapped for the targets') }),
        identity: z
          .object({
            bkHash: z.string(),
            dataHash: z.string(),
            rowversion: z.string().nullable(),
            reference: z.string(),
          })
          .nullable(),
        bkHash: z.string().nullable(),
        sourceKey: z.string().nullable(),
      })
      .nullable()
      .openapi({ description: 'The source row through NORMALIZE, VALIDATE, MAP and IDENTITY; null without one' }),
    targets: z.array(
      z.object({
        name: z.string(),
        role: z.enum(['primary', 'secondary', 'shadow']),
        decision: decisionSchema.nullable().openapi({
          description: "DELTA's decision against this target's identity-store row now; null without a mapped record",
        }),
        sourceUnchanged: z.boolean().nullable().openapi({
          description:
            "The source row's hash equals the one stored for this target: a sync sets the row aside before NORMALIZE (checked on the primary)",
        }),
        stored: storedSchema.nullable(),
      }),
    ),
    deadLetters: z.object({
      records: z.array(deadLetterSchema).openapi({ description: 'Newest first, by bk_hash or source key' }),
      limit: z.number().int(),
      more: z.boolean(),
    }),
    waiting: z.array(waitingSchema),
  })
  .openapi('RecordTrace', {
    description:
      "One record: the source row now, each normalization layer's output, validation, mapping and identity, the delta decision per target, what each target holds, its dead letters and waiting rows.",
    example: {
      entity: 'items',
      mode: 'live',
      recordData: true,
      key: {
        input: 'part_no=p-100|plant=DE01',
        form: 'business_key',
        bkHash: '5f0c6e7e1b9a4d2c8e3f1a0b2c4d6e8f',
        sourceKey: 'part_no=p-100|plant=DE01',
        reference: 'items[part_no=P-100|plant=DE01]',
      },
      source: {
        type: 'postgres',
        readable: true,
        reason: null,
        keyFrom: 'input',
        lookedUp: [
          { column: 'part_no', value: 'p-100' },
          { column: 'plant', value: 'DE01' },
        ],
        rowsFound: 1,
        row: { part_no: 'p-100', plant: 'DE01', descr: ' Bolt ', row_version: '42' },
      },
      pipeline: {
        failedAt: null,
        layers: [...normalizationLayers],
        fields: {
          part_no: {
            source: 'p-100',
            types: 'p-100',
            strings: 'P-100',
            numbers: 'P-100',
            dates: 'P-100',
            mapping: 'P-100',
          },
        },
        normalized: { part_no: 'P-100', plant: 'DE01', description: 'Bolt', rv: 42 },
        errors: [],
        mapped: { part_no: 'P-100', plant: 'DE01', description: 'Bolt', rv: 42 },
        identity: {
          bkHash: '5f0c6e7e1b9a4d2c8e3f1a0b2c4d6e8f',
          dataHash: '9a1c7d0e5b3f2a4c6e8d0b1a3c5e7f9a1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a',
          rowversion: '42',
          reference: 'items[part_no=P-100|plant=DE01]',
        },
        bkHash: '5f0c6e7e1b9a4d2c8e3f1a0b2c4d6e8f',
        sourceKey: 'part_no=p-100|plant=DE01',
      },
      targets: [
        {
          name: 'main',
          role: 'primary',
          decision: { operation: 'UPDATE', reason: 'rowversion_newer' },
          sourceUnchanged: false,
          stored: {
            bkHash: '5f0c6e7e1b9a4d2c8e3f1a0b2c4d6e8f',
            dataHash: '3e5b7d9f1a9a1c7d0e5b3f2a4c6e8d0b1a3c5e7f9a1b3d5f7a9c1e3b5d7f9a1c',
            sourceHash: '0b2c4d6e8f5f0c6e7e1b9a4d2c8e3f1a',
            rowversion: '41',
            refStr: 'items[part_no=P-100|plant=DE01]',
            targetUid: '5f0c6e7e1b9a4d2c8e3f1a0b2c4d6e8f',
            syncStatus: 'synced',
            syncError: null,
            attempts: 1,
            lastAttemptAt: '2026-12-01T18:00:03.512Z',
            lastBatchUid: '0193a6f4-6c2e-7d3a-9f3e-2b7c1d0e4f5a',
            syncedAt: '2026-12-01T18:00:03.512Z',
            deletedAt: null,
          },
        },
      ],
      deadLetters: { records: [], limit: 50, more: false },
      waiting: [],
    },
  });
