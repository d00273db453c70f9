import { resolveDeclaredType } from '../declared-type.js';
import type { EntityConfig } from '../entity-config.js';
import type { FieldError } from '../errors.js';
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
  /**
   * The bk_hash of a row that failed NORMALIZE / VALIDATE / MAP, from what did normalize: null when the row
   * could not be read or a business-key field failed NORMALIZE or is empty (its identity is unknown).
   * A VALIDATE failure of a key field (a rule) does not hide the key: its normalized value is the identity.
   */
  failedRowKey(values: Readonly<Record<string, unknown>> | undefined, errors: readonly FieldError[]): string | null;
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
  const keyFields = new Set(businessKey);
  const failedRowKey = (
    values: Readonly<Record<string, unknown>> | undefined,
    errors: readonly FieldError[],
  ): string | null => {
    if (!values) return null;
    for (const error of errors) {
      if (error.field === '*' || (keyFields.has(error.field) && error.layer !== 'validation')) return null;
    }
    for (const field of businessKey) if (values[field] === null || values[field] === undefined) return null;
    return hashers.bkHash(renderFields(values, businessKey));
  };
  return {
    businessKey,
    dataFields,
    rowversionFamily: family,
    identify,
    identifyAll: (rows) => rows.map(identify),
    failedRowKey,
  };
}
