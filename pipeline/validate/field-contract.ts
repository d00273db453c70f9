import { type DeclaredKind, resolveDeclaredType } from '../declared-type.js';
import type { EntityConfig, FieldRules } from '../entity-config.js';
import { type FieldPattern, fieldPattern } from './field-pattern.js';

/**
 * What the VALIDATE stage checks about one normalized field, derived from the
 * entity config once. Both validators (compiled and zod) read this, so they
 * check the same thing.
 */
export interface FieldContract {
  field: string;
  kind: DeclaredKind;
  list: boolean;
  /** Required by config or part of the business key. */
  required: boolean;
  min?: number | undefined;
  max?: number | undefined;
  rules?: FieldRules | undefined;
  /** `rules.pattern` on the linear-time engine (field-pattern.ts). */
  pattern?: FieldPattern | undefined;
}

export function fieldContracts(entity: EntityConfig): FieldContract[] {
  return entity.fields.map((field) => ({
    field: field.target,
    kind: resolveDeclaredType(field.type),
    list: field.list,
    required: field.required || entity.businessKey.includes(field.target),
    min: field.range?.min,
    max: field.range?.max,
    rules: field.rules,
    // Whole-value match: a rule describes the whole value.
    pattern: field.rules?.pattern === undefined ? undefined : fieldPattern(field.rules.pattern),
  }));
}

/** The shapes normalized values of each kind have. */
export const kindShapes = {
  integerText: /^-?(?:0|[1-9]\d*)$/,
  decimalText: /^-?(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/,
  date: /^\d{4}-\d{2}-\d{2}$/,
  timestamp: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/,
  hex: /^(?:[0-9a-f]{2})*$/,
};

/** Lengths in rules count Unicode code points, not UTF-16 units. */
export function codePointLength(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length--;
        i++;
      }
    }
  }
  return length;
}
