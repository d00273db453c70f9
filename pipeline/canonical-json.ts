/**
 * Canonical JSON: object keys sorted by code unit at every depth, no
 * whitespace, `undefined` members dropped (as JSON.stringify does), numbers
 * as JSON.stringify writes them (shortest round trip), non-finite numbers as
 * null. One text per value, whatever the key order it arrived in, so JSON
 * fields compare and hash stably. Dates become their ISO text, bigints their
 * decimal digits (as strings), byte arrays lower-case hex strings.
 */
export function canonicalJson(value: unknown): string {
  return write(value) ?? 'null';
}

function write(value: unknown): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'object':
      return writeObject(value);
    default:
      return undefined; // undefined, functions, symbols: dropped like JSON.stringify
  }
}

function writeObject(value: object): string {
  if (Array.isArray(value)) return `[${value.map((item) => write(item) ?? 'null').join(',')}]`;
  if (value instanceof Date) return JSON.stringify(Number.isNaN(value.getTime()) ? null : value.toISOString());
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString('hex'));
  const keys = Object.keys(value).sort();
  const members: string[] = [];
  for (const key of keys) {
    const text = write((value as Record<string, unknown>)[key]);
    if (text !== undefined) members.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${members.join(',')}}`;
}
