import { z } from 'zod';

/**
 * The ScheduleHub HTTP contract (docs/contracts/schedulehub.openapi.yaml), as
 * zod schemas shared by the client (which validates every answer) and the
 * sandbox (which serves them). Records live in resources (`items`,
 * `work-orders`...) and are keyed by bk_hash.
 */
export const healthSchema = z.object({ status: z.literal('ok'), sandbox: z.boolean().optional() });

export const bkHashSchema = z.string().regex(/^[0-9a-f]{8,64}$/, 'lower-case hex');

export const recordInputSchema = z.object({
  bk_hash: bkHashSchema,
  data_hash: z.string().nullable(),
  rowversion: z.string().nullable(),
  ref: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type RecordInput = z.infer<typeof recordInputSchema>;

export const recordSchema = recordInputSchema.extend({
  uid: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type StoredWireRecord = z.infer<typeof recordSchema>;

export const recordListSchema = z.object({ items: z.array(recordSchema) });

export const MAX_BATCH = 1000;
export const MAX_LOOKUP = 500;

export const batchWriteRequestSchema = z.object({ records: z.array(recordInputSchema).min(1).max(MAX_BATCH) });
export const batchDeleteRequestSchema = z.object({ bk_hashes: z.array(bkHashSchema).min(1).max(MAX_BATCH) });

/** created/updated/deleted: done; exists / not_found: the record is not where the operation expects it; rejected: invalid. */
export const recordStatusSchema = z.enum(['created', 'updated', 'deleted', 'exists', 'not_found', 'rejected']);
export type RecordStatus = z.infer<typeof recordStatusSchema>;

export const recordOutcomeSchema = z.object({
  index: z.number().int().nonnegative(),
  bk_hash: z.string(),
  status: recordStatusSchema,
  uid: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type RecordOutcome = z.infer<typeof recordOutcomeSchema>;

export const batchResponseSchema = z.object({
  results: z.array(recordOutcomeSchema),
  succeeded: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
});
export type BatchResponse = z.infer<typeof batchResponseSchema>;

export const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
