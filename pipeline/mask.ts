/**
 * Per-field masking of record data wherever records are shown (the DLQ,
 * pending children, previews): the values of fields configured `sensitive:
 * true` become `***`, for every role. Raw source rows are masked by the
 * field's `source` name (a dotted name reaches into nested documents, as the
 * source reader does), normalized and mapped records by its `target` name.
 * Pure functions: they copy what they change and never touch their input.
 */
export const MASK = '***';

export interface SensitiveFields {
  /** Source names (raw rows). */
  sources: readonly string[];
  /** Target names (normalized and mapped records, preview fields, field errors). */
  targets: ReadonlySet<string>;
}

interface FieldLike {
  source: string;
  target: string;
  sensitive?: boolean | undefined;
}

export function sensitiveFields(config: { fields: readonly FieldLike[] }): SensitiveFields {
  const sensitive = config.fields.filter((f) => f.sensitive === true);
  return { sources: sensitive.map((f) => f.source), targets: new Set(sensitive.map((f) => f.target)) };
}

export const hasSensitiveFields = (fields: SensitiveFields) => fields.targets.size > 0;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function maskPath(row: Record<string, unknown>, segments: readonly string[]): Record<string, unknown> {
  const [head, ...rest] = segments as [string, ...string[]];
  if (!Object.hasOwn(row, head)) return row;
  if (rest.length === 0) return { ...row, [head]: MASK };
  const inner = row[head];
  if (!isRecord(inner)) return row;
  const masked = maskPath(inner, rest);
  return masked === inner ? row : { ...row, [head]: masked };
}

/** A raw source row with the sensitive sources' values masked (a key named with a dot wins over the path, as in reading). */
export function maskSourceRow(row: unknown, fields: SensitiveFields): unknown {
  if (!isRecord(row)) return row;
  let out = row;
  for (const source of fields.sources) {
    out = Object.hasOwn(out, source) ? { ...out, [source]: MASK } : maskPath(out, source.split('.'));
  }
  return out;
}

/** A normalized or mapped record (keyed by target name) with the sensitive targets' values masked. */
export function maskTargetRecord(record: unknown, fields: SensitiveFields): unknown {
  if (!isRecord(record)) return record;
  let out = record;
  for (const target of fields.targets) if (Object.hasOwn(out, target)) out = { ...out, [target]: MASK };
  return out;
}

/** A field error with its value masked, in `value` and wherever the message quotes it (`not a number: "abc"`). */
export function maskFieldError<E extends Record<string, unknown>>(error: E): E {
  const value = error.value;
  const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  const message =
    typeof error.message === 'string' && text !== '' ? error.message.split(text).join(MASK) : error.message;
  return { ...error, ...(Object.hasOwn(error, 'value') ? { value: MASK } : {}), message };
}

const isFieldError = (d: unknown): d is Record<string, unknown> & { field: string } =>
  isRecord(d) && typeof d.field === 'string';

/**
 * Field errors (`[{ field, message, value, … }]`, field = target name) with
 * the values of sensitive fields masked, or of every field with `'all'`.
 */
export function maskFieldErrors(details: unknown, fields: SensitiveFields | 'all'): unknown {
  if (!Array.isArray(details)) return details;
  return details.map((d) =>
    isFieldError(d) && (fields === 'all' || fields.targets.has(d.field)) ? maskFieldError(d) : d,
  );
}

/** The DLQ's error message of field errors (`field: message; …`, as the pipeline writes it), or null for other details. */
export function fieldErrorsMessage(details: unknown): string | null {
  if (!Array.isArray(details) || details.length === 0 || !details.every(isFieldError)) return null;
  return details.map((d) => `${d.field}: ${String(d.message)}`).join('; ');
}

/** Preview output (target name → source value, each layer's value, the error): every value of a sensitive field masked. */
export function maskPreviewFields<T extends Record<string, unknown>>(
  byTarget: Record<string, T>,
  fields: SensitiveFields,
): Record<string, T> {
  const out: Record<string, T> = { ...byTarget };
  for (const target of fields.targets) {
    const stages = out[target];
    if (!isRecord(stages)) continue;
    out[target] = Object.fromEntries(
      Object.entries(stages).map(([key, value]) => [
        key,
        key === 'error' && isRecord(value) ? maskFieldError(value) : value === undefined ? value : MASK,
      ]),
    ) as T;
  }
  return out;
}

/** Every top-level value masked: record data of an entity whose configuration is gone (which fields are sensitive is unknown). */
export function maskAll(row: unknown): unknown {
  if (!isRecord(row)) return row === null || row === undefined ? row : MASK;
  return Object.fromEntries(Object.keys(row).map((key) => [key, MASK]));
}
