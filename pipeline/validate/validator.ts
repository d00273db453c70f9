import type { EntityConfig } from '../entity-config.js';
import { type FieldError, withError } from '../errors.js';
import { type FailedRow, metricsOf, type NormalizedRow, type StageMetrics } from '../normalize/engine.js';
import { compileFieldCheck } from './compiled-validator.js';
import { fieldContracts } from './field-contract.js';
import { buildRowSchema, zodRowErrors } from './zod-validator.js';

/**
 * VALIDATE stage: every normalized row against the entity's contract
 * (required, types, ranges, rules). Failing rows carry field-level errors for
 * the DLQ; the rest go on. `engine: 'zod'` runs the zod schema instead of the
 * compiled checks (same contract, slower: kept for comparison and tests).
 */
export interface ValidationResult {
  valid: NormalizedRow[];
  failed: FailedRow[];
  metrics: StageMetrics;
}
export interface RowValidator {
  validateRow(values: Readonly<Record<string, unknown>>): FieldError[] | undefined;
  validateRows(rows: readonly NormalizedRow[]): ValidationResult;
}

export function createRowValidator(entity: EntityConfig, options: { engine?: 'compiled' | 'zod' } = {}): RowValidator {
  const contracts = fieldContracts(entity);
  let validateRow: RowValidator['validateRow'];
  if (options.engine === 'zod') {
    const schema = buildRowSchema(contracts);
    validateRow = (values) => zodRowErrors(schema, values);
  } else {
    const checks = contracts.map((c) => ({ field: c.field, check: compileFieldCheck(c) }));
    validateRow = (values) => {
      let errors: FieldError[] | undefined;
      for (let i = 0; i < checks.length; i++) {
        const error = checks[i]!.check(values[checks[i]!.field]);
        if (error) errors = withError(errors, error);
      }
      return errors;
    };
  }
  return {
    validateRow,
    validateRows(rows) {
      const valid: NormalizedRow[] = [];
      const failed: FailedRow[] = [];
      for (const row of rows) {
        const errors = validateRow(row.values);
        if (errors) failed.push({ index: row.index, values: row.values, errors });
        else valid.push(row);
      }
      return { valid, failed, metrics: metricsOf(rows.length, failed.length) };
    },
  };
}
