import type { EntityConfig } from '../entity-config.ts';
import { createSourceReader } from '../normalize/source-path.ts';
import { escapeText } from './canonical.ts';

/**
 * A record's business key as read from the source, before any normalization:
 * `field=value|field=value` in the entity's businessKey order, each value read
 * from the RAW row's source column of that key field. It names a record that
 * failed before it had an identity (a bad date, an unreadable key), so an
 * operator can find it in the source. Values render as plain text: strings as
 * they are, numbers / booleans / bigints as their text, dates as ISO 8601,
 * anything else as JSON; a missing or null value renders empty. `\`, `|` and
 * `=` in a value are escaped by a backslash, as in a record's reference.
 * Null when the raw row is not an object (no row could be read).
 */
export type SourceKeyReader = (raw: unknown) => string | null;

export function sourceKeyText(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return '';
    case 'string':
      return value;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value);
    case 'object':
      if (value === null) return '';
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString();
      if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
      return JSON.stringify(value);
    default:
      return String(value);
  }
}

export function createSourceKeyReader(entity: Pick<EntityConfig, 'businessKey' | 'fields'>): SourceKeyReader {
  const sourceOf = new Map(entity.fields.map((f) => [f.target, f.source]));
  const readers = entity.businessKey.map((field) => ({
    field,
    read: createSourceReader(sourceOf.get(field) ?? field),
  }));
  return (raw) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null;
    const row = raw as Record<string, unknown>;
    return readers.map(({ field, read }) => `${field}=${escapeText(sourceKeyText(read(row)))}`).join('|');
  };
}
