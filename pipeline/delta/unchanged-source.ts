import { canonicalJson } from '../canonical-json.ts';
import type { EntityConfig } from '../entity-config.ts';
import type { IdentityComputer } from '../identity/identity.ts';
import { createNormalizer } from '../normalize/engine.ts';
import { rowProblemsOf } from '../row-problems.ts';
import type { StoredIdentity } from './delta.ts';

/**
 * Unchanged source rows, recognised before NORMALIZE (issue 15; docs/performance.md, step 2).
 *
 * A row's *source hash* is a hash of the row exactly as the source gave it (every column, with its JavaScript
 * type) together with the entity's configuration fingerprint. TRACK stores it next to the data_hash of every
 * record a target acknowledged, and next to every record DELTA found unchanged. When a later read gives the
 * same source hash for a record the store holds as synced and not deleted, the record is SKIPped without
 * NORMALIZE, VALIDATE, MAP or IDENTITY: those stages are deterministic functions of (row, configuration), and
 * DELTA's answer depends only on their output and the stored state of that record, which has not changed
 * since the hash was stored (every write of the record stores a new one; a failure keeps the last
 * acknowledged state; a deleted or failed record is never skipped here). So the shortcut decides exactly what
 * the full path would have decided.
 *
 * What invalidates it:
 * - any change of the row: a value, a column's type (the text `2024-01-01` and a Date differ), a column added
 *   or removed, a rowversion that went backwards (it is a column like any other);
 * - any change of the entity's configuration (the fingerprint covers all of it) and any change of
 *   SyncFlow's own normalization (PIPELINE_REVISION, which is part of the fingerprint);
 * - a row a reader marked as not trustworthy (row problems) is never skipped: it must reach the DLQ;
 * - a business key that occurs more than once in a page: the last occurrence is the one DELTA compares, so
 *   no occurrence is skipped here and the page's DELTA decides them all as before.
 * A row changed by hand in the *target* is not seen by this shortcut, nor by DELTA, which compares with the
 * identity store too: that is what a reconcile is for.
 */

/**
 * Bump when a change to SyncFlow's normalization, validation, mapping or identity code changes the output for
 * some input: every stored source hash then stops matching and the next sync runs every row the full way.
 */
export const PIPELINE_REVISION = 1;

/** The entity configuration's fingerprint: the text every source hash of that configuration starts with. */
export const configFingerprint = (config: EntityConfig): string =>
  `syncflow-pipeline:${PIPELINE_REVISION}\n${canonicalJson(config)}\n`;

/** One value's text with its type, so values of different types never render alike. */
function typedText(value: unknown): string {
  if (value === null) return 'z';
  switch (typeof value) {
    case 'string':
      return `s${value.length}:${value}`;
    case 'number':
      return Object.is(value, -0) ? 'n-0' : `n${String(value)}`;
    case 'bigint':
      return `b${value.toString()}`;
    case 'boolean':
      return value ? 't' : 'f';
    case 'undefined':
      return 'u';
    case 'object': {
      if (value instanceof Date) return `d${value.getTime()}`;
      if (value instanceof Uint8Array) return `x${Buffer.from(value).toString('hex')}`;
      const json = canonicalJson(value); // JSON from a jsonb column or an HTTP body: JSON types only
      return `j${json.length}:${json}`;
    }
    default:
      return `?${String(value)}`;
  }
}

/**
 * The row as the source gave it, every own column in the row's order (a reader gives its columns in one
 * order; another order only costs a full-path run of the row), each as `<name length>:<name>=<typed value>`.
 * Lengths make the text unambiguous: no two different rows render alike.
 */
export function sourceRowText(row: Readonly<Record<string, unknown>>): string {
  let text = '';
  for (const column in row) {
    if (!Object.hasOwn(row, column)) continue;
    text += `${column.length}:${column}=${typedText(row[column])};`;
  }
  return text;
}

/**
 * Which rows of a page are unchanged: `keys[i]` is row i's bk_hash from its business-key fields alone (null
 * when they do not normalize), `sourceHashes[i]` its source hash, `stored` the primary target's identity rows
 * (synced ones only) for those keys. A row is unchanged when its stored record is synced, not deleted, and
 * carries the same source hash, its key occurs once in the page, and no reader marked it.
 */
export function findUnchanged(
  rows: readonly Readonly<Record<string, unknown>>[],
  keys: readonly (string | null)[],
  sourceHashes: readonly string[],
  stored: ReadonlyMap<string, StoredIdentity>,
): Set<number> {
  const occurrences = new Map<string, number>();
  for (const key of keys) if (key !== null) occurrences.set(key, (occurrences.get(key) ?? 0) + 1);
  const unchanged = new Set<number>();
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (key === null || key === undefined || occurrences.get(key) !== 1) continue;
    const record = stored.get(key);
    if (!record?.sourceHash || (record.deletedAt !== undefined && record.deletedAt !== null)) continue;
    if (record.sourceHash !== sourceHashes[i] || rowProblemsOf(rows[i] as Record<string, unknown>)) continue;
    unchanged.add(i);
  }
  return unchanged;
}

/** Built once per entity configuration (the worker's entity runtime): what NORMALIZE needs to set unchanged rows aside. */
export interface SourceScreen {
  /** Each row's source hash. */
  sourceHashes(rows: readonly Readonly<Record<string, unknown>>[]): string[];
  /** Each row's bk_hash from its business-key fields alone; null when they do not normalize or are empty. */
  keys(rows: readonly Readonly<Record<string, unknown>>[]): (string | null)[];
}

export function createSourceScreen(
  config: EntityConfig,
  identity: IdentityComputer,
  hash: (text: string) => string,
): SourceScreen {
  // The fingerprint is the whole configuration (kilobytes): each row's text starts with its hash, not with it.
  const fingerprint = `${hash(configFingerprint(config))}\n`;
  const keyFields = new Set(identity.businessKey);
  // The business-key fields alone, normalized exactly as the full normalizer does them (same field plans).
  const keyNormalizer = createNormalizer({ ...config, fields: config.fields.filter((f) => keyFields.has(f.target)) });
  return {
    sourceHashes: (rows) => rows.map((row) => hash(fingerprint + sourceRowText(row))),
    keys(rows) {
      const keys: (string | null)[] = new Array(rows.length).fill(null);
      for (const row of keyNormalizer.normalizeRows(rows).valid)
        keys[row.index] = identity.failedRowKey(row.values, []);
      return keys;
    },
  };
}
