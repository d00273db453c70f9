/**
 * Reads a field's source value. A name that exists as a key is read as is (a
 * CSV header may well contain a dot); otherwise a dotted name is a path into
 * nested documents (`meta.author`), as JSON sources deliver them.
 */
export function createSourceReader(source: string): (row: Record<string, unknown>) => unknown {
  if (!source.includes('.')) return (row) => row[source];
  const segments = source.split('.');
  return (row) => {
    if (source in row) return row[source];
    let current: unknown = row;
    for (const segment of segments) {
      if (current === null || typeof current !== 'object') return undefined;
      current = (current as Record<string, unknown>)[segment];
    }
    return current;
  };
}
