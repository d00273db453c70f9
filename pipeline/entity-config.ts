import { z } from 'zod';
import { sourceConfigSchema, targetConfigSchema } from './connector-config.js';
import { type DeclaredKind, resolveDeclaredType } from './declared-type.js';
import { transformationNames } from './normalize/transformations.js';
import { isValidTimeZone } from './normalize/zoned-time.js';
import { fieldPatternProblem } from './validate/field-pattern.js';

/**
 * The one shape of an entity's configuration, used by the API, the CLI and
 * config files alike. Structural rules live in the schemas; rules that relate
 * fields to each other (business key, rowversion and parent references,
 * duplicate targets) are checked afterwards with the offending path named.
 * A field's default is checked against its own normalization in
 * parse-entity-config.ts.
 */

/** Lower-case SQL-safe identifier (PostgreSQL's 63-byte limit). */
const entityName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, 'a lower-case identifier: a-z, 0-9 and _, starting with a letter, at most 63');
/** Target field names: identifiers, so they never contain the `=` and `|` of the canonical renderings. */
const targetFieldName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'an identifier: letters, digits and _, not starting with a digit');

const scalarDefault = z.union([z.string(), z.number(), z.boolean()]);

export const rangeSchema = z
  .object({ min: z.number().optional(), max: z.number().optional() })
  .strict()
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, {
    message: 'min must not exceed max',
    path: ['min'],
  });

export const valueMapSchema = z
  .object({
    /** Source spelling → canonical value. */
    values: z.record(z.string(), z.string().min(1)),
    caseInsensitive: z.boolean().default(false),
    /** What an unmapped value becomes: kept as it is, rejected (field error), or the default below. */
    unmapped: z.enum(['keep', 'reject', 'default']).default('keep'),
    default: z.string().min(1).optional(),
  })
  .strict()
  .refine((m) => m.unmapped !== 'default' || m.default !== undefined, {
    message: 'unmapped: default needs a `default` value',
    path: ['default'],
  });

export const fieldRulesSchema = z
  .object({
    /**
     * A regular expression (JavaScript Unicode-mode syntax) the whole value must match, run on a linear-time
     * engine (RE2): backreferences and lookaround are refused, and so is a pattern too large for the engine.
     */
    pattern: z
      .string()
      .min(1)
      .superRefine((pattern, ctx) => {
        const problem = fieldPatternProblem(pattern);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    /** Lengths count Unicode code points. */
    minLength: z.number().int().min(0).optional(),
    maxLength: z.number().int().min(0).optional(),
    oneOf: z.array(scalarDefault).min(1).optional(),
  })
  .strict()
  .refine((r) => r.minLength === undefined || r.maxLength === undefined || r.minLength <= r.maxLength, {
    message: 'minLength must not exceed maxLength',
    path: ['minLength'],
  });

export const fieldConfigSchema = z
  .object({
    /** Source column or key; a dotted path (`meta.author`) reads into nested JSON documents. */
    source: z.string().min(1),
    target: targetFieldName,
    /** The source's type name (VARCHAR2, NUMBER, timestamptz, ...); see declared-type.ts. Unknown names are strings. */
    type: z.string().min(1).default('string'),
    transformation: z.enum(transformationNames).optional(),
    /** Used when the normalized value is null (missing, empty, whitespace only). */
    default: z.json().optional(),
    required: z.boolean().default(false),
    range: rangeSchema.optional(),
    valueMap: valueMapSchema.optional(),
    /** A string-or-list value becomes a list: items normalized, nulls dropped, duplicates removed (first seen wins). */
    list: z.boolean().default(false),
    rules: fieldRulesSchema.optional(),
    /** The field's values are masked (`***`) wherever records are shown: DLQ, previews, events. */
    sensitive: z.boolean().default(false),
  })
  .strict();

export const parentConfigSchema = z
  .object({
    entity: entityName,
    /** Child target field → the parent's business-key field it refers to. */
    fields: z
      .record(targetFieldName, targetFieldName)
      .refine((f) => Object.keys(f).length > 0, 'name at least one field'),
  })
  .strict();

export const entityConfigSchema = z
  .object({
    name: entityName,
    description: z.string().max(1000).optional(),
    source: sourceConfigSchema,
    targets: z.array(targetConfigSchema).min(1),
    /** Target field names, in the declared order used by bk_hash. */
    businessKey: z.array(targetFieldName).min(1),
    rowversionField: targetFieldName.optional(),
    deltaStrategy: z.enum(['rowversion', 'hash', 'auto']).default('auto'),
    pageSize: z.number().int().min(100).max(10_000).default(1000),
    sourceTimeZone: z.string().refine(isValidTimeZone, 'not an IANA time zone Intl knows').default('UTC'),
    dateOrder: z.enum(['DMY', 'MDY']).default('DMY'),
    decimalSeparator: z.enum(['.', ',']).default('.'),
    /** What a DELETE does at the target: remove, mark deleted, or nothing (reported only). */
    deletePolicy: z.enum(['hard', 'soft', 'none']).default('none'),
    fields: z.array(fieldConfigSchema).min(1),
    parents: z.array(parentConfigSchema).default([]),
    /** Estimated cost of one target call, for dry-run reports. */
    unitCost: z.number().min(0).default(0),
    maxChildRetries: z.number().int().min(0).max(100).default(5),
    /** First wait of a child whose parent is missing; each retry doubles it (1 s, 2 s, 4 s… by default). */
    childRetryBaseSeconds: z.number().min(0.05).max(3600).default(1),
    /**
     * split: each of the nine stages is its own activity (each visible in the Temporal Web UI);
     * fused: NORMALIZE … RESOLVE run as one activity per page (fewer task round trips; per-stage timings
     * and counts are still recorded). See the README's benchmark for the difference.
     */
    stageActivities: z.enum(['split', 'fused']).default('fused'),
    /** The sync pauses itself when more than maxFailureRate of the rows read (at least minRows) fail. */
    circuitBreaker: z
      .object({ maxFailureRate: z.number().min(0).max(1), minRows: z.number().int().min(1).default(100) })
      .strict()
      .optional(),
    /** How long a batch waits for its children's parents before it ends with them still pending. */
    childWaitSeconds: z.number().min(0).max(86_400).default(10),
    /**
     * Promotion from dry run to live needs a clean reconcile of every target, finished after the configuration's
     * last change (a target already filled by another system: prove parity before SyncFlow writes to it).
     */
    promoteRequiresCleanReconcile: z.boolean().default(false),
  })
  .strict()
  .superRefine(checkReferences);

export type EntityConfig = z.infer<typeof entityConfigSchema>;
export type EntityConfigInput = z.input<typeof entityConfigSchema>;
export type FieldConfig = z.infer<typeof fieldConfigSchema>;
export type FieldRules = z.infer<typeof fieldRulesSchema>;
export type ValueMap = z.infer<typeof valueMapSchema>;
export type ParentConfig = z.infer<typeof parentConfigSchema>;
export type DeltaStrategy = EntityConfig['deltaStrategy'];
export type DeletePolicy = EntityConfig['deletePolicy'];

/** The parts of a (possibly malformed) entity that the reference checks read. */
interface ReferenceView {
  fields?: unknown;
  targets?: unknown;
  businessKey?: unknown;
  rowversionField?: unknown;
  deltaStrategy?: unknown;
  parents?: unknown;
}
type Issue = { path: (string | number)[]; message: string };
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const asRecord = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};

/**
 * Cross-field rules. Written against a loose view so parseEntityConfig can
 * run them on input that also has structural errors and report every path
 * in one answer (zod skips refinements of objects whose members failed).
 */
export function referenceIssues(entity: ReferenceView): Issue[] {
  const issues: Issue[] = [];
  const issue = (path: (string | number)[], message: string) => issues.push({ path, message });
  const kinds = new Map<string, DeclaredKind>();
  const listFields = new Set<string>();
  asArray(entity.fields).forEach((raw, i) => {
    const field = asRecord(raw);
    if (typeof field.target !== 'string') return;
    const kind = resolveDeclaredType(typeof field.type === 'string' ? field.type : undefined);
    if (kinds.has(field.target)) issue(['fields', i, 'target'], `target field "${field.target}" is mapped twice`);
    kinds.set(field.target, kind);
    if (field.list === true) listFields.add(field.target);
    if (field.transformation !== undefined && kind !== 'string') {
      issue(['fields', i, 'transformation'], 'transformations apply to string fields');
    }
    if (field.valueMap !== undefined && kind !== 'string')
      issue(['fields', i, 'valueMap'], 'value maps apply to string fields');
    if (field.range !== undefined && kind !== 'integer' && kind !== 'number') {
      issue(['fields', i, 'range'], 'ranges apply to integer and number fields');
    }
  });

  const targetNames = new Set<unknown>();
  let primaries = 0;
  asArray(entity.targets).forEach((raw, i) => {
    const target = asRecord(raw);
    if (targetNames.has(target.name))
      issue(['targets', i, 'name'], `target "${String(target.name)}" is declared twice`);
    targetNames.add(target.name);
    if (target.role === undefined || target.role === 'primary') primaries++;
  });
  if (Array.isArray(entity.targets) && primaries !== 1) {
    issue(['targets'], `exactly one target must have role primary (found ${primaries})`);
  }

  const seenKey = new Set<unknown>();
  asArray(entity.businessKey).forEach((name, i) => {
    if (typeof name !== 'string') return;
    if (!kinds.has(name)) issue(['businessKey', i], `"${name}" is not a target field of this entity`);
    else if (listFields.has(name)) issue(['businessKey', i], `"${name}" is a list field; a business key holds scalars`);
    if (seenKey.has(name)) issue(['businessKey', i], `"${name}" is listed twice`);
    seenKey.add(name);
  });
  const rowversion = entity.rowversionField;
  if (typeof rowversion === 'string' && !kinds.has(rowversion)) {
    issue(['rowversionField'], `"${rowversion}" is not a target field of this entity`);
  }
  if (entity.deltaStrategy === 'rowversion' && rowversion === undefined) {
    issue(['rowversionField'], 'deltaStrategy rowversion needs a rowversionField');
  }
  asArray(entity.parents).forEach((raw, i) => {
    for (const child of Object.keys(asRecord(asRecord(raw).fields))) {
      if (!kinds.has(child)) issue(['parents', i, 'fields', child], `"${child}" is not a target field of this entity`);
    }
  });
  return issues;
}

function checkReferences(entity: ReferenceView, ctx: z.RefinementCtx): void {
  for (const { path, message } of referenceIssues(entity)) ctx.addIssue({ code: 'custom', path, message });
}
