import { z } from 'zod';

/** The one error shape both contracts use. */
export const errorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

export const errorBody = (code: string, message: string, details?: unknown) => ({
  error: { code, message, ...(details === undefined ? {} : { details }) },
});

export const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: errorBodySchema } },
});

export const jsonResponse = <T extends z.ZodType>(description: string, schema: T) => ({
  description,
  content: { 'application/json': { schema } },
});

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});

/** Validation failures answer 400 with the fields at fault (used as OpenAPIHono's defaultHook). */
export function validationHook(
  result: { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } },
  c: { json: (body: unknown, status: 400) => Response },
) {
  if (!result.success) {
    const details = result.error?.issues.map((i) => ({ field: i.path.map(String).join('.'), message: i.message }));
    return c.json(errorBody('validation_failed', 'The request is invalid.', details), 400);
  }
}
