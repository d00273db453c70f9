/**
 * Reads a field's source value. A name that exists as a key is read as is (a
 * CSV header may well contain a dot); otherwise a dotted name is a path into
 * nested documents (`meta.author`), as JSON sources deliver them. Only a row's
 * own properties are read: a source named `__proto__`, `constructor` or
 * `a.toString` finds nothing rather than JavaScript's inherited members.
 */
const own = (value: unknown, key: string): unknown =>
  value !== null && typeof value === 'object' && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;

export function createSourceReader(source: string): (row: Record<string, unknown>) => unknown {
  if (!source.includes('.')) return (row) => own(row, source);
  const segments = source.split('.');
  return (row) => {
    if (Object.hasOwn(row, source)) return row[source];
    let current: unknown = row;
    for (const segment of segments) current = own(current, segment);
    return current;
  };
}
