import type { EntityConfig } from '../entity-config.ts';
import { renderFields } from '../identity/canonical.ts';
import type { IdentityHashers } from '../identity/hashers.ts';

/**
 * RESOLVE stage, pure part: which parent records a child refers to. A child
 * field maps to one of the parent's business-key fields (`parents[].fields`);
 * the parent's bk_hash is computed exactly as the parent's own IDENTITY stage
 * computes it (canonical key in the parent's declared key order), so the two
 * meet in the identity store. A reference whose fields are all null means
 * "no parent" (an optional relation) and never waits.
 */
export interface ParentRef {
  parentEntity: string;
  parentBkHash: string;
  /** Readable, e.g. `items[part_no=P-100|plant=DE01]`. */
  parentRef: string;
}

export type ParentResolver = (values: Readonly<Record<string, unknown>>) => ParentRef[];

export function createParentResolver(
  child: Pick<EntityConfig, 'name' | 'parents'>,
  parents: ReadonlyMap<string, Pick<EntityConfig, 'name' | 'businessKey'>>,
  hashers: IdentityHashers,
): ParentResolver {
  const relations = child.parents.map((relation) => {
    const parent = parents.get(relation.entity);
    if (!parent) throw new Error(`${child.name}: parent entity "${relation.entity}" is not configured`);
    const byParentField = new Map(
      Object.entries(relation.fields).map(([childField, parentField]) => [parentField, childField]),
    );
    const missing = parent.businessKey.filter((field) => !byParentField.has(field));
    if (missing.length > 0) {
      throw new Error(
        `${child.name}: parents.${relation.entity} must map every business-key field of ${relation.entity} (missing: ${missing.join(', ')})`,
      );
    }
    return { parent, childFields: parent.businessKey.map((field) => byParentField.get(field)!) };
  });
  return (values) => {
    const refs: ParentRef[] = [];
    for (const { parent, childFields } of relations) {
      if (childFields.every((field) => values[field] === null || values[field] === undefined)) continue;
      const keyValues: Record<string, unknown> = {};
      parent.businessKey.forEach((field, i) => {
        keyValues[field] = values[childFields[i]!];
      });
      const key = renderFields(keyValues, parent.businessKey);
      refs.push({ parentEntity: parent.name, parentBkHash: hashers.bkHash(key), parentRef: `${parent.name}[${key}]` });
    }
    return refs;
  };
}

/** Exponential backoff for a waiting child: base, 2×base, 4×base… capped at one hour. */
export function childRetryDelayMs(baseSeconds: number, attempt: number): number {
  return Math.min(baseSeconds * 1000 * 2 ** Math.max(0, attempt - 1), 3_600_000);
}
