/**
 * A value as text for a `$n::jsonb` parameter (bulk writes hand PostgreSQL one JSON array and unpack it with
 * jsonb_to_recordset). PostgreSQL refuses the NUL character in jsonb, so it is kept visible as the text `\u0000`.
 */
export const jsonb = (value: unknown): string => JSON.stringify(value ?? null).replaceAll('\\u0000', '\\\\u0000');
