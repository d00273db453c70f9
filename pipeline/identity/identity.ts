import { resolveDeclaredType } from '../declared-type.js';
import type { EntityConfig } from '../entity-config.js';
import { renderFields } from './canonical.js';
import { identityHashers } from './hashers.js';
import { extractRowversion, type RowversionFamily, rowversionFamilyOf } from './rowversion.js';

/**
 * IDENTITY stage: who a record is (bk_hash over the business key in declared
 * order) and what it says (data_hash over every other mapped field, sorted by
 * name; the rowversion field is excluded too: it changes on every write
 * without the data changing). Fields come from the entity config, never from
 * the row object's own keys, so key order and stray keys do not matter.
 */
export interface RowIdentity {
  bkHash: string;
  dataHash: string;
  /** Canonical rowversion text, or null when the entity has none or the row's is empty. */
  rowversion: string | null;
  /** Readable: `items[part_no=P-100|plant=DE01]`. */
  reference: string;
}

export interface IdentityComputer {
  readonly businessKey: readonly string[];
  readonly dataFields: readonly string[];
  readonly rowversionFamily: RowversionFamily | undefined;
  identify(values: Readonly<Record<string, unknown>>): RowIdentity;
  identifyAll(rows: readonly Readonly<Record<string, unknown>>[]): RowIdentity[];
}

export async function createIdentityComputer(entity: EntityConfig): Promise<IdentityComputer> {
  const hashers = await identityHashers();
  const businessKey = [...entity.businessKey];
  const excluded = new Set<string>([...businessKey, ...(entity.rowversionField ? [entity.rowversionField] : [])]);
  const dataFields = entity.fields
    .map((f) => f.target)
    .filter((name) => !excluded.has(name))
    .sort();
  const rowversionField = entity.rowversionField;
  const rowversionConfig = entity.fields.find((f) => f.target === rowversionField);
  const family = rowversionConfig ? rowversionFamilyOf(resolveDeclaredType(rowversionConfig.type)) : undefined;

  const identify = (values: Readonly<Record<string, unknown>>): RowIdentity => {
    const key = renderFields(values, businessKey);
    return {
      bkHash: hashers.bkHash(key),
      dataHash: hashers.dataHash(renderFields(values, dataFields)),
      rowversion: rowversionField && family ? extractRowversion(values[rowversionField], family) : null,
      reference: `${entity.name}[${key}]`,
    };
  };
  return {
    businessKey,
    dataFields,
    rowversionFamily: family,
    identify,
    identifyAll: (rows) => rows.map(identify),
  };
}
