import type { EntityConfig } from '../entity-config.js';
import { type FieldError, type NormalizationLayer, normalizationLayers, Rejection, withError } from '../errors.js';
import { type RowProblem, rowProblemsOf } from '../row-problems.js';
import { buildFieldPlans, type FieldPlan } from './field-plan.js';

/**
 * NORMALIZE stage: the five layers of SPEC.md for every field of every row.
 * Never throws: a rejected value becomes a FieldError and the row fails, the
 * other rows go on. Row positions (`index`) refer to the input array so the
 * caller can put the raw row next to its errors in the DLQ.
 */
export type SourceRow = Record<string, unknown>;
export type NormalizedValues = Record<string, unknown>;

export interface NormalizedRow {
  index: number;
  values: NormalizedValues;
}
export interface FailedRow {
  index: number;
  /** What normalized fine (failed fields are null), for the DLQ's normalized form. */
  values: NormalizedValues;
  errors: FieldError[];
}
export interface StageMetrics {
  rows: number;
  successful: number;
  failed: number;
  /** successful / rows, 0..1 (1 for an empty call: nothing failed). */
  successRate: number;
}
/** Each layer's output for one field; layers that do not apply repeat the previous value. */
export type FieldStages = { source: unknown; error?: FieldError } & Partial<Record<NormalizationLayer, unknown>>;

export interface NormalizationResult {
  valid: NormalizedRow[];
  failed: FailedRow[];
  metrics: StageMetrics;
  /** Only with trackStages: per input row, per target field. */
  stages?: Record<string, FieldStages>[];
}

export interface Normalizer {
  readonly plans: readonly FieldPlan[];
  normalizeRows(rows: readonly SourceRow[], options?: { trackStages?: boolean }): NormalizationResult;
}

export const metricsOf = (rows: number, failed: number): StageMetrics => ({
  rows,
  successful: rows - failed,
  failed,
  successRate: rows === 0 ? 1 : (rows - failed) / rows,
});

function fieldError(plan: FieldPlan, layer: NormalizationLayer, rejection: Rejection, value: unknown): FieldError {
  return { field: plan.target, layer, code: rejection.code, message: rejection.message, value };
}

const requiredError = (plan: FieldPlan): FieldError => ({
  field: plan.target,
  layer: 'mapping',
  code: 'required',
  message: `${plan.target} is required`,
  value: null,
});

/** The hot path: no per-field allocation unless a value fails. */
function normalizeOne(plans: readonly FieldPlan[], row: SourceRow, values: NormalizedValues): FieldError[] | undefined {
  let errors: FieldError[] | undefined;
  for (let p = 0; p < plans.length; p++) {
    const plan = plans[p]!;
    let value = plan.read(row);
    const steps = plan.steps;
    let rejected = false;
    for (let s = 0; s < steps.length; s++) {
      if (value === null || value === undefined) break;
      const next = steps[s]!.run(value);
      if (next instanceof Rejection) {
        errors = withError(errors, fieldError(plan, steps[s]!.layer, next, value));
        rejected = true;
        break;
      }
      value = next;
    }
    if (rejected) {
      values[plan.target] = null;
      continue;
    }
    if (value === null || value === undefined) {
      value = plan.fallback ?? null;
      if (value === null && plan.required) errors = withError(errors, requiredError(plan));
    }
    values[plan.target] = value;
  }
  return errors;
}

/** The debug path for the preview endpoint: every layer's output, per field. */
function traceOne(plans: readonly FieldPlan[], row: SourceRow): Record<string, FieldStages> {
  const trace: Record<string, FieldStages> = {};
  for (const plan of plans) {
    const source = plan.read(row);
    const stages: FieldStages = { source };
    let value: unknown = source === undefined ? null : source;
    let stepIndex = 0;
    for (const layer of normalizationLayers) {
      while (stepIndex < plan.steps.length && plan.steps[stepIndex]!.layer === layer && !stages.error) {
        if (value === null) {
          stepIndex++;
          continue;
        }
        const next = plan.steps[stepIndex]!.run(value);
        if (next instanceof Rejection) stages.error = fieldError(plan, layer, next, value);
        else value = next ?? null;
        stepIndex++;
      }
      if (stages.error) break;
      if (layer === 'mapping' && value === null) {
        value = plan.fallback ?? null;
        if (value === null && plan.required) stages.error = requiredError(plan);
      }
      stages[layer] = value;
    }
    trace[plan.target] = stages;
  }
  return trace;
}

/**
 * A problem the source's reader found in a row (pipeline/row-problems.ts), as the field error that fails it:
 * named after the target field read from that column when there is one.
 */
function problemError(plans: readonly FieldPlan[], row: SourceRow, problem: RowProblem): FieldError {
  const { column } = problem;
  const plan =
    column === null
      ? undefined
      : plans.find(
          (p) => p.source === column || p.source.startsWith(`${column}.`) || p.source.startsWith(`${column}[`),
        );
  return {
    field: plan?.target ?? column ?? '*',
    layer: 'types',
    code: problem.code,
    message: problem.message,
    value: column === null ? null : (row[column] ?? null),
  };
}

const asRow = (row: unknown): SourceRow => (row !== null && typeof row === 'object' ? (row as SourceRow) : {});

export function createNormalizer(entity: EntityConfig): Normalizer {
  const plans = buildFieldPlans(entity);
  return {
    plans,
    normalizeRows(rows, options = {}) {
      const valid: NormalizedRow[] = [];
      const failed: FailedRow[] = [];
      const stages: Record<string, FieldStages>[] | undefined = options.trackStages ? [] : undefined;
      for (let index = 0; index < rows.length; index++) {
        const row = asRow(rows[index]);
        const values: NormalizedValues = {};
        let errors: FieldError[] | undefined;
        try {
          errors = normalizeOne(plans, row, values);
          stages?.push(traceOne(plans, row));
          // First, so the DLQ's error type is the reader's (e.g. invalid_encoding), not a consequence of it.
          const problems = rowProblemsOf(row);
          if (problems) errors = [...problems.map((p) => problemError(plans, row, p)), ...(errors ?? [])];
        } catch (error) {
          // A hostile row (a throwing getter, a Proxy) must not stop the batch.
          errors = [{ field: '*', layer: 'types', code: 'unreadable_row', message: String(error), value: null }];
        }
        if (errors) failed.push({ index, values, errors });
        else valid.push({ index, values });
      }
      const result: NormalizationResult = { valid, failed, metrics: metricsOf(rows.length, failed.length) };
      if (stages) result.stages = stages;
      return result;
    },
  };
}
