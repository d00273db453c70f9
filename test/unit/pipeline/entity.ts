import type { EntityConfig, EntityConfigInput } from '../../../pipeline/entity-config.js';
import { createNormalizer, type SourceRow } from '../../../pipeline/normalize/engine.js';
import { parseEntityConfig } from '../../../pipeline/parse-entity-config.js';

/** A valid minimal entity configuration; tests override what they exercise. */
export function entityInput(overrides: Partial<EntityConfigInput> = {}): EntityConfigInput {
  return {
    name: 'items',
    source: { type: 'file', connection: 'drops', path: 'items.csv', format: 'csv' },
    targets: [{ type: 'postgres', name: 'main', connection: 'warehouse', table: 'items' }],
    businessKey: ['part_no'],
    fields: [{ source: 'PART_NO', target: 'part_no' }],
    ...overrides,
  };
}

export function entity(overrides: Partial<EntityConfigInput> = {}): EntityConfig {
  const parsed = parseEntityConfig(entityInput(overrides));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.config;
}

type FieldInput = EntityConfigInput['fields'][number];

/** Normalizes one value through a one-field entity (plus the key); returns the value or the field errors. */
export function normalizeValue(field: Partial<FieldInput>, value: unknown, options: Partial<EntityConfigInput> = {}) {
  const config = entity({
    ...options,
    fields: [
      { source: 'PART_NO', target: 'part_no' },
      { source: 'V', target: 'v', ...field },
    ],
  });
  const result = createNormalizer(config).normalizeRows([{ PART_NO: 'K', V: value } as SourceRow]);
  const failed = result.failed[0];
  if (failed) return { errors: failed.errors };
  return { value: result.valid[0]!.values.v };
}
