import { isKnownSourceType, resolveDeclaredType } from '../pipeline/declared-type.ts';
import { ConnectorError } from './errors.ts';
import type { ColumnMeta } from './types.ts';

/** Column metadata from a source type name: its kind, and whether SyncFlow knows the type at all. */
export function columnMeta(name: string, sourceType: string, nullable?: boolean): ColumnMeta {
  return {
    name,
    sourceType,
    kind: resolveDeclaredType(sourceType),
    knownType: isKnownSourceType(sourceType),
    nullable,
  };
}

/**
 * Unknown types are read as strings by default (SPEC: "unknown → string");
 * with `unknownTypes: 'error'` they stop the sync instead, naming the columns.
 */
export function checkColumnTypes(
  columns: ColumnMeta[],
  policy: 'as_string' | 'error',
  connector: string,
  warn: (message: string) => void,
): ColumnMeta[] {
  const unknown = columns.filter((c) => !c.knownType);
  if (unknown.length === 0) return columns;
  const list = unknown.map((c) => `${c.name} (${c.sourceType})`).join(', ');
  if (policy === 'error') {
    throw new ConnectorError(`unknown column types: ${list}`, {
      connector,
      operation: 'describe',
      code: 'unknown_column_type',
      transient: false,
    });
  }
  warn(`unknown column types read as strings: ${list}`);
  return columns;
}
