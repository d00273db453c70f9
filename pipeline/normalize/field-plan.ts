import { canonicalJson } from '../canonical-json.js';
import { type DeclaredKind, resolveDeclaredType } from '../declared-type.js';
import type { EntityConfig, FieldConfig } from '../entity-config.js';
import { Rejection, reject } from '../errors.js';
import { type FieldStep, type StepContext, scalarSteps } from './kind-steps.js';
import { createSourceReader } from './source-path.js';

/** Everything the engine needs to normalize one field, decided once per entity. */
export interface FieldPlan {
  source: string;
  target: string;
  kind: DeclaredKind;
  list: boolean;
  /** Required by config, or part of the business key (a key part is never null). */
  required: boolean;
  read: (row: Record<string, unknown>) => unknown;
  steps: readonly FieldStep[];
  /** The field's default, already normalized; undefined when there is none. */
  fallback: unknown;
  /** Why the configured default does not normalize, if it does not. */
  defaultProblem?: string;
}

/** Runs a value through steps; null means nothing is left, a Rejection carries the failing step's layer. */
export function runSteps(steps: readonly FieldStep[], value: unknown): { value: unknown; failedAt?: FieldStep } {
  let current = value;
  for (const step of steps) {
    if (current === null || current === undefined) return { value: null };
    const next = step.run(current);
    if (next instanceof Rejection) return { value: next, failedAt: step };
    current = next;
  }
  return { value: current ?? null };
}

const listKey = (item: unknown): string => (typeof item === 'string' ? `s${item}` : `j${canonicalJson(item)}`);

/**
 * A list field applies each layer to every item: nulls are dropped, the first
 * rejected item rejects the field, and the last step removes duplicates
 * (first seen wins) and turns an empty list into null.
 */
function listSteps(itemSteps: FieldStep[]): FieldStep[] {
  const perItem = itemSteps.map(
    (step): FieldStep => ({
      layer: step.layer,
      run: (value) => {
        const items = value as unknown[];
        const out: unknown[] = [];
        for (let i = 0; i < items.length; i++) {
          const item = items[i];
          if (item === null || item === undefined) continue;
          const next = step.run(item);
          if (next instanceof Rejection) return reject(next.code, `item ${i}: ${next.message}`);
          if (next !== null && next !== undefined) out.push(next);
        }
        return out;
      },
    }),
  );
  return [
    { layer: 'types', run: (value) => (Array.isArray(value) ? value : [value]) },
    ...perItem,
    {
      layer: 'mapping',
      run: (value) => {
        const seen = new Set<string>();
        const unique = (value as unknown[]).filter((item) => {
          const key = listKey(item);
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        });
        return unique.length === 0 ? null : unique;
      },
    },
  ];
}

export function buildFieldPlan(field: FieldConfig, entity: EntityConfig, context: StepContext): FieldPlan {
  const kind = resolveDeclaredType(field.type);
  const itemSteps = scalarSteps(field, kind, context);
  const steps = field.list ? listSteps(itemSteps) : itemSteps;
  const plan: FieldPlan = {
    source: field.source,
    target: field.target,
    kind,
    list: field.list,
    required: field.required || entity.businessKey.includes(field.target),
    read: createSourceReader(field.source),
    steps,
    fallback: undefined,
  };
  if (field.default !== undefined && field.default !== null) {
    const { value, failedAt } = runSteps(steps, field.default);
    if (failedAt) plan.defaultProblem = `the default does not normalize: ${(value as Rejection).message}`;
    else if (value === null) plan.defaultProblem = 'the default normalizes to null';
    else plan.fallback = value;
  }
  return plan;
}

export function buildFieldPlans(entity: EntityConfig): FieldPlan[] {
  const context: StepContext = {
    zone: entity.sourceTimeZone,
    dateOrder: entity.dateOrder,
    decimalSeparator: entity.decimalSeparator,
  };
  return entity.fields.map((field) => buildFieldPlan(field, entity, context));
}
