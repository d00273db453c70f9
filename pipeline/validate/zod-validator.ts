import { z } from 'zod';
import type { FieldError } from '../errors.js';
import { codePointLength, type FieldContract, kindShapes } from './field-contract.js';

/**
 * The same contract as compiled-validator.ts, stated as a zod schema built
 * from the entity config: readable, usable for documentation (OpenAPI), and
 * the reference the compiled validator is tested against. Kept out of the
 * hot path for speed (see docs/pipeline.md for the measurement).
 */
const withCode = (code: string) => ({ params: { code }, message: code });

function scalarSchema(contract: FieldContract): z.ZodType {
  let schema: z.ZodType;
  switch (contract.kind) {
    case 'string':
    case 'json':
      schema = z.string();
      break;
    case 'integer':
      // Not z.number().int(): that stops at 2^53, and an integer a double holds exactly (1e21) is normalized
      // to a number; the compiled check (Number.isInteger) accepts it too.
      schema = z.union([
        z.number().refine(Number.isInteger, withCode('invalid_type')),
        z.string().regex(kindShapes.integerText),
      ]);
      break;
    case 'number':
      schema = z.union([z.number(), z.string().regex(kindShapes.decimalText)]);
      break;
    case 'date':
      schema = z.string().regex(kindShapes.date);
      break;
    case 'timestamp':
      schema = z.string().regex(kindShapes.timestamp);
      break;
    case 'boolean':
      schema = z.boolean();
      break;
    case 'binary':
      schema = z.string().regex(kindShapes.hex);
      break;
  }
  const { min, max, rules, pattern } = contract;
  if (min !== undefined || max !== undefined) {
    schema = schema.refine((v) => {
      const n = Number(v);
      return !((min !== undefined && n < min) || (max !== undefined && n > max));
    }, withCode('out_of_range'));
  }
  if (rules?.oneOf) {
    const allowed = new Set<unknown>(rules.oneOf);
    schema = schema.refine((v) => allowed.has(v), withCode('not_allowed'));
  }
  if (pattern) schema = schema.refine((v) => typeof v !== 'string' || pattern.test(v), withCode('pattern'));
  if (rules?.minLength !== undefined) {
    const minLength = rules.minLength;
    schema = schema.refine((v) => typeof v !== 'string' || codePointLength(v) >= minLength, withCode('too_short'));
  }
  if (rules?.maxLength !== undefined) {
    const maxLength = rules.maxLength;
    schema = schema.refine((v) => typeof v !== 'string' || codePointLength(v) <= maxLength, withCode('too_long'));
  }
  return schema;
}

function fieldSchema(contract: FieldContract): z.ZodType {
  const value = contract.list ? z.array(scalarSchema(contract)).min(1) : scalarSchema(contract);
  return contract.required ? value : value.nullable().optional();
}

export function buildRowSchema(contracts: readonly FieldContract[]) {
  return z.object(Object.fromEntries(contracts.map((c) => [c.field, fieldSchema(c)])));
}

function codeOf(issue: z.core.$ZodIssue, value: unknown): string {
  if (issue.code === 'custom') return String((issue.params as { code?: string } | undefined)?.code ?? 'invalid');
  if (issue.code === 'invalid_type' && issue.path.length === 1 && (value === null || value === undefined))
    return 'required';
  return 'invalid_type';
}

/** Field errors (the first per field) of one row, in the shape the compiled validator gives. */
export function zodRowErrors(
  schema: ReturnType<typeof buildRowSchema>,
  values: Readonly<Record<string, unknown>>,
): FieldError[] | undefined {
  const parsed = schema.safeParse(values);
  if (parsed.success) return undefined;
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  for (const issue of parsed.error.issues) {
    const field = String(issue.path[0]);
    if (seen.has(field)) continue;
    seen.add(field);
    const value = values[field];
    errors.push({
      field,
      layer: 'validation',
      code: codeOf(issue, value),
      message: issue.message,
      value: value ?? null,
    });
  }
  return errors;
}
