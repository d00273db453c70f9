/**
 * ERP column types (Oracle spellings, as APISmith reports them) and the
 * PostgreSQL type each is stored as in the sandbox. A type not listed is
 * stored as text and reported under its own name, which lets tests and the
 * demo show SyncFlow meeting a column type it does not know.
 */
const MAPPINGS: Array<[RegExp, (m: RegExpMatchArray) => string]> = [
  [/^N?VARCHAR2\((\d+)\)$/, (m) => `varchar(${m[1]})`],
  [/^N?CHAR\((\d+)\)$/, (m) => `char(${m[1]})`],
  [/^NUMBER\((\d+),\s*(\d+)\)$/, (m) => `numeric(${m[1]},${m[2]})`],
  [/^NUMBER\((\d+)\)$/, (m) => `numeric(${m[1]})`],
  [/^NUMBER$/, () => 'numeric'],
  [/^INTEGER$/, () => 'bigint'],
  [/^DATE$/, () => 'date'],
  [/^TIMESTAMP(\(\d\))?$/, () => 'timestamp'],
  [/^N?CLOB$/, () => 'text'],
  [/^(RAW\(\d+\)|BLOB)$/, () => 'bytea'],
  [/^BOOLEAN$/, () => 'boolean'],
];

export function storageType(erpType: string): string {
  const normalized = erpType.trim().toUpperCase();
  for (const [pattern, to] of MAPPINGS) {
    const match = normalized.match(pattern);
    if (match) return to(match);
  }
  return 'text';
}
