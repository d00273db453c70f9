import type { FieldError } from '../errors.js';
import { codePointLength, type FieldContract, kindShapes } from './field-contract.js';

/**
 * The VALIDATE stage as plain closures: one check per field chosen at build
 * time. Chosen over the zod schema for the hot path because it is several
 * times faster on the same rows (figures in docs/pipeline.md); the zod schema
 * stays as the readable statement of the same contract and a test keeps the
 * two in agreement.
 */
export type ValueCheck = (value: unknown) => FieldError | undefined;

const fail = (contract: FieldContract, code: string, message: string, value: unknown): FieldError => ({
  field: contract.field,
  layer: 'validation',
  code,
  message,
  value,
});

function typeCheck(contract: FieldContract): (value: unknown) => boolean {
  switch (contract.kind) {
    case 'string':
    case 'json':
      return (v) => typeof v === 'string';
    case 'integer':
      return (v) =>
        typeof v === 'number' ? Number.isInteger(v) : typeof v === 'string' && kindShapes.integerText.test(v);
    case 'number':
      return (v) =>
        typeof v === 'number' ? Number.isFinite(v) : typeof v === 'string' && kindShapes.decimalText.test(v);
    case 'date':
      return (v) => typeof v === 'string' && kindShapes.date.test(v);
    case 'timestamp':
      return (v) => typeof v === 'string' && kindShapes.timestamp.test(v);
    case 'boolean':
      return (v) => typeof v === 'boolean';
    case 'binary':
      return (v) => typeof v === 'string' && kindShapes.hex.test(v);
  }
}

/** Checks one non-null scalar: type, range, rules. */
function scalarCheck(contract: FieldContract): ValueCheck {
  const hasType = typeCheck(contract);
  const { min, max, rules, pattern } = contract;
  const oneOf = rules?.oneOf ? new Set<unknown>(rules.oneOf) : undefined;
  return (value) => {
    if (!hasType(value)) return fail(contract, 'invalid_type', `not a valid ${contract.kind}`, value);
    if (min !== undefined || max !== undefined) {
      const n = Number(value);
      if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
        return fail(contract, 'out_of_range', `outside [${min ?? '-∞'}, ${max ?? '∞'}]`, value);
      }
    }
    if (oneOf && !oneOf.has(value)) return fail(contract, 'not_allowed', 'not one of the allowed values', value);
    if (typeof value === 'string' && rules) {
      if (pattern && !pattern.test(value)) {
        const message =
          value.length > pattern.maxValueLength
            ? `longer than ${pattern.maxValueLength} characters: not matched against ${pattern.source}`
            : `does not match ${pattern.source}`;
        return fail(contract, 'pattern', message, value);
      }
      if (rules.minLength !== undefined || rules.maxLength !== undefined) {
        const length = codePointLength(value);
        if (rules.minLength !== undefined && length < rules.minLength) {
          return fail(contract, 'too_short', `shorter than ${rules.minLength}`, value);
        }
        if (rules.maxLength !== undefined && length > rules.maxLength) {
          return fail(contract, 'too_long', `longer than ${rules.maxLength}`, value);
        }
      }
    }
    return undefined;
  };
}

export function compileFieldCheck(contract: FieldContract): ValueCheck {
  const checkScalar = scalarCheck(contract);
  const check: ValueCheck = contract.list
    ? (value) => {
        if (!Array.isArray(value) || value.length === 0)
          return fail(contract, 'invalid_type', 'not a non-empty list', value);
        for (const item of value) {
          const error = item === null ? fail(contract, 'invalid_type', 'a null list item', value) : checkScalar(item);
          if (error) return error;
        }
        return undefined;
      }
    : checkScalar;
  return (value) => {
    if (value === null || value === undefined) {
      return contract.required ? fail(contract, 'required', `${contract.field} is required`, null) : undefined;
    }
    return check(value);
  };
}
