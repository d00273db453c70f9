import { ApplicationFailure } from '@temporalio/client';
import { type EntityRuntime, EntityRuntimes } from '../activities/entity-runtime.ts';
import type { SecretBox } from '../connectors/secret-box.ts';
import type { Row, SourceKeyValue } from '../connectors/types.ts';
import { type EntityMode, getEntity } from '../db/entities.ts';
import { readStoredIdentities } from '../db/identity-store.ts';
import type { Prisma } from '../db/prisma.ts';
import { deadLettersOf, type StoredRecordState, storedStatesOf, storeReaderOf, waitingRowsOf } from '../db/trace.ts';
import type { TargetConfig } from '../pipeline/connector-config.ts';
import { type Decision, decideOperations } from '../pipeline/delta/delta.ts';
import { findUnchanged } from '../pipeline/delta/unchanged-source.ts';
import type { FieldError } from '../pipeline/errors.ts';
import { escapeText } from '../pipeline/identity/canonical.ts';
import type { RowIdentity } from '../pipeline/identity/identity.ts';
import type { FieldStages } from '../pipeline/normalize/engine.ts';
import { ControlError, unknownEntity } from './errors.ts';

/**
 * The trace of one record (issue 13, part 6): for one business key of an entity, the source row now (where
 * the source can read by key), every normalization layer's output for it, the validation result, the mapped
 * record and its identity, the delta decision each target would give it now, what each target holds according
 * to the identity store, its dead letters and its waiting rows. A query over what SyncFlow already keeps and
 * the entity's own pipeline code (the worker's entity runtime): nothing is written, one record per call.
 */

// ---------------------------------------------------------------------------------------------------------------
// The key: a bk_hash, or the business key as `field=value|field=value`

export type RecordKey =
  | { form: 'bk_hash'; bkHash: string }
  | {
      form: 'business_key';
      /** Business-key field (target name) → its value as read from the source. */
      values: Record<string, string>;
      /** The same key in the source-key form (pipeline/identity/source-key.ts): businessKey order, escaped. */
      sourceKey: string;
    };

/** A key's problems, each naming the field at fault (`key`, or `key.<field>` for one business-key field). */
export type KeyProblem = { field: string; message: string };

const HEX32 = /^[0-9a-f]{32}$/i;

/** `text` split at each unescaped `separator` (at most `limit` parts), escape sequences kept as they are. */
function splitRaw(text: string, separator: string, limit = Number.POSITIVE_INFINITY): string[] {
  const parts = [''];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      parts[parts.length - 1] += ch + text[i + 1];
      i++;
    } else if (ch === separator && parts.length < limit) parts.push('');
    else parts[parts.length - 1] += ch;
  }
  return parts;
}

/** The source key's escapes (`\\`, `\|`, `\=`) undone; a problem for any other backslash. */
function unescapeKeyText(text: string): { text: string } | { problem: string } {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = text[i + 1];
    if (next !== '\\' && next !== '|' && next !== '=') {
      return {
        problem:
          next === undefined ? 'ends in a lone backslash' : `has "\\${next}", no escape (only \\\\, \\| and \\= are)`,
      };
    }
    out += next;
    i++;
  }
  return { text: out };
}

/**
 * Parses a record key strictly: 32 hex characters are a bk_hash; anything with `=` is the business key as
 * `field=value|…` (the source-key form: fields in any order, each business-key field exactly once, values as
 * read from the source, `\`, `|` and `=` in a value escaped by a backslash). Answers the key or its problems.
 */
export function parseRecordKey(
  text: string,
  businessKey: readonly string[],
): { ok: true; key: RecordKey } | { ok: false; problems: KeyProblem[] } {
  const fail = (...problems: KeyProblem[]) => ({ ok: false as const, problems });
  if (!text.includes('=')) {
    if (HEX32.test(text)) return { ok: true, key: { form: 'bk_hash', bkHash: text.toLowerCase() } };
    const bad = [...text].find((ch) => !/[0-9a-f]/i.test(ch));
    return fail({
      field: 'key',
      message:
        `a bk_hash is 32 hex characters${bad === undefined ? `, not ${text.length}` : `; "${bad}" is no hex digit`}` +
        ` (or give the business key: ${businessKey.map((f) => `${f}=…`).join('|')})`,
    });
  }
  const pairs = splitEscapedPairs(text);
  if ('problem' in pairs) return fail({ field: 'key', message: pairs.problem });
  const known = new Set(businessKey);
  const values: Record<string, string> = {};
  const problems: KeyProblem[] = [];
  for (const [field, value] of pairs.pairs) {
    if (!known.has(field)) {
      problems.push({
        field: `key.${field}`,
        message: `"${field}" is not a business-key field of this entity (they are ${businessKey.join(', ')})`,
      });
    } else if (Object.hasOwn(values, field)) {
      problems.push({ field: `key.${field}`, message: `"${field}" is given more than once` });
    } else {
      values[field] = value;
    }
  }
  for (const field of businessKey) {
    if (!Object.hasOwn(values, field) && !problems.some((p) => p.field === `key.${field}`)) {
      problems.push({ field: `key.${field}`, message: `missing: the business key is ${businessKey.join(', ')}` });
    }
  }
  if (problems.length > 0) return fail(...problems);
  const sourceKey = businessKey.map((f) => `${f}=${escapeText(values[f]!)}`).join('|');
  return { ok: true, key: { form: 'business_key', values, sourceKey } };
}

/** `field=value|…` as [field, value] pairs, escapes undone; a problem for an empty part or one without `=`. */
function splitEscapedPairs(text: string): { pairs: Array<[string, string]> } | { problem: string } {
  const pairs: Array<[string, string]> = [];
  for (const part of splitRaw(text, '|')) {
    if (part === '') return { problem: 'has an empty part: write field=value|field=value' };
    const [rawField, rawValue] = splitRaw(part, '=', 2);
    if (rawValue === undefined) return { problem: `"${part}" is not field=value` };
    const field = unescapeKeyText(rawField!);
    const value = unescapeKeyText(rawValue);
    if ('problem' in field) return { problem: `"${part}" ${field.problem}` };
    if ('problem' in value) return { problem: `"${part}" ${value.problem}` };
    pairs.push([field.text, value.text]);
  }
  return { pairs };
}

// ---------------------------------------------------------------------------------------------------------------
// The trace

/** At most this many dead letters are shown (newest first). */
export const TRACE_DEAD_LETTERS = 50;

type KeyOrigin = 'input' | 'dead_letter' | 'reference';
interface KnownKey {
  values: Record<string, string>;
  from: KeyOrigin;
}

export interface TraceSource {
  type: string;
  /** Whether this source can look a row up by key (PostgreSQL). */
  readable: boolean;
  /** Why the source row is not shown (not readable, no key values known, not found, the read failed); else null. */
  reason: string | null;
  /**
   * Where the key values came from: the request's business key, a dead letter's source key (as read), or a
   * stored reference (normalized values); null when none are known.
   */
  keyFrom: KeyOrigin | null;
  /** The key the source was asked for (column → value); null when it was not asked. */
  lookedUp: SourceKeyValue[] | null;
  /** How many rows hold the key (at most 2 are read: 2 means it is not unique in the source). */
  rowsFound: number | null;
  row: Row | null;
}

export interface TracePipeline {
  /** Where the row stopped: normalize (layers 1-4), map (the mapping layer), validate; null when it passed. */
  failedAt: 'normalize' | 'map' | 'validate' | null;
  /** Per target field: the source value and each normalization layer's output (the preview's form). */
  fields: Record<string, FieldStages>;
  normalized: Record<string, unknown>;
  normalizeErrors: FieldError[];
  validation: { ok: boolean; errors: FieldError[] } | null;
  mapped: Record<string, unknown> | null;
  /** bk_hash, data_hash, rowversion and reference of the mapped record; null when the row failed. */
  identity: RowIdentity | null;
  /** The row's bk_hash: the identity's, or for a failed row what its key fields give (null when they failed). */
  bkHash: string | null;
  /** The row's business key as read (the DLQ's source_key). */
  sourceKey: string | null;
}

export interface TraceTarget {
  name: string;
  role: TargetConfig['role'];
  /** What DELTA would decide against this target's identity-store row now; null without a record to decide on. */
  decision: Pick<Decision, 'operation' | 'reason'> | null;
  /**
   * Whether the source row's hash equals the one stored for this target (synced, not deleted): a sync sets such
   * a row aside before NORMALIZE (checked against the primary target); null without a source row.
   */
  sourceUnchanged: boolean | null;
  /** The identity store's row for this target; null when the target has none. */
  stored: StoredRecordState | null;
}

export interface RecordTrace {
  entity: string;
  mode: EntityMode;
  key: {
    input: string;
    form: RecordKey['form'];
    /** The record's bk_hash: given, or computed from the key (or the source row) as the pipeline does. */
    bkHash: string | null;
    sourceKey: string | null;
    reference: string | null;
  };
  source: TraceSource;
  pipeline: TracePipeline | null;
  targets: TraceTarget[];
  deadLetters: { records: Awaited<ReturnType<typeof deadLettersOf>>; limit: number; more: boolean };
  waiting: Awaited<ReturnType<typeof waitingRowsOf>>;
}

export interface TraceDeps {
  prisma: Prisma;
  secrets: SecretBox;
}

/** The entity's runtime as a worker builds it; a configuration it cannot run on (a missing connection) is a 409. */
async function runtimeOf(runtimes: EntityRuntimes, name: string): Promise<EntityRuntime> {
  try {
    return await runtimes.get(name);
  } catch (error) {
    if (error instanceof ApplicationFailure) {
      throw new ControlError(409, 'entity_not_runnable', `Cannot trace a record of "${name}": ${error.message}`);
    }
    throw error;
  }
}

/** The stored side of the record: identity-store rows, dead letters, waiting rows. */
async function storedSide(deps: TraceDeps, entity: string, bkHash: string | null, sourceKey: string | null) {
  const [states, letters, waiting] = await Promise.all([
    bkHash ? storedStatesOf(deps.prisma, entity, bkHash) : [],
    deadLettersOf(deps.prisma, entity, { bkHash, sourceKey }, TRACE_DEAD_LETTERS + 1),
    bkHash ? waitingRowsOf(deps.prisma, entity, bkHash) : [],
  ]);
  return { states, letters, waiting };
}

/** A raw row holding just the key's values, under each key field's source name (null for an empty value). */
function keyRow(rt: EntityRuntime, values: Record<string, string>): Row {
  const sourceOf = new Map(rt.config.fields.map((f) => [f.target, f.source]));
  return Object.fromEntries(rt.config.businessKey.map((f) => [sourceOf.get(f) ?? f, values[f] || null]));
}

/** The key values of a record known only by its bk_hash: from a dead letter's source key, else a reference. */
function knownKeyValues(rt: EntityRuntime, stored: Awaited<ReturnType<typeof storedSide>>): KnownKey | null {
  const prefix = `${rt.config.name}[`;
  const reference = (text: string | null) =>
    text?.startsWith(prefix) && text.endsWith(']') ? text.slice(prefix.length, -1) : null;
  const candidates: Array<[string | null, KeyOrigin]> = [
    ...stored.letters.map((l): [string | null, KeyOrigin] => [l.sourceKey, 'dead_letter']),
    ...[
      ...stored.states.map((s) => s.refStr),
      ...stored.waiting.map((w) => w.childRefStr),
      ...stored.letters.map((l) => l.refStr),
    ].map((text): [string | null, KeyOrigin] => [reference(text), 'reference']),
  ];
  for (const [text, from] of candidates) {
    if (!text) continue;
    const parsed = parseRecordKey(text, rt.config.businessKey);
    if (parsed.ok && parsed.key.form === 'business_key') return { values: parsed.key.values, from };
  }
  return null;
}

/** The source row now, when the source can read by key and the key's values are known. */
async function readSource(rt: EntityRuntime, known: KnownKey | null): Promise<TraceSource> {
  const type = rt.config.source.type;
  const result = (readable: boolean, reason: string | null, extra: Partial<TraceSource> = {}): TraceSource => ({
    type,
    readable,
    reason,
    keyFrom: known?.from ?? null,
    lookedUp: null,
    rowsFound: null,
    row: null,
    ...extra,
  });
  let source: ReturnType<EntityRuntime['source']>;
  try {
    source = rt.source();
  } catch (error) {
    return result(false, `the source cannot be built: ${(error as Error).message}`);
  }
  if (!source.readByKey) {
    return result(false, `a ${type} source cannot look a row up by key; its rows are seen only by a sync`);
  }
  if (!known) return result(true, 'the key values of this bk_hash are not known (no stored reference or DLQ key)');
  const sourceOf = new Map(rt.config.fields.map((f) => [f.target, f.source]));
  const lookedUp: SourceKeyValue[] = [];
  for (const field of rt.config.businessKey) {
    const column = sourceOf.get(field) ?? field;
    if (column.includes('.')) return result(true, `the key field ${field} is read from a path (${column}), no column`);
    const value = known.values[field] ?? '';
    if (value === '') return result(true, `the key field ${field} is empty: no row is looked up by an empty key`);
    lookedUp.push({ column, value });
  }
  try {
    const rows = await source.readByKey(lookedUp, { limit: 2 });
    if (rows.length === 0) {
      const normalized = known.from === 'reference' ? ' (as its stored reference, normalized, gives it)' : '';
      return result(true, `no source row holds this key now${normalized}`, { lookedUp, rowsFound: 0 });
    }
    return result(true, null, { lookedUp, rowsFound: rows.length, row: rows[0]! });
  } catch (error) {
    return result(true, `the source read failed: ${(error as Error).message}`, { lookedUp });
  }
}

/** NORMALIZE (every layer, as the preview shows it), VALIDATE, MAP and IDENTITY of one source row. */
function runPipeline(rt: EntityRuntime, row: Row): TracePipeline {
  const normalized = rt.normalizer.normalizeRows([row], { trackStages: true });
  const fields = normalized.stages?.[0] ?? {};
  const sourceKey = rt.sourceKey(row);
  const failed = normalized.failed[0];
  if (failed) {
    const mappingOnly = failed.errors.every((e) => e.layer === 'mapping');
    return {
      failedAt: mappingOnly ? 'map' : 'normalize',
      fields,
      normalized: failed.values,
      normalizeErrors: failed.errors,
      validation: null,
      mapped: null,
      identity: null,
      bkHash: rt.identity.failedRowKey(failed.values, failed.errors),
      sourceKey,
    };
  }
  const values = normalized.valid[0]!.values;
  const validated = rt.validator.validateRows(normalized.valid);
  const invalid = validated.failed[0];
  if (invalid) {
    return {
      failedAt: 'validate',
      fields,
      normalized: values,
      normalizeErrors: [],
      validation: { ok: false, errors: invalid.errors },
      mapped: null,
      identity: null,
      bkHash: rt.identity.failedRowKey(invalid.values, invalid.errors),
      sourceKey,
    };
  }
  // MAP as the page's MAP stage does it: the target fields, in order, null when absent.
  const mapped: Record<string, unknown> = {};
  for (const field of rt.targetFields) mapped[field.name] = values[field.name] ?? null;
  const identity = rt.identity.identify(mapped);
  return {
    failedAt: null,
    fields,
    normalized: values,
    normalizeErrors: [],
    validation: { ok: true, errors: [] },
    mapped,
    identity,
    bkHash: identity.bkHash,
    sourceKey,
  };
}

/** Per target of the configuration (primary first): DELTA's decision now, the source-hash check, the stored row. */
async function targetsOf(
  deps: TraceDeps,
  rt: EntityRuntime,
  row: Row | null,
  pipeline: TracePipeline | null,
  states: StoredRecordState[],
  bkHash: string | null,
): Promise<TraceTarget[]> {
  const store = storeReaderOf(deps.prisma);
  const ordered = [rt.primary, ...rt.config.targets.filter((t) => t !== rt.primary)];
  const screenKey = row ? (rt.screen.keys([row])[0] ?? null) : null;
  const sourceHash = row ? rt.screen.sourceHashes([row])[0]! : null;
  return Promise.all(
    ordered.map(async (target): Promise<TraceTarget> => {
      const stored = states.find((s) => s.targetName === target.name) ?? null;
      const identity = pipeline?.identity;
      if (!bkHash || !identity) {
        return { name: target.name, role: target.role, decision: null, sourceUnchanged: null, stored };
      }
      // What DELTA reads: the target's synced identity for the bk_hash (each target on its own).
      const synced = await readStoredIdentities(store, rt.config.name, target.name, [bkHash]);
      const [decision] = decideOperations([identity], synced, {
        strategy: rt.config.deltaStrategy,
        rowversionFamily: rt.identity.rowversionFamily,
      }).decisions;
      const sourceUnchanged =
        row && sourceHash ? findUnchanged([row], [screenKey], [sourceHash], synced).size === 1 : null;
      return {
        name: target.name,
        role: target.role,
        decision: { operation: decision!.operation, reason: decision!.reason },
        sourceUnchanged,
        stored,
      };
    }),
  );
}

/**
 * Traces records of any entity; built once per API app. It keeps the entities' runtimes as a worker does (rebuilt
 * when a configuration or connection changes) and one bounded pool per PostgreSQL connection, so traces never
 * open more source connections than the connection allows, however many arrive.
 */
export interface Tracer {
  /**
   * The trace of the record `keyText` names in entity `name`. 404 for an unknown entity, 400 naming the field
   * for a malformed key, 409 when the entity's configuration cannot be run (a connection missing).
   */
  trace(name: string, keyText: string): Promise<RecordTrace>;
  close(): Promise<void>;
}

export function createTracer(deps: TraceDeps): Tracer {
  const runtimes = new EntityRuntimes(deps);
  return {
    trace: (name, keyText) => traceRecord(deps, runtimes, name, keyText),
    close: () => runtimes.closeAll(),
  };
}

async function traceRecord(
  deps: TraceDeps,
  runtimes: EntityRuntimes,
  name: string,
  keyText: string,
): Promise<RecordTrace> {
  const entity = await getEntity(deps.prisma, name);
  if (!entity) throw unknownEntity(name);
  const parsed = parseRecordKey(keyText, entity.config.businessKey);
  if (!parsed.ok) throw new ControlError(400, 'validation_failed', 'The record key is invalid.', parsed.problems);
  const key = parsed.key;
  const rt = await runtimeOf(runtimes, name);
  // The bk_hash of a business key: its values as a raw row, normalized as a sync normalizes the key fields.
  let bkHash = key.form === 'bk_hash' ? key.bkHash : (rt.screen.keys([keyRow(rt, key.values)])[0] ?? null);
  let sourceKey = key.form === 'business_key' ? key.sourceKey : null;
  let stored = await storedSide(deps, name, bkHash, sourceKey);
  const known: KnownKey | null =
    key.form === 'business_key' ? { values: key.values, from: 'input' } : knownKeyValues(rt, stored);
  const source = await readSource(rt, known);
  const pipeline = source.row ? runPipeline(rt, source.row) : null;
  if (pipeline && key.form === 'bk_hash' && pipeline.bkHash !== null && pipeline.bkHash !== bkHash) {
    // The values found for the bk_hash name another record now (its configuration changed): not this one.
    Object.assign(source, {
      reason: `the source row found by this record's stored key is now record ${pipeline.bkHash}`,
      row: null,
    });
  }
  const traced = source.row ? pipeline : null;
  if (traced) {
    const rowBk = traced.bkHash ?? bkHash;
    const rowKey = traced.sourceKey ?? sourceKey;
    if (rowBk !== bkHash || rowKey !== sourceKey) {
      bkHash = rowBk;
      sourceKey = rowKey;
      stored = await storedSide(deps, name, bkHash, sourceKey);
    }
  }
  const reference =
    traced?.identity?.reference ??
    stored.states.find((s) => s.refStr)?.refStr ??
    stored.letters.find((l) => l.refStr)?.refStr ??
    null;
  return {
    entity: name,
    mode: entity.mode,
    key: { input: keyText, form: key.form, bkHash, sourceKey, reference },
    source,
    pipeline: traced,
    targets: await targetsOf(deps, rt, source.row, traced, stored.states, bkHash),
    deadLetters: {
      records: stored.letters.slice(0, TRACE_DEAD_LETTERS),
      limit: TRACE_DEAD_LETTERS,
      more: stored.letters.length > TRACE_DEAD_LETTERS,
    },
    waiting: stored.waiting,
  };
}
