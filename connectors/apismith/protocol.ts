import { z } from 'zod';

/**
 * The APISmith HTTP contract (docs/contracts/apismith.openapi.yaml), as zod
 * schemas: the client validates every answer with them, the sandbox serves
 * them. Wire names are snake_case as APISmith writes them.
 */
export const healthSchema = z.object({ status: z.literal('ok'), sandbox: z.boolean().optional() });

export const connectorSchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.string(),
  status: z.enum(['active', 'inactive']),
});
export const connectorListSchema = z.object({ items: z.array(connectorSchema) });

export const apiSummarySchema = z.object({
  slug: z.string(),
  name: z.string(),
  connector_id: z.string(),
  description: z.string().nullable(),
});
export const apiListSchema = z.object({ items: z.array(apiSummarySchema) });

export const apiColumnSchema = z.object({
  name: z.string(),
  /** The ERP's own type name, e.g. VARCHAR2(40), NUMBER(12,2), DATE. */
  type: z.string(),
  nullable: z.boolean(),
});
export const apiDetailSchema = apiSummarySchema.extend({
  columns: z.array(apiColumnSchema),
  /** Columns that order the API's rows uniquely (the ERP table's primary key). */
  key_columns: z.array(z.string()).min(1),
  /** A column bumped on every change (SQL Server rowversion, Oracle ORA_ROWSCN); null when the API has none. */
  rowversion_column: z.string().nullable(),
  estimated_row_count: z.number().int().nonnegative().nullable(),
  /**
   * The highest rowversion now in the table (decimal text), null when empty or without one. A full sync
   * starts from it so the next incremental read skips what the full read saw. Optional: without it the
   * first incremental after a full sync reads every row and the delta skips the unchanged ones.
   */
  max_rowversion: z.string().nullable().optional(),
});
export type ApiDetail = z.infer<typeof apiDetailSchema>;

export const executeRequestSchema = z.object({
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  page_size: z.number().int().min(1).max(10_000),
  /** null/absent: the first page; otherwise the previous page's `next_cursor`, untouched. */
  cursor: z.string().nullable().optional(),
  /** Order by these columns (the API's key columns are appended so the order is total). */
  order_by: z.array(z.string()).optional(),
  /** Incremental read: only rows whose rowversion is above this value, ordered by (rowversion, order_by). */
  rowversion_above: z.string().nullable().optional(),
});
export type ExecuteRequest = z.infer<typeof executeRequestSchema>;

export const executeResponseSchema = z.object({
  data: z.array(z.record(z.string(), z.unknown())),
  pagination: z.object({
    next_cursor: z.string().nullable(),
    has_more: z.boolean(),
    page_size: z.number().int(),
  }),
});
export type ExecuteResponse = z.infer<typeof executeResponseSchema>;

export const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
